package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/bankcore/bank/bank"
)

// nameEnquiryView is the answer of GET /accounts/{n}/name-enquiry.
type nameEnquiryView struct {
	AccountNumber string `json:"account_number"`
	AccountName   string `json:"account_name"`
}

// nameEnquiry tells any signed-in caller whose account a number is, so a
// sender can check the receiver before confirming a transfer (as banks'
// name enquiry does). It shows the holder's name and nothing else of the
// account. Unknown numbers and system accounts are 404 alike (Accounts.ByNumber
// returns customer accounts only); the route is rate-limited per caller
// (limitByCaller) so the directory cannot be walked.
func (s *Server) nameEnquiry(w http.ResponseWriter, r *http.Request) {
	a, err := s.d.Accounts.ByNumber(r.Context(), chi.URLParam(r, "number"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	// The name lives in the auth schema and the account in the ledger's:
	// two reads, as no query crosses two schemas.
	u, err := s.d.Users.ByID(r.Context(), a.OwnerID)
	if err != nil {
		if bank.ErrorCode(err) == bank.CodeNotFound {
			err = bank.Errorf(bank.CodeNotFound, "account not found")
		}
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, nameEnquiryView{AccountNumber: a.AccountNumber, AccountName: u.FullName})
}
