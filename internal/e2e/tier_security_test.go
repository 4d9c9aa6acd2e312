package e2e

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/bankcore/bank/internal/testenv"
)

// Issue 15, finding 3: 16 concurrent TIER_2 upgrades of one account, each
// with a different BVN, gave one 200 and fifteen 409 TIER_NOT_HIGHER, and
// the user then owned all 16 BVNs: a new customer registering with one of
// them got 409 IDENTITY_IN_USE. A refused upgrade now records none of the
// evidence it carried.
func TestTierUpgradeRacesClaimOnlyTheWinnersEvidence(t *testing.T) {
	st := testenv.SharedStack(t)
	c, reg := signUp(t, st)
	acct := reg.Account.AccountNumber
	const n = 16
	bvns := make([]kyc, n)
	answers := make([]testenv.Response, n)
	for i := range bvns {
		bvns[i] = newBVN()
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { answers[i] = upgrade(c, acct, "TIER_2", bvns[i]) })
	}
	wg.Wait()
	var refused []kyc
	for i, r := range answers {
		switch r.Status {
		case 200:
		case 409:
			wantProblem(t, r, 409, "TIER_NOT_HIGHER")
			refused = append(refused, bvns[i])
		default:
			t.Fatalf("upgrade %d: %d %s", i, r.Status, r.Body)
		}
	}
	if len(refused) != n-1 {
		t.Fatalf("%d upgrades refused, want %d (one wins)", len(refused), n-1)
	}
	wantTier(t, c, acct, "TIER_2")
	if got := countRows(t, st, `SELECT count(*) FROM auth.identities WHERE user_id = $1`, reg.User.ID); got != 2 {
		t.Errorf("the user holds %d identities, want 2 (registration's and the winner's)", got)
	}
	// Every refused number is free for the customer it belongs to.
	for _, k := range refused {
		signUpWith(t, st, k)
	}
}

// Issue 15, finding 3: the same with a slow upgrade (a registry that times
// out twice) racing a fast one: the slow one, refused, claims nothing.
func TestTierUpgradeSlowLoserClaimsNothing(t *testing.T) {
	st := testenv.SharedStack(t)
	c, reg := signUp(t, st)
	acct := reg.Account.AccountNumber
	slow := kyc{Type: "BVN", Number: fmt.Sprintf("%07d9999", rand.IntN(10_000_000))}
	fast := newNIN()
	slowDone := make(chan testenv.Response, 1)
	go func() { slowDone <- upgrade(c, acct, "TIER_2", slow) }()
	wantAccount(t, upgrade(c, acct, "TIER_2", fast), acct, "TIER_2", "200000.00", "1000000.00")
	if r := <-slowDone; r.Status != 200 {
		// The fast one won; had the slow one won, the fast one would have
		// been the refusal and the check below is the same.
		wantProblem(t, r, 409, "TIER_NOT_HIGHER")
		signUpWith(t, st, slow)
	} else {
		t.Logf("the slow upgrade won the race; checking the fast one's number instead")
		signUpWith(t, st, fast)
	}
}

// Issue 15, finding 4: a tier upgrade's Idempotency-Key follows the
// transfers' rule. The same key and body answer the first outcome again
// with Idempotent-Replayed: true (also after Temporal forgot the
// workflow); another body is 422 IDEMPOTENCY_KEY_REUSED; a stored refusal
// replays.
func TestTierUpgradeIdempotencyKeyRule(t *testing.T) {
	st := testenv.SharedStack(t)
	c, reg := signUp(t, st)
	acct := reg.Account.AccountNumber
	key, nin := newKey("tier"), newNIN()

	first := wantAccount(t, upgrade(c, acct, "TIER_2", nin, "Idempotency-Key", key), acct, "TIER_2", "200000.00", "1000000.00")
	again := upgrade(c, acct, "TIER_2", nin, "Idempotency-Key", key)
	if got := wantAccount(t, again, acct, "TIER_2", "200000.00", "1000000.00"); got != first {
		t.Errorf("replay answered %+v, the first %+v", got, first)
	}
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay without Idempotent-Replayed: true")
	}
	for name, body := range map[string][]any{
		"OtherNumber": {"TIER_2", newNIN()},
		"OtherTier":   {"TIER_3", newIDCard()},
	} {
		r := upgrade(c, acct, body[0].(string), body[1].(kyc), "Idempotency-Key", key)
		wantProblem(t, r, 422, "IDEMPOTENCY_KEY_REUSED")
		if r.Header.Get("Idempotent-Replayed") != "" {
			t.Errorf("%s: a refused reuse is marked replayed", name)
		}
	}
	if n := tierChangeCount(t, st, acct); n != 1 {
		t.Errorf("%d audit rows, want 1", n)
	}
	// Answered from Postgres once Temporal has forgotten the workflow.
	amnesia := c.WithBase(t, st.AddAPIWithAmnesia(t).URL)
	r := upgrade(amnesia, acct, "TIER_2", nin, "Idempotency-Key", key)
	wantAccount(t, r, acct, "TIER_2", "200000.00", "1000000.00")
	if r.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay after retention without Idempotent-Replayed: true")
	}
	wantProblem(t, upgrade(amnesia, acct, "TIER_2", newNIN(), "Idempotency-Key", key), 422, "IDEMPOTENCY_KEY_REUSED")

	// A refusal sticks to its key: the registry's no match, and a number
	// someone else holds.
	noMatch := kyc{Type: "ID_CARD", Number: fmt.Sprintf("QA%05d0000", rand.IntN(100_000))}
	k2 := newKey("tier")
	wantProblem(t, upgrade(c, acct, "TIER_3", noMatch, "Idempotency-Key", k2), 422, "KYC_FAILED")
	r = upgrade(c, acct, "TIER_3", noMatch, "Idempotency-Key", k2)
	wantProblem(t, r, 422, "KYC_FAILED")
	if r.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("replayed refusal without Idempotent-Replayed: true")
	}
	wantProblem(t, upgrade(c, acct, "TIER_3", newIDCard(), "Idempotency-Key", k2), 422, "IDEMPOTENCY_KEY_REUSED")

	other, oreg := signUp(t, st)
	taken := newIDCard()
	wantAccount(t, upgrade(other, oreg.Account.AccountNumber, "TIER_3", taken), oreg.Account.AccountNumber, "TIER_3", nil, nil)
	k3 := newKey("tier")
	wantProblem(t, upgrade(c, acct, "TIER_3", taken, "Idempotency-Key", k3), 409, "IDENTITY_IN_USE")
	r = upgrade(c, acct, "TIER_3", taken, "Idempotency-Key", k3)
	wantProblem(t, r, 409, "IDENTITY_IN_USE")
	if r.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("replayed IDENTITY_IN_USE without Idempotent-Replayed: true")
	}
	wantTier(t, c, acct, "TIER_2")
	// A new key with a good body still upgrades.
	wantAccount(t, upgrade(c, acct, "TIER_3", newIDCard(), "Idempotency-Key", newKey("tier")), acct, "TIER_3", nil, nil)
}
