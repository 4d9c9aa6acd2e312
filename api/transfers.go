package api

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/bankcore/bank/bank"
)

type transferRequest struct {
	Reference   string  `json:"reference"`
	FromAccount string  `json:"from_account"`
	ToAccount   string  `json:"to_account"`
	Amount      *string `json:"amount"`
	Currency    *string `json:"currency"`
	Narration   string  `json:"narration"`
}

type transferView struct {
	ID          string     `json:"id"`
	Reference   string     `json:"reference"`
	Status      string     `json:"status"`
	FromAccount string     `json:"from_account"`
	ToAccount   string     `json:"to_account"`
	Amount      string     `json:"amount"`
	Currency    string     `json:"currency"`
	Narration   string     `json:"narration"`
	FailureCode *string    `json:"failure_code"`
	CreatedAt   *time.Time `json:"created_at"`
	CompletedAt *time.Time `json:"completed_at"`
}

func viewTransfer(t bank.Transfer) transferView {
	v := transferView{
		ID: t.ID, Reference: t.Reference, Status: string(t.Status), FromAccount: t.FromAccount,
		ToAccount: t.ToAccount, Amount: t.Amount.String(), Currency: bank.Currency, Narration: t.Narration,
	}
	if t.FailureCode != "" {
		c := string(t.FailureCode)
		v.FailureCode = &c
	}
	if !t.CreatedAt.IsZero() {
		c := t.CreatedAt.UTC()
		v.CreatedAt = &c
	}
	if t.CompletedAt != nil {
		c := t.CompletedAt.UTC()
		v.CompletedAt = &c
	}
	return v
}

// transferFromBody is POST /transfers' request: from the caller's own
// account, keyed by the Idempotency-Key header or the body's reference.
func transferFromBody(r *http.Request, body transferRequest) (bank.TransferRequest, error) {
	ref, err := idempotencyKey(r, body.Reference)
	if err != nil {
		return bank.TransferRequest{}, err
	}
	for _, f := range [...]struct{ field, number string }{{"from_account", body.FromAccount}, {"to_account", body.ToAccount}} {
		if !bank.ValidAccountNumber(f.number) {
			return bank.TransferRequest{}, bank.Invalid(f.field, "must be a 10-digit account number")
		}
	}
	amount, err := parseAmount(body.Amount)
	if err != nil {
		return bank.TransferRequest{}, err
	}
	if body.Currency != nil && *body.Currency != bank.Currency {
		return bank.TransferRequest{}, bank.Invalid("currency", "must be NGN")
	}
	narration, err := validateNarration(body.Narration)
	if err != nil {
		return bank.TransferRequest{}, err
	}
	p := principal(r)
	return bank.TransferRequest{
		Kind: bank.KindTransfer, KeyOwner: p.UserID, Reference: ref, FromAccount: body.FromAccount,
		ToAccount: body.ToAccount, Amount: amount, Narration: narration, CreatedBy: p.UserID,
	}, nil
}

// transferByReference handles GET /transfers/{reference}: the caller's own.
func (s *Server) transferByReference(w http.ResponseWriter, r *http.Request) {
	ref := chi.URLParam(r, "reference")
	if bank.ValidateReference("reference", ref) != nil {
		// No transfer has such a key; and Postgres refuses some such
		// strings (a NUL) outright, which is no reason for a 500.
		writeError(w, r, bank.Errorf(bank.CodeNotFound, "transfer not found"))
		return
	}
	t, err := s.d.Ledger.ByKey(r.Context(), principal(r).UserID, ref)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewTransfer(t))
}
