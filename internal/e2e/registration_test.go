package e2e

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/testenv"
	"github.com/bankcore/bank/workflows"
)

func TestRegister(t *testing.T) {
	st := testenv.SharedStack(t)
	c := st.Client(t)
	reg := newRegistration()
	reg.Email = "Mixed.Case-" + testenv.Suffix() + "@Example.COM"

	r := c.Do("POST", "/auth/register", reg)
	if r.Status != 201 {
		t.Fatalf("status = %d, want 201: %s", r.Status, r.Body)
	}
	var out registered
	r.Decode(t, &out)
	if out.User.ID == "" || out.User.Email != strings.ToLower(reg.Email) || out.User.FullName != reg.FullName {
		t.Errorf("user = %+v", out.User)
	}
	a := out.Account
	if !regexp.MustCompile(`^[0-9]{10}$`).MatchString(a.AccountNumber) || !bank.ValidAccountNumber(a.AccountNumber) {
		t.Errorf("account number %q is not 10 digits with a check digit", a.AccountNumber)
	}
	if a.OwnerID != out.User.ID || a.Tier != "TIER_1" || a.Balance != "0.00" || a.Currency != "NGN" {
		t.Errorf("account = %+v", a)
	}
	if a.Limits.SingleTransaction != "50000.00" || a.Limits.MaxBalance != "300000.00" {
		t.Errorf("limits = %+v", a.Limits)
	}
	if _, err := time.Parse(time.RFC3339, a.CreatedAt); err != nil {
		t.Errorf("created_at %q: %v", a.CreatedAt, err)
	}

	// The workflow ran on the contract's id and queue, and is findable by user id.
	wfID := "registration/" + bank.EmailDigest(reg.Email)
	desc, err := st.App.Temporal().DescribeWorkflow(context.Background(), wfID, "")
	if err != nil {
		t.Fatalf("describe %s: %v", wfID, err)
	}
	info := desc.RawResponse.GetWorkflowExecutionInfo()
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED || info.GetTaskQueue() != workflows.QueueRegistration {
		t.Errorf("workflow status %v on queue %q", info.GetStatus(), info.GetTaskQueue())
	}
	sa := info.GetSearchAttributes().GetIndexedFields()["BankUserID"]
	if sa == nil || !strings.Contains(string(sa.GetData()), out.User.ID) {
		t.Errorf("BankUserID search attribute = %v, want %s", sa, out.User.ID)
	}

	t.Run("LoginAndMe", func(t *testing.T) {
		c.Token = login(t, c, strings.ToUpper(reg.Email), reg.Password)
		r := c.Do("GET", "/me", nil)
		if r.Status != 200 {
			t.Fatalf("GET /me = %d %s", r.Status, r.Body)
		}
		var me struct {
			User     userBody      `json:"user"`
			Accounts []accountBody `json:"accounts"`
		}
		r.Decode(t, &me)
		if me.User != out.User || len(me.Accounts) != 1 || me.Accounts[0] != out.Account {
			t.Errorf("GET /me = %+v, want %+v and one account %+v", me, out.User, out.Account)
		}
		r = c.Do("GET", "/accounts/"+a.AccountNumber, nil)
		var got accountBody
		r.Decode(t, &got)
		if r.Status != 200 || got != out.Account {
			t.Errorf("GET /accounts/%s = %d %+v", a.AccountNumber, r.Status, got)
		}
	})

	t.Run("RetrySameBodyReturnsFirstOutcome", func(t *testing.T) {
		r := st.Client(t).Do("POST", "/auth/register", reg)
		var again registered
		r.Decode(t, &again)
		if r.Status != 201 || again != out {
			t.Fatalf("retry = %d %s, want 201 with %+v", r.Status, r.Body, out)
		}
	})

	t.Run("EmailTakenInAnyCase", func(t *testing.T) {
		other := newRegistration()
		for _, email := range []string{reg.Email, strings.ToUpper(reg.Email), strings.ToLower(reg.Email)} {
			other.Email = email
			wantProblem(t, st.Client(t).Do("POST", "/auth/register", other), 409, "EMAIL_TAKEN")
		}
		// Same email and body but another password is another request.
		samePassword := reg
		samePassword.Password = "a-different-password"
		wantProblem(t, st.Client(t).Do("POST", "/auth/register", samePassword), 409, "EMAIL_TAKEN")
	})

	t.Run("IdentityInUse", func(t *testing.T) {
		other := newRegistration()
		other.KYC = reg.KYC
		wantProblem(t, st.Client(t).Do("POST", "/auth/register", other), 409, "IDENTITY_IN_USE")
		// Nothing was half-written: the email is still free for a good request.
		other.KYC = newRegistration().KYC
		if r := st.Client(t).Do("POST", "/auth/register", other); r.Status != 201 {
			t.Fatalf("register after refusal = %d %s", r.Status, r.Body)
		}
	})
}

func TestRegisterKYCNoMatchCreatesNothing(t *testing.T) {
	st := testenv.SharedStack(t)
	reg := newRegistration()
	reg.KYC = kyc{Type: "BVN", Number: "1234567" + "0000"}
	wantProblem(t, st.Client(t).Do("POST", "/auth/register", reg), 422, "KYC_FAILED")
	wantProblem(t, st.Client(t).Do("POST", "/auth/login", map[string]string{"email": reg.Email, "password": reg.Password}), 401, "UNAUTHENTICATED")
	if n := countUsers(t, st, reg.Email); n != 0 {
		t.Fatalf("%d users with the refused email, want 0", n)
	}
	// The same request again gets the same refusal; a corrected one succeeds.
	wantProblem(t, st.Client(t).Do("POST", "/auth/register", reg), 422, "KYC_FAILED")
	reg.KYC = newRegistration().KYC
	if r := st.Client(t).Do("POST", "/auth/register", reg); r.Status != 201 {
		t.Fatalf("corrected registration = %d %s", r.Status, r.Body)
	}
}

func TestRegisterKYCProviderTimesOutTwiceThenAnswers(t *testing.T) {
	st := testenv.SharedStack(t)
	reg := newRegistration()
	reg.KYC = kyc{Type: "ID_CARD", Number: "ab" + reg.KYC.Number[:4] + "9999"}
	r := st.Client(t).Do("POST", "/auth/register", reg)
	if r.Status != 201 {
		t.Fatalf("status = %d, want 201 after the retried KYC lookup: %s", r.Status, r.Body)
	}
	// The activity really was retried: the history has three attempts' worth
	// of failure on VerifyKYC (attempt 3 succeeded).
	var out registered
	r.Decode(t, &out)
	iter := st.App.Temporal().GetWorkflowHistory(context.Background(), "registration/"+bank.EmailDigest(reg.Email), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	attempts := int32(0)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.GetAttempt() > attempts {
			attempts = a.GetAttempt()
		}
	}
	if attempts != 3 {
		t.Fatalf("VerifyKYC succeeded on attempt %d, want 3", attempts)
	}
}

func TestRegisterConcurrentIdenticalRequestsMakeOneUser(t *testing.T) {
	st := testenv.SharedStack(t)
	reg := newRegistration()
	const n = 8
	var wg sync.WaitGroup
	results := make([]testenv.Response, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = st.Client(t).Do("POST", "/auth/register", reg)
		}()
	}
	wg.Wait()
	var first registered
	for i, r := range results {
		if r.Status != 201 {
			t.Fatalf("request %d = %d %s", i, r.Status, r.Body)
		}
		var got registered
		r.Decode(t, &got)
		if i == 0 {
			first = got
		} else if got != first {
			t.Fatalf("request %d got %+v, request 0 got %+v", i, got, first)
		}
	}
	if n := countUsers(t, st, reg.Email); n != 1 {
		t.Fatalf("%d users, want 1", n)
	}
	var accounts int
	queryRow(t, st, `SELECT count(*) FROM ledger.accounts WHERE owner_id = $1`, []any{first.User.ID}, &accounts)
	if accounts != 1 {
		t.Fatalf("%d accounts, want 1", accounts)
	}
}

func TestRegisterConcurrentDifferentBodiesOneWins(t *testing.T) {
	st := testenv.SharedStack(t)
	a, b := newRegistration(), newRegistration()
	b.Email = a.Email
	var wg sync.WaitGroup
	var ra, rb testenv.Response
	wg.Add(2)
	go func() { defer wg.Done(); ra = st.Client(t).Do("POST", "/auth/register", a) }()
	go func() { defer wg.Done(); rb = st.Client(t).Do("POST", "/auth/register", b) }()
	wg.Wait()
	statuses := map[int]int{ra.Status: 1}
	statuses[rb.Status]++
	if statuses[201] != 1 || statuses[409] != 1 {
		t.Fatalf("statuses %d and %d, want one 201 and one 409: %s / %s", ra.Status, rb.Status, ra.Body, rb.Body)
	}
	winner := a
	if rb.Status == 201 {
		winner = b
	}
	c := st.Client(t)
	login(t, c, winner.Email, winner.Password)
}

func TestRegisterValidation(t *testing.T) {
	st := testenv.SharedStack(t)
	type mutate func(*registration)
	cases := []struct {
		name  string
		field string
		mut   mutate
	}{
		{"EmailMissing", "email", func(r *registration) { r.Email = "" }},
		{"EmailNoAt", "email", func(r *registration) { r.Email = "ada.example.com" }},
		{"EmailDisplayName", "email", func(r *registration) { r.Email = "Ada <ada@example.com>" }},
		{"EmailNoDomainDot", "email", func(r *registration) { r.Email = "ada@localhost" }},
		{"EmailUnicodeLookalike", "email", func(r *registration) { r.Email = "аda@example.com" }},
		{"PasswordShort", "password", func(r *registration) { r.Password = "123456789" }},
		{"PasswordTooLongForBcrypt", "password", func(r *registration) { r.Password = strings.Repeat("p", 73) }},
		{"FullNameEmpty", "full_name", func(r *registration) { r.FullName = "   " }},
		{"FullNameControl", "full_name", func(r *registration) { r.FullName = "Ada\x00Lovelace" }},
		{"PhoneLetters", "phone", func(r *registration) { r.Phone = "0803abc4567" }},
		{"PhoneShort", "phone", func(r *registration) { r.Phone = "0803123" }},
		{"PhoneNotNigerianLocal", "phone", func(r *registration) { r.Phone = "05031234567" }},
		{"KYCTypeUnknown", "kyc.type", func(r *registration) { r.KYC.Type = "PASSPORT" }},
		{"KYCTypeMissing", "kyc.type", func(r *registration) { r.KYC.Type = "" }},
		{"NINTooShort", "kyc.number", func(r *registration) { r.KYC.Number = "1234567890" }},
		{"BVNLetters", "kyc.number", func(r *registration) { r.KYC = kyc{Type: "BVN", Number: "1234567890a"} }},
		{"IDCardShape", "kyc.number", func(r *registration) { r.KYC = kyc{Type: "ID_CARD", Number: "A12345678"} }},
		{"IDCardTooLong", "kyc.number", func(r *registration) { r.KYC = kyc{Type: "ID_CARD", Number: "AB1234567890"} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := newRegistration()
			tc.mut(&reg)
			p := wantProblem(t, st.Client(t).Do("POST", "/auth/register", reg), 400, "VALIDATION_FAILED")
			if p.Field != tc.field {
				t.Errorf("field = %q, want %q", p.Field, tc.field)
			}
			if reg.Email != "" && countUsers(t, st, strings.ToLower(reg.Email)) != 0 {
				t.Errorf("a user was written for a refused request")
			}
		})
	}

	raw := []struct {
		name, body, contentType string
		status                  int
		code                    string
	}{
		{"UnknownField", `{"email":"x@example.com","password":"0123456789","full_name":"A","phone":"08031234567","kyc":{"type":"NIN","number":"12345678901"},"role":"operator"}`, "application/json", 400, "VALIDATION_FAILED"},
		{"UnknownNestedField", `{"email":"x@example.com","password":"0123456789","full_name":"A","phone":"08031234567","kyc":{"type":"NIN","number":"12345678901","verified":true}}`, "application/json", 400, "VALIDATION_FAILED"},
		{"DuplicateKey", `{"email":"x@example.com","email":"y@example.com","password":"0123456789","full_name":"A","phone":"08031234567","kyc":{"type":"NIN","number":"12345678901"}}`, "application/json", 400, "VALIDATION_FAILED"},
		{"NumberForString", `{"email":5}`, "application/json", 400, "VALIDATION_FAILED"},
		{"ArrayForObject", `[{"email":"x@example.com"}]`, "application/json", 400, "VALIDATION_FAILED"},
		{"Null", `null`, "application/json", 400, "VALIDATION_FAILED"},
		{"NotJSON", `email=x`, "application/json", 400, "VALIDATION_FAILED"},
		{"Truncated", `{"email":"x@`, "application/json", 400, "VALIDATION_FAILED"},
		{"TrailingData", `{"email":"x@example.com"} {"x":1}`, "application/json", 400, "VALIDATION_FAILED"},
		{"Empty", ``, "application/json", 400, "VALIDATION_FAILED"},
		{"WrongContentType", `{"email":"x@example.com"}`, "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"FormContentType", `email=x`, "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"Oversized", `{"email":"` + strings.Repeat("a", 70<<10) + `"}`, "application/json", 413, "BODY_TOO_LARGE"},
	}
	for _, tc := range raw {
		t.Run(tc.name, func(t *testing.T) {
			r := st.Client(t).Do("POST", "/auth/register", tc.body, "Content-Type", tc.contentType)
			wantProblem(t, r, tc.status, tc.code)
		})
	}
}

func TestLogin(t *testing.T) {
	st := testenv.SharedStack(t)
	c, _ := signUp(t, st)
	_ = c
	reg := newRegistration()
	if r := st.Client(t).Do("POST", "/auth/register", reg); r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}

	wrongPassword := st.Client(t).Do("POST", "/auth/login", map[string]string{"email": reg.Email, "password": "wrong-password-1"})
	unknownEmail := st.Client(t).Do("POST", "/auth/login", map[string]string{"email": "nobody-" + testenv.Suffix() + "@example.com", "password": reg.Password})
	p1 := wantProblem(t, wrongPassword, 401, "UNAUTHENTICATED")
	p2 := wantProblem(t, unknownEmail, 401, "UNAUTHENTICATED")
	if p1.Detail != p2.Detail {
		t.Errorf("wrong password and unknown email differ: %q vs %q", p1.Detail, p2.Detail)
	}
	wantProblem(t, st.Client(t).Do("POST", "/auth/login", map[string]string{"email": reg.Email}), 400, "VALIDATION_FAILED")
	wantProblem(t, st.Client(t).Do("POST", "/auth/login", map[string]any{"email": reg.Email, "password": reg.Password, "admin": true}), 400, "VALIDATION_FAILED")
	wantProblem(t, st.Client(t).Do("POST", "/auth/login", `{"email":"a"}`, "Content-Type", "text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE")
}

func TestLoginTimingDoesNotRevealEmails(t *testing.T) {
	// With the production bcrypt cost the difference would be ~250 ms; the
	// dummy comparison keeps both paths at one bcrypt.
	st := testenv.NewStack(t, testenv.StackOptions{Env: map[string]string{"BCRYPT_COST": "10"}})
	reg := newRegistration()
	if r := st.Client(t).Do("POST", "/auth/register", reg); r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	measure := func(email string) time.Duration {
		best := time.Hour
		for range 3 {
			start := time.Now()
			r := st.Client(t).Do("POST", "/auth/login", map[string]string{"email": email, "password": "wrong-password-1"})
			if r.Status != 401 {
				t.Fatalf("login = %d", r.Status)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	known, unknown := measure(reg.Email), measure("nobody-"+testenv.Suffix()+"@example.com")
	// A cost-10 bcrypt takes tens of milliseconds; skipping it would make the
	// unknown email at least 5x faster.
	if unknown*3 < known {
		t.Fatalf("unknown email answered in %v, known in %v: timing reveals which emails exist", unknown, known)
	}
}

func TestLoginRateLimited(t *testing.T) {
	// The address ceiling as low as the per-email limit, so "one client
	// spraying emails" below trips it (its default is 100).
	st := testenv.NewStack(t, testenv.StackOptions{Env: map[string]string{
		"BANK_RATE_LOGIN_FAILURES": "3", "BANK_RATE_LOGIN_ADDRESS_FAILURES": "3"}})
	reg := newRegistration()
	if r := st.Client(t).Do("POST", "/auth/register", reg); r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	// Per email: failures from many addresses add up.
	for i := range 3 {
		r := st.Client(t).Do("POST", "/auth/login", map[string]string{"email": reg.Email, "password": "wrong-password-1"})
		wantProblem(t, r, 401, "UNAUTHENTICATED")
		_ = i
	}
	r := st.Client(t).Do("POST", "/auth/login", map[string]string{"email": reg.Email, "password": reg.Password})
	wantProblem(t, r, 429, "RATE_LIMITED")
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}

	// Per address: one client spraying emails is stopped too.
	c := st.Client(t)
	for range 3 {
		wantProblem(t, c.Do("POST", "/auth/login", map[string]string{"email": "x-" + testenv.Suffix() + "@example.com", "password": "wrong-password-1"}), 401, "UNAUTHENTICATED")
	}
	wantProblem(t, c.Do("POST", "/auth/login", map[string]string{"email": "y-" + testenv.Suffix() + "@example.com", "password": "wrong-password-1"}), 429, "RATE_LIMITED")

	// Another user from another address is unaffected.
	other := newRegistration()
	if r := st.Client(t).Do("POST", "/auth/register", other); r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	login(t, st.Client(t), other.Email, other.Password)
}

func TestRegisterRateLimited(t *testing.T) {
	st := testenv.NewStack(t, testenv.StackOptions{Env: map[string]string{"BANK_RATE_REGISTER": "2"}})
	c := st.Client(t)
	for range 2 {
		if r := c.Do("POST", "/auth/register", newRegistration()); r.Status != 201 {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
	}
	r := c.Do("POST", "/auth/register", newRegistration())
	wantProblem(t, r, 429, "RATE_LIMITED")
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	if r := st.Client(t).Do("POST", "/auth/register", newRegistration()); r.Status != 201 {
		t.Fatalf("another address: %d %s", r.Status, r.Body)
	}
}

func TestAccountsAreOwnersOnly(t *testing.T) {
	st := testenv.SharedStack(t)
	alice, aliceReg := signUp(t, st)
	bob, _ := signUp(t, st)
	wantProblem(t, bob.Do("GET", "/accounts/"+aliceReg.Account.AccountNumber, nil), 404, "NOT_FOUND")
	// Exactly as a number that does not exist, and a malformed one.
	wantProblem(t, bob.Do("GET", "/accounts/0000000000", nil), 404, "NOT_FOUND")
	wantProblem(t, bob.Do("GET", "/accounts/not-a-number", nil), 404, "NOT_FOUND")
	if r := alice.Do("GET", "/accounts/"+aliceReg.Account.AccountNumber, nil); r.Status != 200 {
		t.Fatalf("owner: %d %s", r.Status, r.Body)
	}
	anon := st.Client(t)
	for _, path := range []string{"/me", "/accounts/" + aliceReg.Account.AccountNumber} {
		wantProblem(t, anon.Do("GET", path, nil), 401, "UNAUTHENTICATED")
		wantProblem(t, anon.Do("GET", path, nil, "Authorization", "Bearer not.a.jwt"), 401, "UNAUTHENTICATED")
		wantProblem(t, anon.Do("GET", path, nil, "Authorization", "Basic dXNlcjpwYXNz"), 401, "UNAUTHENTICATED")
	}
}

func TestRegistrationPendingThenPolled(t *testing.T) {
	// A registry slower than the API's wait: POST answers 202 and the
	// registration id tells the outcome later.
	st := testenv.NewStack(t, testenv.StackOptions{Env: map[string]string{
		"KYC_TIMEOUT": "700ms", "BANK_REGISTRATION_WAIT": "300ms",
	}})
	reg := newRegistration()
	reg.KYC.Number = reg.KYC.Number[:7] + "9999"
	r := st.Client(t).Do("POST", "/auth/register", reg)
	if r.Status != 202 {
		t.Fatalf("status = %d, want 202: %s", r.Status, r.Body)
	}
	var pending struct {
		RegistrationID string `json:"registration_id"`
		Status         string `json:"status"`
	}
	r.Decode(t, &pending)
	if pending.Status != "PENDING" || pending.RegistrationID == "" {
		t.Fatalf("202 body = %s", r.Body)
	}
	if strings.Contains(pending.RegistrationID, bank.EmailDigest(reg.Email)+".") == false {
		t.Logf("registration id %s", pending.RegistrationID)
	}
	// Someone else registering the same email meanwhile joins the running
	// registration but is not given its id (which would show the first
	// customer's name and account): EMAIL_TAKEN.
	intruder := newRegistration()
	intruder.Email = reg.Email
	intruder.KYC.Number = intruder.KYC.Number[:7] + "9999"
	ri := st.Client(t).Do("POST", "/auth/register", intruder)
	wantProblem(t, ri, 409, "EMAIL_TAKEN")
	// The same body again gets the same id.
	r2 := st.Client(t).Do("POST", "/auth/register", reg)
	if r2.Status == 202 {
		var again struct {
			RegistrationID string `json:"registration_id"`
		}
		r2.Decode(t, &again)
		if again.RegistrationID != pending.RegistrationID {
			t.Fatalf("retry got id %s, first %s", again.RegistrationID, pending.RegistrationID)
		}
	} else if r2.Status != 201 {
		t.Fatalf("identical retry = %d %s", r2.Status, r2.Body)
	}

	// Guessing ids from an email does not work: the tag is keyed.
	wantProblem(t, st.Client(t).Do("GET", "/auth/registrations/"+bank.EmailDigest(reg.Email), nil), 404, "NOT_FOUND")
	wantProblem(t, st.Client(t).Do("GET", "/auth/registrations/"+bank.EmailDigest(reg.Email)+".00000000000000000000000000000000", nil), 404, "NOT_FOUND")

	deadline := time.Now().Add(20 * time.Second)
	for {
		r := st.Client(t).Do("GET", "/auth/registrations/"+pending.RegistrationID, nil)
		if r.Status != 200 {
			t.Fatalf("poll = %d %s", r.Status, r.Body)
		}
		var got struct {
			RegistrationID string       `json:"registration_id"`
			Status         string       `json:"status"`
			User           *userBody    `json:"user"`
			Account        *accountBody `json:"account"`
		}
		r.Decode(t, &got)
		if got.RegistrationID != pending.RegistrationID {
			t.Fatalf("registration_id = %q", got.RegistrationID)
		}
		if got.Status == "COMPLETED" {
			if got.User == nil || got.Account == nil || got.User.Email != reg.Email || got.Account.OwnerID != got.User.ID {
				t.Fatalf("completed body = %s", r.Body)
			}
			break
		}
		if got.Status != "PENDING" || time.Now().After(deadline) {
			t.Fatalf("status %s after %v: %s", got.Status, time.Since(deadline.Add(-20*time.Second)), r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A refused registration reports FAILED with the problem the POST gives.
	bad := newRegistration()
	bad.KYC.Number = bad.KYC.Number[:7] + "0000"
	st2 := st.Client(t)
	r = st2.Do("POST", "/auth/register", bad)
	wantProblem(t, r, 422, "KYC_FAILED")
}

func TestHistoryHoldsNoSecretsInClear(t *testing.T) {
	st := testenv.SharedStack(t)
	reg := newRegistration()
	r := st.Client(t).Do("POST", "/auth/register", reg)
	if r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	var hash string
	queryRow(t, st, `SELECT password_hash FROM auth.users WHERE email = $1`, []any{reg.Email}, &hash)

	iter := st.App.Temporal().GetWorkflowHistory(context.Background(), "registration/"+bank.EmailDigest(reg.Email), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var raw strings.Builder
	events := 0
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		events++
		raw.WriteString(ev.String())
	}
	if events < 10 {
		t.Fatalf("only %d history events", events)
	}
	for name, secret := range map[string]string{
		"password": reg.Password, "password hash": hash, "email": reg.Email,
		"full name": reg.FullName, "KYC number": reg.KYC.Number, "phone": reg.Phone[1:],
	} {
		if strings.Contains(raw.String(), secret) {
			t.Errorf("workflow history contains the %s in clear text", name)
		}
	}
}

func TestHealth(t *testing.T) {
	st := testenv.SharedStack(t)
	c := st.Client(t)
	if r := c.Do("GET", "/healthz", nil); r.Status != 200 {
		t.Fatalf("healthz = %d", r.Status)
	}
	r := c.Do("GET", "/readyz", nil)
	var ready struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	r.Decode(t, &ready)
	if r.Status != 200 || !ready.Ready {
		t.Fatalf("readyz = %d %s", r.Status, r.Body)
	}
	for _, dep := range []string{"postgres", "rabbitmq", "redis", "temporal"} {
		if ready.Checks[dep] != "ok" {
			t.Errorf("readyz check %s = %q", dep, ready.Checks[dep])
		}
	}
	wantProblem(t, c.Do("GET", "/no/such/route", nil), 404, "NOT_FOUND")
	wantProblem(t, c.Do("DELETE", "/auth/login", nil), 405, "METHOD_NOT_ALLOWED")
}

func countUsers(t *testing.T, st *testenv.Stack, email string) int {
	t.Helper()
	var n int
	queryRow(t, st, `SELECT count(*) FROM auth.users WHERE email = $1`, []any{strings.ToLower(email)}, &n)
	return n
}

func queryRow(t *testing.T, st *testenv.Stack, sql string, args []any, dest ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, st.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if err := conn.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
