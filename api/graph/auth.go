package graph

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/token"
)

// authKey holds the outcome of authenticating a request or socket: the
// principal, or why there is none. Resolvers that need a user ask for it;
// introspection needs none, so the playground can load the schema before a
// token is entered.
type authKey struct{}

type authResult struct {
	principal token.Principal
	err       error
}

var errNoToken = bank.Errorf(bank.CodeUnauthenticated, "a bearer access token is required")

// authenticate verifies an "Authorization: Bearer <token>" value and
// returns the principal and when the token expires. Errors: UNAUTHENTICATED.
func authenticate(tokens Tokens, header string) (token.Principal, time.Time, error) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return token.Principal{}, time.Time{}, errNoToken
	}
	p, err := tokens.Verify(tok)
	if err != nil {
		return token.Principal{}, time.Time{}, err
	}
	// Verify has checked the signature and the expiry; read the expiry back
	// so a socket can be closed when its token runs out.
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &claims); err != nil || claims.ExpiresAt == nil {
		return token.Principal{}, time.Time{}, bank.Errorf(bank.CodeUnauthenticated, "invalid access token")
	}
	return p, claims.ExpiresAt.Time, nil
}

// verify authenticates a request or socket: a valid token whose user
// still exists (a token is a claim; a user deleted since it was issued, or
// an id that names no user, opens nothing). Without Deps.Users (tests of
// this package alone) the token is all there is. Errors: UNAUTHENTICATED,
// SERVICE_UNAVAILABLE (the user store did not answer).
func (s *server) verify(ctx context.Context, header string) (token.Principal, time.Time, error) {
	p, expires, err := authenticate(s.deps.Tokens, header)
	if err != nil || s.deps.Users == nil {
		return p, expires, err
	}
	u, err := s.deps.Users.ByID(ctx, p.UserID)
	switch {
	case bank.ErrorCode(err) == bank.CodeNotFound:
		return token.Principal{}, time.Time{}, bank.Errorf(bank.CodeUnauthenticated, "the token's user does not exist")
	case err != nil:
		s.logger.WarnContext(ctx, "graphql: read the token's user", "err", err, "request_id", s.requestID(ctx))
		return token.Principal{}, time.Time{}, bank.Errorf(bank.CodeUnavailable, "the user store is unavailable; retry shortly")
	}
	return token.Principal{UserID: u.ID, Role: u.Role}, expires, nil
}

func withAuth(ctx context.Context, p token.Principal, err error) context.Context {
	return context.WithValue(ctx, authKey{}, authResult{principal: p, err: err})
}

// principal returns the caller. Errors: UNAUTHENTICATED.
func principal(ctx context.Context) (token.Principal, error) {
	a, ok := ctx.Value(authKey{}).(authResult)
	if !ok {
		return token.Principal{}, errNoToken
	}
	if a.err != nil {
		var be *bank.Error
		if errors.As(a.err, &be) && be != nil && (be.Code == bank.CodeUnauthenticated || be.Code == bank.CodeUnavailable) {
			return token.Principal{}, a.err
		}
		// A verifier failing for another reason is still no principal.
		return token.Principal{}, bank.Errorf(bank.CodeUnauthenticated, "invalid access token")
	}
	return a.principal, nil
}
