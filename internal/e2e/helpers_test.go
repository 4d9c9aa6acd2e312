package e2e

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/bankcore/bank/internal/testenv"
)

// registration is a valid, unique POST /auth/register body.
type registration struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	FullName string `json:"full_name"`
	Phone    string `json:"phone"`
	KYC      kyc    `json:"kyc"`
}

type kyc struct {
	Type   string `json:"type"`
	Number string `json:"number"`
}

// newRegistration makes a unique valid registration whose NIN the mock
// registry verifies at once (it ends in neither 0000 nor 9999).
func newRegistration() registration {
	s := testenv.Suffix()
	return registration{
		Email:    "user-" + s + "@example.com",
		Password: "correct-horse-" + s,
		FullName: "Ada Lovelace " + s[:4],
		Phone:    "0803" + fmt.Sprintf("%07d", rand.IntN(10_000_000)),
		KYC:      kyc{Type: "NIN", Number: fmt.Sprintf("%07d%04d", rand.IntN(10_000_000), 1000+rand.IntN(8000))},
	}
}

type userBody struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	FullName string `json:"full_name"`
}

type accountBody struct {
	AccountNumber string `json:"account_number"`
	OwnerID       string `json:"owner_id"`
	Tier          string `json:"tier"`
	Balance       string `json:"balance"`
	Currency      string `json:"currency"`
	// Limits hold a decimal string or nil (unlimited); any keeps the struct
	// comparable.
	Limits struct {
		SingleTransaction any `json:"single_transaction"`
		MaxBalance        any `json:"max_balance"`
	} `json:"limits"`
	CreatedAt string `json:"created_at"`
}

type registered struct {
	User    userBody    `json:"user"`
	Account accountBody `json:"account"`
}

type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Field  string `json:"field"`
}

// wantProblem asserts a problem+json answer with the status and code.
func wantProblem(t *testing.T, r testenv.Response, status int, code string) problem {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	var p problem
	r.Decode(t, &p)
	if p.Code != code || p.Status != status || p.Title == "" || p.Type == "" || p.Detail == "" {
		t.Fatalf("problem = %+v, want code %s status %d with type, title and detail", p, code, status)
	}
	return p
}

// signUp registers a new user and logs in; the client carries the token.
func signUp(t *testing.T, st *testenv.Stack) (*testenv.Client, registered) {
	t.Helper()
	return signUpAs(t, st, newRegistration())
}

// signUpAs registers reg, signs in and returns the caller and its answer.
func signUpAs(t *testing.T, st *testenv.Stack, reg registration) (*testenv.Client, registered) {
	t.Helper()
	c := st.Client(t)
	r := c.Do("POST", "/auth/register", reg)
	if r.Status != 201 {
		t.Fatalf("register with %s: %d %s", reg.KYC.Type, r.Status, r.Body)
	}
	var out registered
	r.Decode(t, &out)
	c.Token = login(t, c, reg.Email, reg.Password)
	return c, out
}

// funded is an operator and two new customers with their accounts, the
// first funded with amount by the operator: a sender and a receiver.
func funded(t *testing.T, st *testenv.Stack, amount string) (op, sender, receiver *testenv.Client, from, to string) {
	t.Helper()
	op = operator(t, st)
	sender, s := signUp(t, st)
	receiver, r := signUp(t, st)
	from, to = s.Account.AccountNumber, r.Account.AccountNumber
	deposit(t, op, from, amount)
	return op, sender, receiver, from, to
}

func login(t *testing.T, c *testenv.Client, email, password string) string {
	t.Helper()
	r := c.Do("POST", "/auth/login", map[string]string{"email": email, "password": password})
	if r.Status != 200 {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	r.Decode(t, &tok)
	if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn <= 0 {
		t.Fatalf("login body = %s", r.Body)
	}
	return tok.AccessToken
}
