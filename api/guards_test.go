package api_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bankcore/bank/api"
	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/token"
)

// Issue 15, finding 6: two Idempotency-Key headers were accepted (the first
// won) though duplicate JSON keys are refused for the same reason. Refused
// before anything reads the key: this server has no ledger or Temporal, so
// a request that got further would fail with a 500.
func TestRepeatedIdempotencyKeyIsRefused(t *testing.T) {
	tokens := token.NewIssuer([]byte("guard-unit-test-secret-guard-unit-test"), time.Minute)
	h := api.New(api.Deps{Tokens: tokens, Users: codecUsers, BcryptCost: 4})
	tok, err := tokens.Issue(token.Principal{UserID: codecUserID(bank.RoleCustomer), Role: bank.RoleCustomer})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/transfers", "/accounts/1234567890/tier", "/accounts/1234567890/deposits", "/auth/register"} {
		req := httptest.NewRequest("POST", path, strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Add("Idempotency-Key", "key-one")
		req.Header.Add("Idempotency-Key", "key-two")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var p api.Problem
		if rec.Code != 400 || json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Code != "VALIDATION_FAILED" || p.Field != "Idempotency-Key" {
			t.Errorf("POST %s with two keys: %d %s", path, rec.Code, rec.Body)
		}
	}
}
