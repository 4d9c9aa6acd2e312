package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bankcore/bank/bank"
)

// applyTier runs ApplyTierUpgrade for the owner of number with evidence k
// under request id.
func applyTier(ctx context.Context, userID, number, requestID string, target bank.Tier, k bank.KYC) (bank.Account, error) {
	return NewAccounts(testPool).ApplyTierUpgrade(ctx, bank.TierUpgrade{
		RequestID: requestID, AccountNumber: number, UserID: userID, Tier: target,
		EvidenceType: k.Type, EvidenceHMAC: bank.KYCDigest(tierTestKey, k),
		RequestHash: bank.TierRequestHash(tierTestKey, number, target, k),
	})
}

// holder is who holds evidence k ("" when nobody does).
func holder(ctx context.Context, t *testing.T, k bank.KYC) string {
	t.Helper()
	var owner *string
	err := testPool.QueryRow(ctx, `SELECT user_id::text FROM auth.identities WHERE kyc_type = $1 AND number_hmac = $2`,
		string(k.Type), bank.KYCDigest(tierTestKey, k)).Scan(&owner)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatal(err)
	}
	if owner == nil {
		return ""
	}
	return *owner
}

// Issue 15, finding 3: 16 concurrent TIER_2 upgrades of one account, each
// with a different BVN, gave one 200 and fifteen TIER_NOT_HIGHER, and the
// user then owned all 16 BVNs. The claim now happens under the same lock as
// the tier check: the winner's number is claimed, the others stay free.
func TestApplyTierUpgrade_ConcurrentUpgradesClaimOnlyTheWinnersEvidence(t *testing.T) {
	ctx := context.Background()
	user, number := tierCustomer(ctx, t, randomNIN())
	const n = 16
	bvns := make([]bank.KYC, n)
	errs := make([]error, n)
	for i := range bvns {
		bvns[i] = randomBVN()
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = applyTier(ctx, user, number, uuid.NewString(), bank.Tier2, bvns[i])
		})
	}
	close(start)
	wg.Wait()
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
			if got := holder(ctx, t, bvns[i]); got != user {
				t.Errorf("the winning BVN is held by %q, want the user", got)
			}
		case bank.ErrorCode(err) == bank.CodeTierNotHigher:
			if got := holder(ctx, t, bvns[i]); got != "" {
				t.Errorf("refused upgrade %d claimed its BVN (held by %s)", i, got)
			}
		default:
			t.Errorf("upgrade %d: %v", i, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d upgrades won, want exactly 1", winners)
	}
	if tierOf(ctx, t, number) != bank.Tier2 {
		t.Error("the account is not TIER_2")
	}
	// A new customer can register with any refused number.
	for i, err := range errs {
		if err != nil {
			if other, _ := tierCustomer(ctx, t, bvns[i]); holder(ctx, t, bvns[i]) != other {
				t.Errorf("BVN %d is not free for a new customer", i)
			}
			break
		}
	}
}

// A slow upgrade (a registry that took its time) that reaches the lock
// after a fast one finds the tier already raised: refused, nothing claimed.
func TestApplyTierUpgrade_SlowAfterFastClaimsNothing(t *testing.T) {
	ctx := context.Background()
	user, number := tierCustomer(ctx, t, randomNIN())
	fast, slow := randomBVN(), randomNIN()
	if _, err := applyTier(ctx, user, number, uuid.NewString(), bank.Tier2, fast); err != nil {
		t.Fatal(err)
	}
	_, err := applyTier(ctx, user, number, uuid.NewString(), bank.Tier2, slow)
	if bank.ErrorCode(err) != bank.CodeTierNotHigher {
		t.Fatalf("slow upgrade = %v, want TIER_NOT_HIGHER", err)
	}
	if got := holder(ctx, t, slow); got != "" {
		t.Errorf("the slow upgrade's NIN is held by %s", got)
	}
}

// Other refusals under the lock claim nothing either: a number someone
// holds, TIER_3 without a BVN or NIN on file, and a registry refusal.
func TestApplyTierUpgrade_RefusalsClaimNothing(t *testing.T) {
	ctx := context.Background()
	other, _ := tierCustomer(ctx, t, randomNIN())
	taken := randomBVN()
	claim(ctx, t, other, taken)

	user, number := tierCustomer(ctx, t, randomIDCard()) // no BVN or NIN on file
	_, err := applyTier(ctx, user, number, uuid.NewString(), bank.Tier2, taken)
	if bank.ErrorCode(err) != bank.CodeIdentityInUse || holder(ctx, t, taken) != other {
		t.Errorf("someone else's BVN: %v, held by %s", err, holder(ctx, t, taken))
	}
	card := randomIDCard()
	_, err = applyTier(ctx, user, number, uuid.NewString(), bank.Tier3, card)
	if bank.ErrorCode(err) != bank.CodeKYCFailed || holder(ctx, t, card) != "" {
		t.Errorf("TIER_3 without a BVN or NIN: %v, card held by %q", err, holder(ctx, t, card))
	}
	nin := randomNIN()
	_, err = NewAccounts(testPool).ApplyTierUpgrade(ctx, bank.TierUpgrade{
		RequestID: uuid.NewString(), AccountNumber: number, UserID: user, Tier: bank.Tier2,
		EvidenceType: nin.Type, EvidenceHMAC: bank.KYCDigest(tierTestKey, nin), RequestHash: []byte("h"),
		Refused: bank.CodeKYCFailed,
	})
	if bank.ErrorCode(err) != bank.CodeKYCFailed || holder(ctx, t, nin) != "" {
		t.Errorf("the registry's refusal: %v, NIN held by %q", err, holder(ctx, t, nin))
	}
	if tierOf(ctx, t, number) != bank.Tier1 || len(tierChanges(ctx, t, number)) != 0 {
		t.Error("a refused upgrade changed the tier")
	}
}

// Issue 15, finding 4: the outcome is stored with the request hash under
// the request id. The same request answers the same outcome, a refusal
// included; another request under the id is IDEMPOTENCY_KEY_REUSED.
func TestApplyTierUpgrade_OutcomeStoredUnderTheKey(t *testing.T) {
	ctx := context.Background()
	accounts := NewAccounts(testPool)
	user, number := tierCustomer(ctx, t, randomNIN())
	req, bvn := uuid.NewString(), randomBVN()

	first, err := applyTier(ctx, user, number, req, bank.Tier2, bvn)
	if err != nil || first.Tier != bank.Tier2 {
		t.Fatalf("first: %+v %v", first, err)
	}
	again, err := applyTier(ctx, user, number, req, bank.Tier2, bvn)
	if err != nil || again.Tier != bank.Tier2 || len(tierChanges(ctx, t, number)) != 1 {
		t.Errorf("same request again: %+v %v, %d audit rows", again, err, len(tierChanges(ctx, t, number)))
	}
	if _, err := applyTier(ctx, user, number, req, bank.Tier2, randomBVN()); bank.ErrorCode(err) != bank.CodeIdempotencyReused {
		t.Errorf("another body under the id: %v", err)
	}
	stored, err := accounts.TierOutcome(ctx, req)
	if err != nil || stored == nil || stored.Refusal != "" ||
		string(stored.RequestHash) != string(bank.TierRequestHash(tierTestKey, number, bank.Tier2, bvn)) {
		t.Errorf("TierOutcome = %+v, %v", stored, err)
	}

	// A refusal sticks to its id, even once its cause would be gone.
	refused, nin := uuid.NewString(), randomNIN()
	if _, err := applyTier(ctx, user, number, refused, bank.Tier2, nin); bank.ErrorCode(err) != bank.CodeTierNotHigher {
		t.Fatalf("TIER_2 again: %v", err)
	}
	if _, err := applyTier(ctx, user, number, refused, bank.Tier2, nin); bank.ErrorCode(err) != bank.CodeTierNotHigher {
		t.Errorf("the refusal again: %v", err)
	}
	if o, _ := accounts.TierOutcome(ctx, refused); o == nil || o.Refusal != bank.CodeTierNotHigher {
		t.Errorf("stored refusal = %+v", o)
	}
	if o, err := accounts.TierOutcome(ctx, uuid.NewString()); o != nil || err != nil {
		t.Errorf("unknown id: %+v %v", o, err)
	}
}

// A store failure before the commit leaves nothing behind: the claim and
// the upgrade are one transaction.
func TestApplyTierUpgrade_CancelledLeavesNothing(t *testing.T) {
	ctx := context.Background()
	user, number := tierCustomer(ctx, t, randomNIN())
	bvn := randomBVN()
	cctx, cancel := context.WithTimeout(ctx, time.Microsecond)
	defer cancel()
	<-cctx.Done()
	_, err := applyTier(cctx, user, number, uuid.NewString(), bank.Tier2, bvn)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled upgrade: %v", err)
	}
	if holder(ctx, t, bvn) != "" || tierOf(ctx, t, number) != bank.Tier1 {
		t.Error("a failed upgrade left a claim or a tier behind")
	}
}
