package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/bankcore/bank/bank"
)

type depositRequest struct {
	Reference string  `json:"reference"`
	Amount    *string `json:"amount"`
	Narration string  `json:"narration"`
}

// deposit handles POST /accounts/{number}/deposits (operators only): money
// from the system funding account, keyed by reference alone, whichever
// operator sends it.
func (s *Server) deposit(w http.ResponseWriter, r *http.Request) {
	var body depositRequest
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	ref, err := idempotencyKey(r, body.Reference)
	if err != nil {
		writeError(w, r, err)
		return
	}
	amount, err := parseAmount(body.Amount)
	if err != nil {
		writeError(w, r, err)
		return
	}
	narration, err := validateNarration(body.Narration)
	if err != nil {
		writeError(w, r, err)
		return
	}
	req := bank.TransferRequest{
		Kind: bank.KindDeposit, KeyOwner: bank.SystemKeyOwner, Reference: ref, FromAccount: s.d.SystemAccount,
		ToAccount: chi.URLParam(r, "number"), Amount: amount, Narration: narration, CreatedBy: principal(r).UserID,
	}
	// The funding account is the system's, never a customer's: only the
	// receiver and the key are looked up.
	look, err := s.d.Ledger.LookupTransfer(r.Context(), req.KeyOwner, req.Reference, "", req.ToAccount)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := bank.CheckReceiver(req, partyOf(look.To)); err != nil {
		writeError(w, r, err)
		return
	}
	s.postMoney(w, r, req, look.Stored)
}
