package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	"github.com/bankcore/bank/internal/testenv"
	"github.com/bankcore/bank/workflows"
)

var twoDecimals = regexp.MustCompile(`^[0-9]+\.[0-9]{2}$`)

// newKey is a fresh idempotency key.
func newKey(prefix string) string { return prefix + "-" + testenv.Suffix() }

// send posts a transfer with the key in the Idempotency-Key header.
func send(c *testenv.Client, key string, body any) testenv.Response {
	return c.Do("POST", "/transfers", body, "Idempotency-Key", key)
}

func transferReq(from, to, amount, narration string) map[string]any {
	return map[string]any{"from_account": from, "to_account": to, "amount": amount, "currency": "NGN", "narration": narration}
}

func wantBalance(t *testing.T, c *testenv.Client, account, want string) {
	t.Helper()
	if got := balance(t, c, account); got != want {
		t.Fatalf("balance of %s = %s, want %s", account, got, want)
	}
}

func wantReplayed(t *testing.T, r testenv.Response, firstID string) transferBody {
	t.Helper()
	tr := wantTransfer(t, r, 200)
	if r.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay without Idempotent-Replayed: true (headers %v)", r.Header)
	}
	if tr.ID != firstID {
		t.Errorf("replay id = %s, want the first answer's %s", tr.ID, firstID)
	}
	return tr
}

func TestDeposit(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	alice, reg := signUp(t, st)
	acct := reg.Account.AccountNumber

	ref := newKey("dep")
	body := map[string]string{"reference": ref, "amount": "2500.5", "narration": "opening deposit"}
	r := op.Do("POST", "/accounts/"+acct+"/deposits", body)
	dep := wantTransfer(t, r, 201)
	if dep.FromAccount != "0000000000" || dep.ToAccount != acct || dep.Amount != "2500.50" ||
		dep.Reference != ref || dep.Narration != "opening deposit" || !twoDecimals.MatchString(dep.Amount) {
		t.Fatalf("deposit = %s", r.Body)
	}
	if r.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("first answer carries Idempotent-Replayed")
	}
	wantBalance(t, alice, acct, "2500.50")

	// Customers may not mint money, not even into their own account.
	wantProblem(t, alice.Do("POST", "/accounts/"+acct+"/deposits", map[string]string{
		"reference": newKey("dep"), "amount": "1000000", "narration": "free money",
	}), 403, "FORBIDDEN")
	wantBalance(t, alice, acct, "2500.50")

	// Same reference and body: the first deposit, once. "2500.50" is the same
	// amount as "2500.5".
	wantReplayed(t, op.Do("POST", "/accounts/"+acct+"/deposits", body), dep.ID)
	body["amount"] = "2500.50"
	wantReplayed(t, op.Do("POST", "/accounts/"+acct+"/deposits", body), dep.ID)
	wantBalance(t, alice, acct, "2500.50")

	// Same reference, another amount.
	r = op.Do("POST", "/accounts/"+acct+"/deposits", map[string]string{"reference": ref, "amount": "2500.51", "narration": "opening deposit"})
	wantProblem(t, r, 422, "IDEMPOTENCY_KEY_REUSED")
	if r.Header.Get("Idempotent-Replayed") == "true" {
		t.Error("a refused reuse claims to be a replay")
	}
	wantBalance(t, alice, acct, "2500.50")

	// The receiver's max balance (TIER_1: 300,000.00), to the kobo.
	wantProblem(t, op.Do("POST", "/accounts/"+acct+"/deposits", map[string]string{
		"reference": newKey("dep"), "amount": "297499.51",
	}), 422, "RECEIVER_BALANCE_LIMIT")
	wantBalance(t, alice, acct, "2500.50")
	deposit(t, op, acct, "297499.50")
	wantBalance(t, alice, acct, "300000.00")

	// Malformed and unknown.
	wantProblem(t, op.Do("POST", "/accounts/"+acct+"/deposits", map[string]string{"reference": newKey("dep"), "amount": "0"}), 400, "VALIDATION_FAILED")
	wantProblem(t, op.Do("POST", "/accounts/"+acct+"/deposits", map[string]any{"reference": newKey("dep"), "amount": 5}), 400, "VALIDATION_FAILED")
	wantProblem(t, op.Do("POST", "/accounts/"+unknownAccount()+"/deposits", map[string]string{"reference": newKey("dep"), "amount": "1"}), 404, "NOT_FOUND")
	wantProblem(t, st.Client(t).Do("POST", "/accounts/"+acct+"/deposits", map[string]string{"reference": newKey("dep"), "amount": "1"}), 401, "UNAUTHENTICATED")
	wantBalance(t, alice, acct, "300000.00")
}

func TestTransfer(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	alice, aReg := signUp(t, st)
	bob, bReg := signUp(t, st)
	a, b := aReg.Account.AccountNumber, bReg.Account.AccountNumber
	deposit(t, op, a, "1000")

	key := newKey("tx")
	req := transferReq(a, b, "100.5", "  rent for May  ")
	r := send(alice, key, req)
	tr := wantTransfer(t, r, 201)
	if tr.Reference != key || tr.FromAccount != a || tr.ToAccount != b || tr.Amount != "100.50" ||
		tr.Narration != "rent for May" {
		t.Fatalf("transfer = %s", r.Body)
	}
	if !strings.Contains(string(r.Body), `"failure_code":null`) {
		t.Errorf("failure_code is not null: %s", r.Body)
	}
	created, _ := time.Parse(time.RFC3339Nano, *tr.CreatedAt)
	completed, _ := time.Parse(time.RFC3339Nano, *tr.CompletedAt)
	if completed.Before(created) || time.Since(created) > time.Minute || time.Until(created) > 5*time.Second {
		t.Errorf("created_at %v, completed_at %v", created, completed)
	}
	wantBalance(t, alice, a, "899.50")
	wantBalance(t, bob, b, "100.50")

	// GET /transfers/{reference} answers the same body.
	got := alice.Do("GET", "/transfers/"+key, nil)
	if g := wantTransfer(t, got, 200); !sameTransfer(g, tr) {
		t.Errorf("GET = %+v, POST = %+v", g, tr)
	}
	if string(got.Body) != string(r.Body) {
		t.Errorf("GET body %s differs from POST body %s", got.Body, r.Body)
	}

	// A replay answers the first transfer and moves nothing.
	for range 2 {
		rp := send(alice, key, req)
		if g := wantReplayed(t, rp, tr.ID); !sameTransfer(g, tr) {
			t.Errorf("replay = %+v, want %+v", g, tr)
		}
	}
	wantBalance(t, alice, a, "899.50")
	wantBalance(t, bob, b, "100.50")

	// The same key with another body.
	for name, other := range map[string]map[string]any{
		"amount":    transferReq(a, b, "100.51", "rent for May"),
		"narration": transferReq(a, b, "100.50", "rent for June"),
	} {
		rr := send(alice, key, other)
		wantProblem(t, rr, 422, "IDEMPOTENCY_KEY_REUSED")
		if rr.Header.Get("Idempotent-Replayed") == "true" {
			t.Errorf("%s: a refused reuse claims to be a replay", name)
		}
	}
	wantBalance(t, alice, a, "899.50")

	// The key in the body.
	bodyKey := newKey("body")
	withRef := transferReq(a, b, "1.00", "")
	withRef["reference"] = bodyKey
	if tr := wantTransfer(t, alice.Do("POST", "/transfers", withRef), 201); tr.Reference != bodyKey {
		t.Errorf("reference = %q, want %q", tr.Reference, bodyKey)
	}
	wantReplayed(t, alice.Do("POST", "/transfers", withRef), wantTransfer(t, alice.Do("GET", "/transfers/"+bodyKey, nil), 200).ID)
	// Header and body agreeing.
	both := newKey("both")
	withRef = transferReq(a, b, "1.00", "")
	withRef["reference"] = both
	if tr := wantTransfer(t, send(alice, both, withRef), 201); tr.Reference != both {
		t.Errorf("reference = %q, want %q", tr.Reference, both)
	}
	wantBalance(t, alice, a, "897.50")

	// Header and body disagreeing, or no key at all: nothing is stored.
	h, bd := newKey("hdr"), newKey("bdy")
	withRef["reference"] = bd
	p := wantProblem(t, send(alice, h, withRef), 400, "VALIDATION_FAILED")
	if p.Field == "" {
		t.Error("disagreeing keys: no field named")
	}
	wantProblem(t, alice.Do("POST", "/transfers", transferReq(a, b, "1.00", "")), 400, "VALIDATION_FAILED")
	wantProblem(t, alice.Do("GET", "/transfers/"+h, nil), 404, "NOT_FOUND")
	wantProblem(t, alice.Do("GET", "/transfers/"+bd, nil), 404, "NOT_FOUND")
	wantBalance(t, alice, a, "897.50")
	wantBalance(t, bob, b, "102.50")
}

func TestTransferKeysAreScopedToCaller(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	alice, aReg := signUp(t, st)
	bob, bReg := signUp(t, st)
	carol, cReg := signUp(t, st)
	a, b, c := aReg.Account.AccountNumber, bReg.Account.AccountNumber, cReg.Account.AccountNumber
	deposit(t, op, a, "100")
	deposit(t, op, b, "100")

	key := newKey("shared")
	ta := wantTransfer(t, send(alice, key, transferReq(a, c, "10.00", "")), 201)
	tb := wantTransfer(t, send(bob, key, transferReq(b, c, "20.00", "")), 201)
	if ta.ID == tb.ID {
		t.Fatalf("two users' transfers share id %s", ta.ID)
	}
	if g := wantTransfer(t, alice.Do("GET", "/transfers/"+key, nil), 200); g.ID != ta.ID {
		t.Errorf("alice sees %s, want her own %s", g.ID, ta.ID)
	}
	if g := wantTransfer(t, bob.Do("GET", "/transfers/"+key, nil), 200); g.ID != tb.ID {
		t.Errorf("bob sees %s, want his own %s", g.ID, tb.ID)
	}
	// Carol received both but owns neither key.
	wantProblem(t, carol.Do("GET", "/transfers/"+key, nil), 404, "NOT_FOUND")
	wantBalance(t, alice, a, "90.00")
	wantBalance(t, bob, b, "80.00")
	wantBalance(t, carol, c, "30.00")
}

func TestTransferRefusals(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	alice, aReg := signUp(t, st)
	bob, bReg := signUp(t, st)
	carol, cReg := signUp(t, st)
	a, b, c := aReg.Account.AccountNumber, bReg.Account.AccountNumber, cReg.Account.AccountNumber
	for range 6 {
		deposit(t, op, a, "50000")
	}
	deposit(t, op, c, "100")
	wantBalance(t, alice, a, "300000.00")

	refuse := func(sender *testenv.Client, from, to, amount, code string) {
		t.Helper()
		key := newKey("ref")
		r := send(sender, key, transferReq(from, to, amount, ""))
		wantProblem(t, r, 422, code)
		// The refusal is stored under the key and moved nothing.
		g := sender.Do("GET", "/transfers/"+key, nil)
		if g.Status != 200 {
			t.Fatalf("GET refused transfer = %d %s", g.Status, g.Body)
		}
		var tr transferBody
		g.Decode(t, &tr)
		if tr.Status != "FAILED" || tr.FailureCode == nil || *tr.FailureCode != code || tr.CompletedAt == nil {
			t.Errorf("refused transfer = %s", g.Body)
		}
	}
	// Checked in the contract's order; each case also breaks every later rule.
	refuse(alice, a, a, "50000.01", "SAME_ACCOUNT")          // also over the limit
	refuse(bob, b, a, "50000.01", "SINGLE_LIMIT_EXCEEDED")   // bob has 0; alice is at max
	refuse(bob, b, a, "0.01", "INSUFFICIENT_FUNDS")          // alice is at max
	refuse(carol, c, a, "0.01", "RECEIVER_BALANCE_LIMIT")    // alice holds 300,000.00
	refuse(alice, a, b, "50000.01", "SINGLE_LIMIT_EXCEEDED") // rich sender, still the limit
	wantBalance(t, alice, a, "300000.00")
	wantBalance(t, bob, b, "0.00")
	wantBalance(t, carol, c, "100.00")
	// The single limit is inclusive (the max balance's edge is in TestDeposit).
	wantTransfer(t, send(alice, newKey("edge"), transferReq(a, b, "50000.00", "")), 201)
	wantBalance(t, alice, a, "250000.00")
	wantBalance(t, bob, b, "50000.00")
	// Refused transfers leave no trace in either history.
	for _, e := range history(t, alice, a, 100) {
		if e.Direction != "CREDIT" && e.Amount != "50000.00" {
			t.Errorf("unexpected entry %+v", e)
		}
	}
	if h := history(t, carol, c, 100); len(h) != 1 {
		t.Errorf("carol's history has %d entries, want her deposit only: %+v", len(h), h)
	}
}

func TestTransferRefusalSticks(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	dave, dReg := signUp(t, st)
	_, eReg := signUp(t, st)
	d, e := dReg.Account.AccountNumber, eReg.Account.AccountNumber

	key := newKey("sticky")
	req := transferReq(d, e, "10.00", "lunch")
	wantProblem(t, send(dave, key, req), 422, "INSUFFICIENT_FUNDS")
	deposit(t, op, d, "100")
	// The cause is gone, the answer is not: the key is spent.
	for range 2 {
		wantProblem(t, send(dave, key, req), 422, "INSUFFICIENT_FUNDS")
	}
	wantBalance(t, dave, d, "100.00")
	// A new key is a new transfer.
	wantTransfer(t, send(dave, newKey("sticky"), req), 201)
	wantBalance(t, dave, d, "90.00")
	// Reusing the refused key with another body is still a reuse.
	wantProblem(t, send(dave, key, transferReq(d, e, "5.00", "lunch")), 422, "IDEMPOTENCY_KEY_REUSED")
}

// problemBody is a problem without its per-request parts.
func problemBody(t *testing.T, r testenv.Response) map[string]any {
	t.Helper()
	m := r.JSON(t)
	delete(m, "request_id")
	delete(m, "instance")
	return m
}

func TestTransferNotFound(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	alice, aReg := signUp(t, st)
	bob, bReg := signUp(t, st)
	a, b := aReg.Account.AccountNumber, bReg.Account.AccountNumber
	deposit(t, op, b, "500")

	// Sending from someone else's account is exactly sending from nowhere.
	notMine := send(alice, newKey("steal"), transferReq(b, a, "100.00", ""))
	nowhere := send(alice, newKey("steal"), transferReq(unknownAccount(), a, "100.00", ""))
	wantProblem(t, notMine, 404, "NOT_FOUND")
	wantProblem(t, nowhere, 404, "NOT_FOUND")
	if pm, pn := problemBody(t, notMine), problemBody(t, nowhere); fmt.Sprint(pm) != fmt.Sprint(pn) {
		t.Errorf("another's account answers %v, a missing one %v: the difference tells accounts exist", pm, pn)
	}
	// Even from an operator's token: only the owner sends.
	wantProblem(t, send(op, newKey("op"), transferReq(b, a, "100.00", "")), 404, "NOT_FOUND")
	wantBalance(t, bob, b, "500.00")
	wantBalance(t, alice, a, "0.00")

	wantProblem(t, send(bob, newKey("nowhere"), transferReq(b, unknownAccount(), "1.00", "")), 404, "NOT_FOUND")
	// The system account is no customer's counterparty.
	wantProblem(t, send(bob, newKey("sys"), transferReq(b, "0000000000", "1.00", "")), 404, "NOT_FOUND")
	wantBalance(t, bob, b, "500.00")

	// GET /transfers/{reference}: only the caller's own keys.
	key := newKey("mine")
	wantTransfer(t, send(bob, key, transferReq(b, a, "1.00", "")), 201)
	wantTransfer(t, bob.Do("GET", "/transfers/"+key, nil), 200)
	wantProblem(t, alice.Do("GET", "/transfers/"+key, nil), 404, "NOT_FOUND")
	wantProblem(t, bob.Do("GET", "/transfers/"+newKey("unknown"), nil), 404, "NOT_FOUND")
	wantProblem(t, st.Client(t).Do("GET", "/transfers/"+key, nil), 401, "UNAUTHENTICATED")
}

func TestTransferValidation(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	alice, aReg := signUp(t, st)
	_, bReg := signUp(t, st)
	a, b := aReg.Account.AccountNumber, bReg.Account.AccountNumber
	deposit(t, op, a, "1000")

	body := func(amount string) string {
		return fmt.Sprintf(`{"from_account":%q,"to_account":%q,"amount":%s,"currency":"NGN","narration":"x"}`, a, b, amount)
	}
	cases := []struct {
		name, body, field string
	}{
		{"AmountNumber", body(`100`), "amount"},
		{"AmountNumberDecimal", body(`100.50`), "amount"},
		{"AmountZero", body(`"0"`), "amount"},
		{"AmountZeroDecimals", body(`"0.00"`), "amount"},
		{"AmountThreeDecimals", body(`"1.234"`), "amount"},
		{"AmountExponent", body(`"1e3"`), "amount"},
		{"AmountNegative", body(`"-5.00"`), "amount"},
		{"AmountPlus", body(`"+5"`), "amount"},
		{"AmountSpaces", body(`" 5.00"`), "amount"},
		{"AmountComma", body(`"1,000"`), "amount"},
		{"AmountEmpty", body(`""`), "amount"},
		{"AmountNull", body(`null`), "amount"},
		{"AmountTooLarge", body(`"1000000000000000.01"`), "amount"},
		{"AmountMissing", fmt.Sprintf(`{"from_account":%q,"to_account":%q,"currency":"NGN"}`, a, b), "amount"},
		{"CurrencyUSD", fmt.Sprintf(`{"from_account":%q,"to_account":%q,"amount":"1.00","currency":"USD"}`, a, b), "currency"},
		{"UnknownField", fmt.Sprintf(`{"from_account":%q,"to_account":%q,"amount":"1.00","fee":"0"}`, a, b), "fee"},
		{"FromMalformed", fmt.Sprintf(`{"from_account":"12345","to_account":%q,"amount":"1.00"}`, b), "from_account"},
		{"ToMissing", fmt.Sprintf(`{"from_account":%q,"amount":"1.00"}`, a), "to_account"},
		{"NarrationTooLong", fmt.Sprintf(`{"from_account":%q,"to_account":%q,"amount":"1.00","narration":%q}`, a, b, strings.Repeat("n", 141)), "narration"},
		{"NotAnObject", `["1.00"]`, ""},
		{"DuplicateAmount", fmt.Sprintf(`{"from_account":%q,"to_account":%q,"amount":"1.00","amount":"900.00"}`, a, b), "amount"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := wantProblem(t, alice.Do("POST", "/transfers", tc.body, "Idempotency-Key", newKey("v")), 400, "VALIDATION_FAILED")
			if tc.field != "" && p.Field != tc.field {
				t.Errorf("field = %q, want %q", p.Field, tc.field)
			}
		})
	}

	ok := transferReq(a, b, "1.00", "")
	refs := []struct {
		name, key, field string
		inBody           bool
	}{
		{"BodySpace", "has space", "reference", true},
		{"BodySlash", "a/b", "reference", true},
		{"BodyUnicode", "réf", "reference", true},
		{"Body65", strings.Repeat("r", 65), "reference", true},
		{"HeaderBang", "bad!key", "Idempotency-Key", false},
		{"Header65", strings.Repeat("h", 65), "Idempotency-Key", false},
	}
	for _, tc := range refs {
		t.Run("Reference"+tc.name, func(t *testing.T) {
			var r testenv.Response
			if tc.inBody {
				bodyWithRef := transferReq(a, b, "1.00", "")
				bodyWithRef["reference"] = tc.key
				r = alice.Do("POST", "/transfers", bodyWithRef)
			} else {
				r = send(alice, tc.key, ok)
			}
			if p := wantProblem(t, r, 400, "VALIDATION_FAILED"); p.Field != tc.field {
				t.Errorf("field = %q, want %q", p.Field, tc.field)
			}
		})
	}
	t.Run("WrongContentType", func(t *testing.T) {
		wantProblem(t, alice.Do("POST", "/transfers", body(`"1.00"`), "Content-Type", "text/plain", "Idempotency-Key", newKey("ct")), 415, "UNSUPPORTED_MEDIA_TYPE")
		wantProblem(t, alice.Do("POST", "/transfers", nil, "Idempotency-Key", newKey("ct")), 415, "UNSUPPORTED_MEDIA_TYPE")
	})
	t.Run("NoToken", func(t *testing.T) {
		wantProblem(t, send(st.Client(t), newKey("anon"), ok), 401, "UNAUTHENTICATED")
		wantProblem(t, st.Client(t).Do("POST", "/transfers", ok, "Idempotency-Key", newKey("anon"), "Authorization", "Bearer not.a.jwt"), 401, "UNAUTHENTICATED")
	})
	t.Run("Oversized", func(t *testing.T) {
		huge := fmt.Sprintf(`{"from_account":%q,"to_account":%q,"amount":"1.00","narration":%q}`, a, b, strings.Repeat("n", 70<<10))
		wantProblem(t, alice.Do("POST", "/transfers", huge, "Idempotency-Key", newKey("big")), 413, "BODY_TOO_LARGE")
	})
	// Nothing above moved money; the edges themselves are accepted.
	wantBalance(t, alice, a, "1000.00")
	edge := transferReq(a, b, "0.01", "")
	edge["reference"] = strings.Repeat("R", 60) + "._:-"
	if tr := wantTransfer(t, alice.Do("POST", "/transfers", edge), 201); tr.Amount != "0.01" || len(tr.Reference) != 64 {
		t.Errorf("edge transfer = %+v", tr)
	}
	noCurrency := map[string]any{"from_account": a, "to_account": b, "amount": "007"}
	if tr := wantTransfer(t, send(alice, newKey("nocur"), noCurrency), 201); tr.Amount != "7.00" || tr.Currency != "NGN" {
		t.Errorf("transfer without currency = %+v", tr)
	}
	wantBalance(t, alice, a, "992.99")
}

func TestTransactions(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	alice, aReg := signUp(t, st)
	bob, bReg := signUp(t, st)
	a, b := aReg.Account.AccountNumber, bReg.Account.AccountNumber

	dep := deposit(t, op, a, "1000")
	t1, t2, t3 := newKey("t1"), newKey("t2"), newKey("t3")
	wantTransfer(t, send(alice, t1, transferReq(a, b, "100", "first")), 201)
	wantTransfer(t, send(bob, t2, transferReq(b, a, "30.00", "second")), 201)
	wantProblem(t, send(alice, newKey("big"), transferReq(a, b, "5000", "refused")), 422, "INSUFFICIENT_FUNDS")
	wantTransfer(t, send(alice, t3, transferReq(a, b, "0.5", "third")), 201)

	want := []entryBody{
		{Kind: "TRANSFER", TransferReference: t3, Direction: "DEBIT", Amount: "0.50", BalanceAfter: "929.50", CounterpartyAccount: b, Narration: "third"},
		{Kind: "TRANSFER", TransferReference: t2, Direction: "CREDIT", Amount: "30.00", BalanceAfter: "930.00", CounterpartyAccount: b, Narration: "second"},
		{Kind: "TRANSFER", TransferReference: t1, Direction: "DEBIT", Amount: "100.00", BalanceAfter: "900.00", CounterpartyAccount: b, Narration: "first"},
		{Kind: "DEPOSIT", TransferReference: dep.Reference, Direction: "CREDIT", Amount: "1000.00", BalanceAfter: "1000.00", CounterpartyAccount: "0000000000", Narration: "funding"},
	}
	check := func(name string, got []entryBody) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d entries, want %d: %+v", name, len(got), len(want), got)
		}
		ids := map[string]bool{}
		var prev time.Time
		for i, e := range got {
			if e.ID == "" || ids[e.ID] {
				t.Errorf("%s: entry %d id %q missing or repeated", name, i, e.ID)
			}
			ids[e.ID] = true
			ts, err := time.Parse(time.RFC3339Nano, e.CreatedAt)
			if err != nil {
				t.Errorf("%s: created_at %q: %v", name, e.CreatedAt, err)
			}
			if i > 0 && ts.After(prev) {
				t.Errorf("%s: entry %d is newer than entry %d", name, i, i-1)
			}
			prev = ts
			w := want[i]
			w.ID, w.CreatedAt = e.ID, e.CreatedAt
			if e != w {
				t.Errorf("%s: entry %d = %+v, want %+v", name, i, e, w)
			}
		}
	}
	r := alice.Do("GET", "/accounts/"+a+"/transactions", nil)
	if r.Status != 200 {
		t.Fatalf("transactions = %d %s", r.Status, r.Body)
	}
	var page entryPage
	r.Decode(t, &page)
	if !strings.Contains(string(r.Body), `"next_cursor":null`) {
		t.Errorf("a complete page has next_cursor %s", r.Body)
	}
	check("one page", page.Items)

	// limit=2 walks two pages; the second says there is no third.
	check("pages of 2", history(t, alice, a, 2))
	check("pages of 1", history(t, alice, a, 1))
	check("pages of 100", history(t, alice, a, 100))
	r = alice.Do("GET", "/accounts/"+a+"/transactions?limit=2", nil)
	r.Decode(t, &page)
	if len(page.Items) != 2 || page.NextCursor == nil {
		t.Fatalf("first page of 2 = %s", r.Body)
	}
	r = alice.Do("GET", "/accounts/"+a+"/transactions?limit=2&cursor="+*page.NextCursor, nil)
	page = entryPage{}
	r.Decode(t, &page)
	if r.Status != 200 || len(page.Items) != 2 || page.NextCursor != nil {
		t.Fatalf("last page of 2 = %d %s", r.Status, r.Body)
	}

	// Bob's side mirrors it.
	bh := history(t, bob, b, 100)
	if len(bh) != 3 || bh[0].Direction != "CREDIT" || bh[0].BalanceAfter != "70.50" || bh[1].Direction != "DEBIT" || bh[1].CounterpartyAccount != a {
		t.Errorf("bob's history = %+v", bh)
	}

	for _, q := range []string{"limit=0", "limit=101", "limit=abc", "limit=-1", "limit=2.5"} {
		if p := wantProblem(t, alice.Do("GET", "/accounts/"+a+"/transactions?"+q, nil), 400, "VALIDATION_FAILED"); p.Field != "limit" {
			t.Errorf("%s: field = %q", q, p.Field)
		}
	}
	for _, cur := range []string{"zzz", "!!!", base64.RawURLEncoding.EncodeToString([]byte("0")),
		base64.RawURLEncoding.EncodeToString([]byte("-5")), base64.RawURLEncoding.EncodeToString([]byte("abc"))} {
		if p := wantProblem(t, alice.Do("GET", "/accounts/"+a+"/transactions?cursor="+cur, nil), 400, "VALIDATION_FAILED"); p.Field != "cursor" {
			t.Errorf("cursor %q: field = %q", cur, p.Field)
		}
	}
	wantProblem(t, bob.Do("GET", "/accounts/"+a+"/transactions", nil), 404, "NOT_FOUND")
	wantProblem(t, bob.Do("GET", "/accounts/"+unknownAccount()+"/transactions", nil), 404, "NOT_FOUND")
	wantProblem(t, st.Client(t).Do("GET", "/accounts/"+a+"/transactions", nil), 401, "UNAUTHENTICATED")

	// A new account's history is empty, not null.
	carol, cReg := signUp(t, st)
	r = carol.Do("GET", "/accounts/"+cReg.Account.AccountNumber+"/transactions", nil)
	if r.Status != 200 || strings.ReplaceAll(string(r.Body), "\n", "") != `{"items":[],"next_cursor":null}` {
		t.Errorf("empty history = %d %s", r.Status, r.Body)
	}
}

func TestConcurrentIdenticalTransfers(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	alice, aReg := signUp(t, st)
	bob, bReg := signUp(t, st)
	a, b := aReg.Account.AccountNumber, bReg.Account.AccountNumber
	deposit(t, op, a, "1000")

	key := newKey("conc")
	req := transferReq(a, b, "10.00", "once")
	const n = 10
	var wg sync.WaitGroup
	answers := make([]testenv.Response, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i] = send(alice, key, req)
		}()
	}
	close(start)
	wg.Wait()
	ids := map[string]int{}
	for i, r := range answers {
		if r.Status != 201 && r.Status != 200 {
			t.Fatalf("answer %d = %d %s", i, r.Status, r.Body)
		}
		ids[wantTransfer(t, r, r.Status).ID]++
	}
	if len(ids) != 1 {
		t.Fatalf("concurrent identical requests got %d transfers: %v", len(ids), ids)
	}
	wantBalance(t, alice, a, "990.00")
	wantBalance(t, bob, b, "10.00")
	debits := 0
	for _, e := range history(t, alice, a, 100) {
		if e.TransferReference == key {
			debits++
		}
	}
	if debits != 1 {
		t.Fatalf("%d entries for the key in the sender's history, want 1", debits)
	}
}

// searchAttr reads a Keyword search attribute of a described workflow.
func searchAttr(t *testing.T, fields map[string]*commonpb.Payload, name string) string {
	t.Helper()
	p, ok := fields[name]
	if !ok {
		t.Errorf("search attribute %s is not set", name)
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		t.Errorf("search attribute %s: %v", name, err)
	}
	return s
}

func TestTransferWorkflow(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	alice, aReg := signUp(t, st)
	_, bReg := signUp(t, st)
	a, b := aReg.Account.AccountNumber, bReg.Account.AccountNumber
	dep := deposit(t, op, a, "100")
	key := newKey("wf")
	wantTransfer(t, send(alice, key, transferReq(a, b, "1.00", "")), 201)

	var me struct {
		User userBody `json:"user"`
	}
	r := op.Do("GET", "/me", nil)
	if r.Status != 200 {
		t.Fatalf("operator GET /me = %d %s", r.Status, r.Body)
	}
	r.Decode(t, &me)
	if me.User.ID == "" {
		t.Fatalf("operator /me = %s", r.Body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		id, typ, ref, from, to, user string
	}{
		// The contract's ids, spelled out rather than taken from the code.
		{"transfer/" + aReg.User.ID + "/" + key, "Transfer", key, a, b, aReg.User.ID},
		{"deposit/" + dep.Reference, "Deposit", dep.Reference, "0000000000", a, me.User.ID},
	} {
		// The answer comes as soon as money moved; the workflow completes
		// a moment later, once the event is published.
		if err := st.App.Temporal().GetWorkflow(ctx, tc.id, "").Get(ctx, nil); err != nil {
			t.Fatalf("%s did not complete: %v", tc.id, err)
		}
		desc, err := st.App.Temporal().DescribeWorkflow(ctx, tc.id, "")
		if err != nil {
			t.Fatalf("describe %s: %v", tc.id, err)
		}
		info := desc.RawResponse.GetWorkflowExecutionInfo()
		if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED || info.GetType().GetName() != tc.typ ||
			info.GetTaskQueue() != workflows.QueueTransfers {
			t.Errorf("%s: status %v, type %q, queue %q", tc.id, info.GetStatus(), info.GetType().GetName(), info.GetTaskQueue())
		}
		f := info.GetSearchAttributes().GetIndexedFields()
		if got := searchAttr(t, f, "BankReference"); got != tc.ref {
			t.Errorf("%s: BankReference = %q, want %q", tc.id, got, tc.ref)
		}
		if got := searchAttr(t, f, "BankFromAccount"); got != tc.from {
			t.Errorf("%s: BankFromAccount = %q, want %q", tc.id, got, tc.from)
		}
		if got := searchAttr(t, f, "BankToAccount"); got != tc.to {
			t.Errorf("%s: BankToAccount = %q, want %q", tc.id, got, tc.to)
		}
		if got := searchAttr(t, f, "BankUserID"); got != tc.user {
			t.Errorf("%s: BankUserID = %q, want %q", tc.id, got, tc.user)
		}
	}
}

// TestTransferOutlivesSlowPosting: a posting slower than the workflow's
// per-attempt timeout (here: the sender's row locked by another session
// for 11 s, as in a long-running migration or a stalled database) answers
// 202, and the transfer then completes once: the client's poll finds it and
// a retry replays it. Before the local activity had its own schedule-to-
// close timeout, the workflow failed after 10 s, GET answered 404 forever
// and every retry 500.
func TestTransferOutlivesSlowPosting(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	alice, aReg := signUp(t, st)
	bob, bReg := signUp(t, st)
	a, b := aReg.Account.AccountNumber, bReg.Account.AccountNumber
	deposit(t, op, a, "100")

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, st.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM ledger.accounts WHERE account_number = $1 FOR UPDATE`, a); err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		defer close(released)
		time.Sleep(11 * time.Second)
		_ = tx.Rollback(ctx)
	}()

	key := newKey("slow")
	req := transferReq(a, b, "10.00", "slow")
	r := send(alice, key, req)
	if r.Status != 202 {
		t.Fatalf("status = %d, want 202 while the posting waits: %s", r.Status, r.Body)
	}
	var pending transferBody
	r.Decode(t, &pending)
	if pending.Status != "PENDING" || pending.Reference != key || pending.Amount != "10.00" || pending.FromAccount != a || pending.ToAccount != b {
		t.Errorf("202 body = %s", r.Body)
	}
	// A retry while it is pending joins the same workflow (it may see the
	// end of it when the machine is slow).
	retry := send(alice, key, req)
	if retry.Status != 202 && retry.Status != 201 {
		t.Errorf("retry while pending = %d %s", retry.Status, retry.Body)
	}

	<-released
	var done transferBody
	deadline := time.Now().Add(30 * time.Second)
	for {
		g := alice.Do("GET", "/transfers/"+key, nil)
		if g.Status == 200 {
			done = wantTransfer(t, g, 200)
			break
		}
		if g.Status != 404 || time.Now().After(deadline) {
			t.Fatalf("GET /transfers/%s = %d %s after the lock was released", key, g.Status, g.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if retry.Status == 201 {
		if tr := wantTransfer(t, retry, 201); tr.ID != done.ID {
			t.Errorf("retry while pending answered transfer %s, GET %s", tr.ID, done.ID)
		}
	}
	wantReplayed(t, send(alice, key, req), done.ID)
	wantBalance(t, alice, a, "90.00")
	wantBalance(t, bob, b, "10.00")
}
