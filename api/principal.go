package api

import (
	"context"
	"net/http"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/token"
)

// userKey holds the caller's user as the database has it now.
type userKey struct{}

// authenticate requires a valid bearer token whose user exists, and puts
// the principal, with the role the database holds now, in the context. A
// token is only a claim: a user deleted or demoted since it was issued
// loses what it allowed at once, and a token signed for an id that names no
// user (a forged one, say) opens nothing.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := PrincipalFromHeader(s.d.Tokens, r.Header.Get("Authorization"))
		var u bank.User
		if err == nil {
			u, p, err = s.currentPrincipal(r.Context(), p)
		}
		if err != nil {
			if bank.ErrorCode(err) == bank.CodeUnauthenticated {
				w.Header().Set("WWW-Authenticate", `Bearer realm="bank"`)
			}
			writeError(w, r, err)
			return
		}
		ctx := context.WithValue(r.Context(), keyPrincipal, p)
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, userKey{}, u)))
	})
}

// currentPrincipal checks a verified token's principal against the user
// store: the user must exist, and the role is the user's current one.
// Errors: UNAUTHENTICATED, or the store's own failure.
func (s *Server) currentPrincipal(ctx context.Context, p token.Principal) (bank.User, token.Principal, error) {
	u, err := s.d.Users.ByID(ctx, p.UserID)
	if bank.ErrorCode(err) == bank.CodeNotFound {
		return bank.User{}, token.Principal{}, bank.Errorf(bank.CodeUnauthenticated, "the token's user does not exist")
	}
	if err != nil {
		return bank.User{}, token.Principal{}, err
	}
	return u, token.Principal{UserID: u.ID, Role: u.Role}, nil
}

// currentUser is the caller as authenticate loaded it.
func currentUser(r *http.Request) bank.User {
	u, _ := r.Context().Value(userKey{}).(bank.User)
	return u
}
