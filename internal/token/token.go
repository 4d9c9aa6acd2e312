// Package token issues and verifies the API's access tokens: HS256 JWTs
// with the user id as subject and the role as a claim.
package token

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/bankcore/bank/bank"
)

const (
	issuer   = "bankcore"
	audience = "bankcore-api"
)

// Principal is who a verified token speaks for.
type Principal struct {
	UserID string
	Role   bank.Role
}

type claims struct {
	Role bank.Role `json:"role"`
	jwt.RegisteredClaims
}

// Issuer signs and verifies tokens with one secret.
type Issuer struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// NewIssuer returns an Issuer; secret should be at least 32 random bytes.
func NewIssuer(secret []byte, ttl time.Duration) *Issuer {
	return &Issuer{secret: secret, ttl: ttl, now: time.Now}
}

// TTL is how long an issued token lives.
func (i *Issuer) TTL() time.Duration { return i.ttl }

// Issue signs a token for p.
func (i *Issuer) Issue(p Principal) (string, error) {
	now := i.now()
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{
		Role: p.Role,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   p.UserID,
			Audience:  jwt.ClaimStrings{audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(i.ttl)),
		},
	})
	s, err := t.SignedString(i.secret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// Verify checks signature (HS256 only: "none" and other algorithms are
// refused), issuer, audience and expiry. Errors: UNAUTHENTICATED.
func (i *Issuer) Verify(s string) (Principal, error) {
	var c claims
	_, err := jwt.ParseWithClaims(s, &c, func(*jwt.Token) (any, error) { return i.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer), jwt.WithAudience(audience),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(i.now))
	if err != nil {
		msg := "invalid access token"
		if errors.Is(err, jwt.ErrTokenExpired) {
			msg = "access token expired"
		}
		return Principal{}, bank.Errorf(bank.CodeUnauthenticated, "%s", msg)
	}
	if c.Subject == "" || (c.Role != bank.RoleCustomer && c.Role != bank.RoleOperator) {
		return Principal{}, bank.Errorf(bank.CodeUnauthenticated, "invalid access token")
	}
	return Principal{UserID: c.Subject, Role: c.Role}, nil
}
