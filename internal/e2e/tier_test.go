package e2e

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/bankcore/bank/internal/testenv"
)

// Mock KYC numbers that the registry verifies at once: they end in neither
// 0000 (no match) nor 9999 (times out twice).
func newNIN() kyc {
	return kyc{Type: "NIN", Number: fmt.Sprintf("%07d%04d", rand.IntN(10_000_000), 1000+rand.IntN(8000))}
}

func newBVN() kyc {
	return kyc{Type: "BVN", Number: fmt.Sprintf("%07d%04d", rand.IntN(10_000_000), 1000+rand.IntN(8000))}
}

func newIDCard() kyc {
	letters := "ABCDEFGHJKLMNPRSTUVWXYZ"
	return kyc{Type: "ID_CARD", Number: fmt.Sprintf("%c%c%05d%04d",
		letters[rand.IntN(len(letters))], letters[rand.IntN(len(letters))], rand.IntN(100_000), 1000+rand.IntN(8000))}
}

// signUpWith registers a user with the given evidence and logs in.
func signUpWith(t *testing.T, st *testenv.Stack, k kyc) (*testenv.Client, registered) {
	t.Helper()
	reg := newRegistration()
	reg.KYC = k
	return signUpAs(t, st, reg)
}

func tierBody(tier string, k kyc) map[string]any {
	return map[string]any{"tier": tier, "kyc": k}
}

func upgrade(c *testenv.Client, account, tier string, k kyc, headers ...string) testenv.Response {
	return c.Do("POST", "/accounts/"+account+"/tier", tierBody(tier, k), headers...)
}

// accountFields are the contract's <Account> members.
var accountFields = []string{"account_number", "owner_id", "tier", "balance", "currency", "limits", "created_at"}

// wantAccount asserts a 200 <Account> at the tier with the tier's limits
// (nil is unlimited) and returns it.
func wantAccount(t *testing.T, r testenv.Response, number, tier string, single, maxBal any) accountBody {
	t.Helper()
	wantJSON(t, r, 200)
	m := wantMembers(t, r, "account", accountFields)
	if lim, ok := m["limits"].(map[string]any); !ok || len(lim) != 2 {
		t.Errorf("limits = %v, want single_transaction and max_balance (null when unlimited)", m["limits"])
	} else {
		for _, f := range []string{"single_transaction", "max_balance"} {
			if _, ok := lim[f]; !ok {
				t.Errorf("limits lack %q (unlimited is null, not absent): %s", f, r.Body)
			}
		}
	}
	var a accountBody
	r.Decode(t, &a)
	if a.AccountNumber != number || a.Tier != tier || a.Currency != "NGN" {
		t.Errorf("account = %s, want %s at %s in NGN", r.Body, number, tier)
	}
	if a.Limits.SingleTransaction != single || a.Limits.MaxBalance != maxBal {
		t.Errorf("limits = %v/%v, want %v/%v", a.Limits.SingleTransaction, a.Limits.MaxBalance, single, maxBal)
	}
	return a
}

// tierOf reads an account's tier through GET /accounts/{n}.
func tierOf(t *testing.T, c *testenv.Client, account string) string {
	t.Helper()
	return readAccount(t, c, account).Tier
}

func wantTier(t *testing.T, c *testenv.Client, account, want string) {
	t.Helper()
	if got := tierOf(t, c, account); got != want {
		t.Fatalf("account %s at %s, want %s", account, got, want)
	}
}

// countRows runs a count(*) query against the stack's database.
func countRows(t *testing.T, st *testenv.Stack, sql string, args ...any) int {
	t.Helper()
	var n int
	queryRow(t, st, sql, args, &n)
	return n
}

func tierChangeCount(t *testing.T, st *testenv.Stack, account string) int {
	t.Helper()
	return countRows(t, st, `SELECT count(*) FROM ledger.tier_changes c JOIN ledger.accounts a ON a.id = c.account_id
		WHERE a.account_number = $1`, account)
}

// waitTierNotifications polls notify.notifications until the user has want
// TIER_UPGRADED notifications about the account (the notifier consumes the
// event asynchronously), then insists on exactly want.
func waitTierNotifications(t *testing.T, st *testenv.Stack, userID, account string, want int) {
	t.Helper()
	const q = `SELECT count(*) FROM notify.notifications
		WHERE user_id = $1 AND type = 'TIER_UPGRADED' AND account_number = $2 AND event_id LIKE 'tier_upgraded/%'`
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := countRows(t, st, q, userID, account)
		if n == want {
			return
		}
		if n > want {
			t.Fatalf("%d TIER_UPGRADED notifications for %s, want %d", n, userID, want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d TIER_UPGRADED notifications for %s after 10s, want %d", n, userID, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestTierUpgradeTier1To2To3(t *testing.T) {
	st := testenv.SharedStack(t)
	alice, reg := signUp(t, st)
	acct := reg.Account.AccountNumber

	// TIER_2 on a BVN (she registered with a NIN).
	a := wantAccount(t, upgrade(alice, acct, "TIER_2", newBVN()), acct, "TIER_2", "200000.00", "1000000.00")
	if a.OwnerID != reg.User.ID || a.Balance != "0.00" || a.CreatedAt != reg.Account.CreatedAt {
		t.Errorf("upgraded account = %+v, want alice's %+v", a, reg.Account)
	}
	wantAccount(t, alice.Do("GET", "/accounts/"+acct, nil), acct, "TIER_2", "200000.00", "1000000.00")

	// TIER_3 on an ID card: no limits.
	wantAccount(t, upgrade(alice, acct, "TIER_3", newIDCard()), acct, "TIER_3", nil, nil)
	wantAccount(t, alice.Do("GET", "/accounts/"+acct, nil), acct, "TIER_3", nil, nil)
	r := alice.Do("GET", "/me", nil)
	var me struct {
		Accounts []accountBody `json:"accounts"`
	}
	r.Decode(t, &me)
	if len(me.Accounts) != 1 || me.Accounts[0].Tier != "TIER_3" {
		t.Errorf("/me accounts = %s, want the one account at TIER_3", r.Body)
	}
	if n := tierChangeCount(t, st, acct); n != 2 {
		t.Errorf("%d audit rows, want 2", n)
	}
	waitTierNotifications(t, st, reg.User.ID, acct, 2)

	// Nothing above TIER_3.
	wantProblem(t, upgrade(alice, acct, "TIER_3", newIDCard()), 409, "TIER_NOT_HIGHER")
	wantProblem(t, upgrade(alice, acct, "TIER_2", newNIN()), 409, "TIER_NOT_HIGHER")
	wantTier(t, alice, acct, "TIER_3")
}

func TestTierUpgradeDirectToTier3(t *testing.T) {
	st := testenv.SharedStack(t)

	t.Run("RegisteredWithNIN", func(t *testing.T) {
		c, reg := signUp(t, st) // newRegistration uses a NIN
		acct := reg.Account.AccountNumber
		wantAccount(t, upgrade(c, acct, "TIER_3", newIDCard()), acct, "TIER_3", nil, nil)
		wantTier(t, c, acct, "TIER_3")
	})
	t.Run("RegisteredWithBVN", func(t *testing.T) {
		c, reg := signUpWith(t, st, newBVN())
		acct := reg.Account.AccountNumber
		wantAccount(t, upgrade(c, acct, "TIER_3", newIDCard()), acct, "TIER_3", nil, nil)
	})
	t.Run("RegisteredWithIDCard", func(t *testing.T) {
		card := newIDCard()
		c, reg := signUpWith(t, st, card)
		acct := reg.Account.AccountNumber
		// No BVN or NIN on file: refused, whether with a new ID card or the
		// one registered with.
		wantProblem(t, upgrade(c, acct, "TIER_3", newIDCard()), 422, "KYC_FAILED")
		wantProblem(t, upgrade(c, acct, "TIER_3", card), 422, "KYC_FAILED")
		wantTier(t, c, acct, "TIER_1")
		if n := tierChangeCount(t, st, acct); n != 0 {
			t.Errorf("%d audit rows after refusals, want 0", n)
		}
		// The way up: a NIN for TIER_2, then the ID card for TIER_3.
		wantAccount(t, upgrade(c, acct, "TIER_2", newNIN()), acct, "TIER_2", "200000.00", "1000000.00")
		wantAccount(t, upgrade(c, acct, "TIER_3", card), acct, "TIER_3", nil, nil)
	})
}

func TestTierUpgradeKYCNoMatch(t *testing.T) {
	st := testenv.SharedStack(t)
	c, reg := signUp(t, st)
	acct := reg.Account.AccountNumber

	noMatch := kyc{Type: "NIN", Number: fmt.Sprintf("%07d0000", rand.IntN(10_000_000))}
	p := wantProblem(t, upgrade(c, acct, "TIER_2", noMatch), 422, "KYC_FAILED")
	if p.Detail == "" {
		t.Error("KYC_FAILED without detail")
	}
	wantProblem(t, upgrade(c, acct, "TIER_2", kyc{Type: "BVN", Number: noMatch.Number}), 422, "KYC_FAILED")
	wantTier(t, c, acct, "TIER_1")

	wantAccount(t, upgrade(c, acct, "TIER_2", newNIN()), acct, "TIER_2", "200000.00", "1000000.00")
	wantProblem(t, upgrade(c, acct, "TIER_3", kyc{Type: "ID_CARD", Number: "QA12340000"}), 422, "KYC_FAILED")
	wantTier(t, c, acct, "TIER_2")
	if n := tierChangeCount(t, st, acct); n != 1 {
		t.Errorf("%d audit rows, want only the successful upgrade's", n)
	}
	// The no-match number was never recorded as evidence.
	if n := countRows(t, st, `SELECT count(*) FROM auth.identities WHERE user_id = $1`, reg.User.ID); n != 2 {
		t.Errorf("%d identities on file, want 2 (registration NIN and the verified one)", n)
	}
}

func TestTierUpgradeNotHigher(t *testing.T) {
	st := testenv.SharedStack(t)
	c, reg := signUp(t, st)
	acct := reg.Account.AccountNumber

	wantProblem(t, upgrade(c, acct, "TIER_1", newNIN()), 409, "TIER_NOT_HIGHER")
	// Checked before the evidence's kind.
	wantProblem(t, upgrade(c, acct, "TIER_1", newIDCard()), 409, "TIER_NOT_HIGHER")
	wantTier(t, c, acct, "TIER_1")

	wantAccount(t, upgrade(c, acct, "TIER_2", newNIN()), acct, "TIER_2", "200000.00", "1000000.00")
	wantProblem(t, upgrade(c, acct, "TIER_2", newNIN()), 409, "TIER_NOT_HIGHER")
	wantProblem(t, upgrade(c, acct, "TIER_1", newBVN()), 409, "TIER_NOT_HIGHER")
	wantTier(t, c, acct, "TIER_2")
	if n := tierChangeCount(t, st, acct); n != 1 {
		t.Errorf("%d audit rows, want 1", n)
	}
}

func TestTierUpgradeOwnerOnly(t *testing.T) {
	st := testenv.SharedStack(t)
	alice, reg := signUp(t, st)
	bob, _ := signUp(t, st)
	op := operator(t, st)
	acct := reg.Account.AccountNumber

	// Someone else's account is exactly a missing one; operators may read
	// any account but upgrade none.
	wantProblem(t, upgrade(bob, acct, "TIER_2", newNIN()), 404, "NOT_FOUND")
	wantProblem(t, upgrade(op, acct, "TIER_2", newNIN()), 404, "NOT_FOUND")
	wantProblem(t, upgrade(op, acct, "TIER_3", newIDCard()), 404, "NOT_FOUND")
	wantProblem(t, upgrade(bob, unknownAccount(), "TIER_2", newNIN()), 404, "NOT_FOUND")
	wantProblem(t, upgrade(bob, "0000000000", "TIER_2", newNIN()), 404, "NOT_FOUND")
	wantProblem(t, st.Client(t).Do("POST", "/accounts/"+acct+"/tier", tierBody("TIER_2", newNIN())), 401, "UNAUTHENTICATED")
	wantTier(t, alice, acct, "TIER_1")
	if n := tierChangeCount(t, st, acct); n != 0 {
		t.Errorf("%d audit rows, want 0", n)
	}
}

func TestTierUpgradeIdentityInUse(t *testing.T) {
	st := testenv.SharedStack(t)
	aliceNIN := newNIN()
	_, _ = signUpWith(t, st, aliceNIN)
	bob, reg := signUp(t, st)
	acct := reg.Account.AccountNumber

	p := wantProblem(t, upgrade(bob, acct, "TIER_2", aliceNIN), 409, "IDENTITY_IN_USE")
	if strings.Contains(p.Detail, aliceNIN.Number) {
		t.Errorf("problem detail %q echoes the number", p.Detail)
	}
	wantTier(t, bob, acct, "TIER_1")

	// An ID card someone else upgraded with is taken too.
	carol, creg := signUp(t, st)
	card := newIDCard()
	wantAccount(t, upgrade(carol, creg.Account.AccountNumber, "TIER_3", card), creg.Account.AccountNumber, "TIER_3", nil, nil)
	wantAccount(t, upgrade(bob, acct, "TIER_2", newBVN()), acct, "TIER_2", "200000.00", "1000000.00")
	wantProblem(t, upgrade(bob, acct, "TIER_3", card), 409, "IDENTITY_IN_USE")
	wantTier(t, bob, acct, "TIER_2")
}

func TestTierUpgradeValidation(t *testing.T) {
	st := testenv.SharedStack(t)
	c, reg := signUp(t, st)
	acct := reg.Account.AccountNumber
	path := "/accounts/" + acct + "/tier"

	cases := []struct {
		name  string
		body  any
		field string // "" when the problem names no field
	}{
		{"UnknownTier", tierBody("TIER_9", newNIN()), "tier"},
		{"LowercaseTier", tierBody("tier_2", newNIN()), "tier"},
		{"MissingTier", map[string]any{"kyc": newNIN()}, "tier"},
		{"PassportKYC", tierBody("TIER_2", kyc{Type: "PASSPORT", Number: "A12345678"}), "kyc.type"},
		{"MissingKYC", map[string]any{"tier": "TIER_2"}, "kyc.type"},
		{"MalformedNIN", tierBody("TIER_2", kyc{Type: "NIN", Number: "123"}), "kyc.number"},
		{"MalformedIDCard", tierBody("TIER_3", kyc{Type: "ID_CARD", Number: "A1234567"}), "kyc.number"},
		{"IDCardForTier2", tierBody("TIER_2", newIDCard()), "kyc.type"},
		{"NINForTier3", tierBody("TIER_3", newNIN()), "kyc.type"},
		{"UnknownField", map[string]any{"tier": "TIER_2", "kyc": newNIN(), "admin": true}, ""},
		{"UnknownKYCField", map[string]any{"tier": "TIER_2", "kyc": map[string]string{"type": "NIN", "number": newNIN().Number, "country": "NG"}}, ""},
		{"TierNumber", map[string]any{"tier": 2, "kyc": newNIN()}, ""},
		{"NotJSON", "tier=TIER_2", ""},
		{"Empty", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := wantProblem(t, c.Do("POST", path, tc.body), 400, "VALIDATION_FAILED")
			if tc.field != "" && p.Field != tc.field {
				t.Errorf("field = %q, want %q", p.Field, tc.field)
			}
		})
	}
	r := c.Do("POST", path, `{"tier":"TIER_2","kyc":{"type":"NIN","number":"12345678901"}}`, "Content-Type", "text/plain")
	if r.Status < 400 || r.Status >= 500 {
		t.Errorf("wrong content type: %d %s, want 4xx", r.Status, r.Body)
	}
	wantTier(t, c, acct, "TIER_1")
	if n := tierChangeCount(t, st, acct); n != 0 {
		t.Errorf("%d audit rows after malformed requests, want 0", n)
	}
}

func TestTierUpgradeLimitsApplyToNextTransfer(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)

	t.Run("SenderSingleLimit", func(t *testing.T) {
		alice, areg := signUp(t, st)
		_, breg := signUp(t, st)
		a, b := areg.Account.AccountNumber, breg.Account.AccountNumber
		deposit(t, op, a, "100000")

		body := transferReq(a, b, "60000.00", "rent")
		refusedKey := newKey("t1")
		wantProblem(t, send(alice, refusedKey, body), 422, "SINGLE_LIMIT_EXCEEDED")
		wantBalance(t, alice, a, "100000.00")

		wantAccount(t, upgrade(alice, a, "TIER_2", newBVN()), a, "TIER_2", "200000.00", "1000000.00")

		// The refusal sticks to its key; a new key is judged on the new tier.
		wantProblem(t, send(alice, refusedKey, body), 422, "SINGLE_LIMIT_EXCEEDED")
		tr := wantTransfer(t, send(alice, newKey("t2"), body), 201)
		if tr.Amount != "60000.00" || tr.FromAccount != a || tr.ToAccount != b {
			t.Errorf("transfer = %+v", tr)
		}
		wantBalance(t, alice, a, "40000.00")
		// TIER_2's own limit still holds.
		deposit(t, op, a, "200000")
		wantProblem(t, send(alice, newKey("t3"), transferReq(a, b, "200000.01", "")), 422, "SINGLE_LIMIT_EXCEEDED")
	})

	t.Run("ReceiverMaxBalance", func(t *testing.T) {
		carol, creg := signUp(t, st)
		acct := creg.Account.AccountNumber
		deposit(t, op, acct, "250000")

		body := map[string]string{"reference": newKey("dep"), "amount": "100000", "narration": "salary"}
		wantProblem(t, op.Do("POST", "/accounts/"+acct+"/deposits", body), 422, "RECEIVER_BALANCE_LIMIT")
		wantBalance(t, carol, acct, "250000.00")

		wantAccount(t, upgrade(carol, acct, "TIER_2", newNIN()), acct, "TIER_2", "200000.00", "1000000.00")

		wantProblem(t, op.Do("POST", "/accounts/"+acct+"/deposits", body), 422, "RECEIVER_BALANCE_LIMIT") // sticks
		body["reference"] = newKey("dep")
		wantTransfer(t, op.Do("POST", "/accounts/"+acct+"/deposits", body), 201)
		wantBalance(t, carol, acct, "350000.00")

		// And a transfer to her over TIER_1's max balance now lands too.
		dave, dreg := signUp(t, st)
		d := dreg.Account.AccountNumber
		deposit(t, op, d, "50000")
		wantTransfer(t, send(dave, newKey("t"), transferReq(d, acct, "50000", "")), 201)
		wantBalance(t, carol, acct, "400000.00")
	})
}

func TestTierUpgradeIdempotencyKey(t *testing.T) {
	st := testenv.SharedStack(t)
	c, reg := signUp(t, st)
	acct := reg.Account.AccountNumber
	key := newKey("tier")
	nin := newNIN()

	first := upgrade(c, acct, "TIER_2", nin, "Idempotency-Key", key)
	a1 := wantAccount(t, first, acct, "TIER_2", "200000.00", "1000000.00")
	// A retry of the request that succeeded: the same answer, not 409.
	again := upgrade(c, acct, "TIER_2", nin, "Idempotency-Key", key)
	a2 := wantAccount(t, again, acct, "TIER_2", "200000.00", "1000000.00")
	if a1 != a2 {
		t.Errorf("retry answered %+v, the first %+v", a2, a1)
	}
	if n := tierChangeCount(t, st, acct); n != 1 {
		t.Errorf("%d audit rows after a retried upgrade, want 1", n)
	}
	waitTierNotifications(t, st, reg.User.ID, acct, 1)

	// Without the key a repeat is a new request.
	wantProblem(t, upgrade(c, acct, "TIER_2", nin), 409, "TIER_NOT_HIGHER")
	// A new key for a real upgrade still works.
	wantAccount(t, upgrade(c, acct, "TIER_3", newIDCard(), "Idempotency-Key", newKey("tier")), acct, "TIER_3", nil, nil)
	waitTierNotifications(t, st, reg.User.ID, acct, 2)
	// A malformed key is refused.
	wantProblem(t, upgrade(c, acct, "TIER_3", newIDCard(), "Idempotency-Key", "has spaces in it"), 400, "VALIDATION_FAILED")
}

// A key does not let a request that is refused on its face reach the
// registry or record the submitted number for the caller: the answers are
// those of the same request without a key.
func TestTierUpgradeKeyedRefusalsClaimNothing(t *testing.T) {
	st := testenv.SharedStack(t)
	c, reg := signUp(t, st)
	acct := reg.Account.AccountNumber
	identities := func() int {
		return countRows(t, st, `SELECT count(*) FROM auth.identities WHERE user_id = $1`, reg.User.ID)
	}
	if n := identities(); n != 1 {
		t.Fatalf("%d identities after registration, want 1", n)
	}

	p := wantProblem(t, upgrade(c, acct, "TIER_2", newIDCard(), "Idempotency-Key", newKey("k")), 400, "VALIDATION_FAILED")
	if p.Field != "kyc.type" {
		t.Errorf("field = %q, want kyc.type", p.Field)
	}
	wantProblem(t, upgrade(c, acct, "TIER_1", newNIN(), "Idempotency-Key", newKey("k")), 409, "TIER_NOT_HIGHER")
	wantAccount(t, upgrade(c, acct, "TIER_2", newNIN(), "Idempotency-Key", newKey("k")), acct, "TIER_2", "200000.00", "1000000.00")
	// At TIER_2, a keyed TIER_2 with someone's NIN under a new key.
	victim := newNIN()
	wantProblem(t, upgrade(c, acct, "TIER_2", victim, "Idempotency-Key", newKey("k")), 409, "TIER_NOT_HIGHER")
	if n := identities(); n != 2 {
		t.Errorf("%d identities on file, want 2 (registration and the one upgrade): refused requests claimed evidence", n)
	}
	// The number stays free for its owner.
	signUpWith(t, st, victim)
}
