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

// depositFromBody is POST /accounts/{number}/deposits' request (operators
// only): money from the system funding account, keyed by reference alone,
// whichever operator sends it.
func (s *Server) depositFromBody(r *http.Request, body depositRequest) (bank.TransferRequest, error) {
	ref, err := idempotencyKey(r, body.Reference)
	if err != nil {
		return bank.TransferRequest{}, err
	}
	amount, err := parseAmount(body.Amount)
	if err != nil {
		return bank.TransferRequest{}, err
	}
	narration, err := validateNarration(body.Narration)
	if err != nil {
		return bank.TransferRequest{}, err
	}
	return bank.TransferRequest{
		Kind: bank.KindDeposit, KeyOwner: bank.SystemKeyOwner, Reference: ref, FromAccount: s.d.SystemAccount,
		ToAccount: chi.URLParam(r, "number"), Amount: amount, Narration: narration, CreatedBy: principal(r).UserID,
	}, nil
}
