package api

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/bankcore/bank/bank"
)

type entryView struct {
	ID                  string    `json:"id"`
	Kind                string    `json:"kind"`
	TransferReference   string    `json:"transfer_reference"`
	Direction           string    `json:"direction"`
	Amount              string    `json:"amount"`
	BalanceAfter        string    `json:"balance_after"`
	CounterpartyAccount string    `json:"counterparty_account"`
	Narration           string    `json:"narration"`
	CreatedAt           time.Time `json:"created_at"`
}

// viewEntry is a history item, as history pages and statements show it.
func viewEntry(e bank.Entry) entryView {
	return entryView{
		ID: strconv.FormatInt(e.ID, 10), Kind: e.Kind.HistoryKind(), TransferReference: e.TransferReference,
		Direction: e.Direction, Amount: e.Amount.String(), BalanceAfter: e.BalanceAfter.String(),
		CounterpartyAccount: e.CounterpartyAccount, Narration: e.Narration, CreatedAt: e.CreatedAt.UTC(),
	}
}

// MaxPageSize caps list pages.
const MaxPageSize = 100

// transactions handles GET /accounts/{number}/transactions, newest first.
func (s *Server) transactions(w http.ResponseWriter, r *http.Request) {
	a, err := s.ownedAccount(r, chi.URLParam(r, "number"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			writeError(w, r, bank.Invalid("limit", "must be a whole number from 1 to %d", MaxPageSize))
			return
		}
		limit = n
	}
	before, err := parseCursor(r.URL.Query().Get("cursor"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	entries, next, err := s.d.Ledger.Entries(r.Context(), a.AccountNumber, limit, before)
	if err != nil {
		writeError(w, r, err)
		return
	}
	items := make([]entryView, 0, len(entries))
	for _, e := range entries {
		items = append(items, viewEntry(e))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": cursor(next)})
}

// Cursors are opaque to clients: the entry id to continue before, encoded.

func cursor(next int64) *string {
	if next == 0 {
		return nil
	}
	c := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(next, 10)))
	return &c
}

// parseCursor returns the entry id a cursor continues before, 0 for none.
// Errors: VALIDATION_FAILED.
func parseCursor(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	n, perr := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || perr != nil || n <= 0 {
		return 0, bank.Invalid("cursor", "is not a cursor this API returned")
	}
	return n, nil
}
