package e2e

import (
	"strconv"
	"testing"

	"github.com/bankcore/bank/internal/testenv"
)

type nameEnquiryBody struct {
	AccountNumber string `json:"account_number"`
	AccountName   string `json:"account_name"`
}

// TestNameEnquiry: any signed-in customer learns the holder's name of a
// customer account, and only that; unknown, malformed and system numbers
// are 404 alike; no token is 401.
func TestNameEnquiry(t *testing.T) {
	st := testenv.SharedStack(t)
	alice, aliceReg := signUp(t, st)
	_, bobReg := signUp(t, st)
	bobAcc := bobReg.Account.AccountNumber

	for who, c := range map[string]*testenv.Client{"another customer": alice, "an operator": operator(t, st)} {
		r := c.Do("GET", "/accounts/"+bobAcc+"/name-enquiry", nil)
		if r.Status != 200 || r.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s %s", who, r.Status, r.Header.Get("Content-Type"), r.Body)
		}
		if m := r.JSON(t); len(m) != 2 {
			t.Errorf("%s: the answer shows more than the number and the name: %s", who, r.Body)
		}
		var got nameEnquiryBody
		r.Decode(t, &got)
		if got != (nameEnquiryBody{AccountNumber: bobAcc, AccountName: bobReg.User.FullName}) {
			t.Errorf("%s: name enquiry = %+v, want %s's name %q", who, got, bobAcc, bobReg.User.FullName)
		}
	}

	r := alice.Do("GET", "/accounts/"+aliceReg.Account.AccountNumber+"/name-enquiry", nil)
	var own nameEnquiryBody
	r.Decode(t, &own)
	if r.Status != 200 || own.AccountName != aliceReg.User.FullName {
		t.Errorf("own account: %d %s", r.Status, r.Body)
	}

	missing := wantProblem(t, alice.Do("GET", "/accounts/"+unknownAccount()+"/name-enquiry", nil), 404, "NOT_FOUND")
	for name, number := range map[string]string{"system funding account": "0000000000", "malformed": "12345"} {
		p := wantProblem(t, alice.Do("GET", "/accounts/"+number+"/name-enquiry", nil), 404, "NOT_FOUND")
		if p.Detail != missing.Detail {
			t.Errorf("%s: detail %q, an unknown number's %q: they must look alike", name, p.Detail, missing.Detail)
		}
	}

	anon := st.Client(t)
	wantProblem(t, anon.Do("GET", "/accounts/"+bobAcc+"/name-enquiry", nil), 401, "UNAUTHENTICATED")
}

// TestNameEnquiryRateLimitedPerCaller: BANK_RATE_NAME_ENQUIRY enquiries a
// minute per caller, found or not; the next is 429 with Retry-After from any
// address; another caller on the same address keeps its own budget.
func TestNameEnquiryRateLimitedPerCaller(t *testing.T) {
	const limit = 3
	st := testenv.NewStack(t, testenv.StackOptions{Env: map[string]string{"BANK_RATE_NAME_ENQUIRY": strconv.Itoa(limit)}})
	alice, _ := signUp(t, st)
	bob, bobReg := signUp(t, st)
	target := "/accounts/" + bobReg.Account.AccountNumber + "/name-enquiry"

	// Misses count: walking unknown numbers spends the same budget.
	wantProblem(t, alice.Do("GET", "/accounts/"+unknownAccount()+"/name-enquiry", nil), 404, "NOT_FOUND")
	for i := 1; i < limit; i++ {
		if r := alice.Do("GET", target, nil); r.Status != 200 {
			t.Fatalf("enquiry %d of %d: %d %s", i+1, limit, r.Status, r.Body)
		}
	}
	r := alice.Do("GET", target, nil)
	wantProblem(t, r, 429, "RATE_LIMITED")
	if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs <= 0 {
		t.Errorf("Retry-After = %q, want a positive number of seconds", r.Header.Get("Retry-After"))
	}

	// The limit follows the caller, not the address.
	elsewhere := *alice
	elsewhere.Addr = "10.254.0.1"
	wantProblem(t, elsewhere.Do("GET", target, nil), 429, "RATE_LIMITED")

	neighbour := *bob
	neighbour.Addr = alice.Addr
	if r := neighbour.Do("GET", target, nil); r.Status != 200 {
		t.Fatalf("another caller on the same address: %d %s", r.Status, r.Body)
	}
}
