package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/bankcore/bank/bank"
)

// me shows the caller as the database has it (authenticate loaded it) and
// its accounts.
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	accs, err := s.d.Accounts.ByOwner(r.Context(), u.ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	views := make([]accountView, 0, len(accs))
	for _, a := range accs {
		views = append(views, viewAccount(a))
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": meView{userView: viewUser(u), Role: u.Role}, "accounts": views})
}

// account shows an account to its owner and to operators; to anyone else it
// does not exist (404, never 403, so numbers cannot be probed).
func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	a, err := s.ownedAccount(r, chi.URLParam(r, "number"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewAccount(a))
}

// ownedAccount loads an account the caller may see. Errors: NOT_FOUND.
func (s *Server) ownedAccount(r *http.Request, number string) (bank.Account, error) {
	a, err := s.d.Accounts.ByNumber(r.Context(), number)
	if err != nil {
		return bank.Account{}, err
	}
	p := principal(r)
	if p.Role != bank.RoleOperator && a.OwnerID != p.UserID {
		return bank.Account{}, bank.Errorf(bank.CodeNotFound, "account not found")
	}
	return a, nil
}
