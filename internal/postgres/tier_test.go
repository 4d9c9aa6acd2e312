package postgres

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bankcore/bank/bank"
)

// The tier tests run against the package's test database (main_test.go),
// each with customers of its own.

var tierTestKey = []byte("tier-test-identity-key")

func randomNIN() bank.KYC {
	return bank.KYC{Type: bank.KYCNIN, Number: fmt.Sprintf("%011d", rand.Int64N(1e11))}
}

func randomBVN() bank.KYC {
	return bank.KYC{Type: bank.KYCBVN, Number: fmt.Sprintf("%011d", rand.Int64N(1e11))}
}

func randomIDCard() bank.KYC {
	return bank.KYC{Type: bank.KYCIDCard, Number: fmt.Sprintf("ZX%09d", rand.Int64N(1e9))}
}

// tierCustomer creates a customer registered with k and its default TIER_1
// account, as the registration workflow does.
func tierCustomer(ctx context.Context, t *testing.T, k bank.KYC) (userID, number string) {
	t.Helper()
	s := uuid.NewString()
	u, err := NewUsers(testPool).CreateCustomer(ctx, bank.NewCustomer{
		RegistrationID: "registration/" + s,
		Fingerprint:    []byte(s),
		Email:          "tier-" + s + "@example.com",
		FullName:       "Tier Tester",
		Phone:          "+2348012345678",
		PasswordHash:   "$2a$04$notarealhashbutlongenoughtolookthepartxxxxxxxxxxxxxxxx",
		KYCType:        k.Type,
		KYCNumberHMAC:  bank.KYCDigest(tierTestKey, k),
	})
	if err != nil {
		t.Fatalf("CreateCustomer: %v", err)
	}
	a, err := NewAccounts(testPool).ProvisionDefault(ctx, u.ID)
	if err != nil {
		t.Fatalf("ProvisionDefault: %v", err)
	}
	if a.Tier != bank.Tier1 {
		t.Fatalf("new account at %s, want TIER_1", a.Tier)
	}
	return u.ID, a.AccountNumber
}

func claim(ctx context.Context, t *testing.T, userID string, k bank.KYC) []bank.KYCType {
	t.Helper()
	types, err := NewUsers(testPool).ClaimEvidence(ctx, userID, bank.Tier2, k.Type, bank.KYCDigest(tierTestKey, k))
	if err != nil {
		t.Fatalf("ClaimEvidence(%s): %v", k.Type, err)
	}
	return types
}

func tierOf(ctx context.Context, t *testing.T, number string) bank.Tier {
	t.Helper()
	a, err := NewAccounts(testPool).ByNumber(ctx, number)
	if err != nil {
		t.Fatalf("ByNumber(%s): %v", number, err)
	}
	return a.Tier
}

type tierChangeRow struct {
	RequestID    string
	FromTier     string
	ToTier       string
	EvidenceType string
	ChangedBy    string
	CreatedAt    time.Time
	AsText       string // the whole row as text, to look for the number
}

// tierChanges lists an account's audit rows, oldest first.
func tierChanges(ctx context.Context, t *testing.T, number string) []tierChangeRow {
	t.Helper()
	return queryRows[tierChangeRow](ctx, t, `
		SELECT c.request_id::text, c.from_tier, c.to_tier, c.evidence_type, c.changed_by::text, c.created_at, c::text
		FROM ledger.tier_changes c JOIN ledger.accounts a ON a.id = c.account_id
		WHERE a.account_number = $1 ORDER BY c.id`, number)
}

func countTierChanges(ctx context.Context, t *testing.T, requestID string) int {
	t.Helper()
	var n int
	if err := testPool.QueryRow(ctx, `SELECT count(*) FROM ledger.tier_changes WHERE request_id = $1`, requestID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// wantNoNumber insists the audit row holds neither the KYC number nor its
// digest, in any column.
func wantNoNumber(t *testing.T, row tierChangeRow, k bank.KYC) {
	t.Helper()
	digest := hex.EncodeToString(bank.KYCDigest(tierTestKey, k))
	if strings.Contains(row.AsText, k.Number) || strings.Contains(strings.ToLower(row.AsText), digest) {
		t.Errorf("audit row %s holds the %s number or its digest", row.AsText, k.Type)
	}
}

func TestTierChangesTableHoldsNoNumber(t *testing.T) {
	ctx := ledgerCtx(t)
	rows, err := testPool.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = 'ledger' AND table_name = 'tier_changes' ORDER BY column_name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, name)
		if typ == "bytea" || strings.Contains(name, "number") || strings.Contains(name, "hmac") || strings.Contains(name, "kyc") {
			t.Errorf("ledger.tier_changes has column %s (%s), which could hold the evidence number", name, typ)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// seq orders the change among the account's acceptances (the daily
	// limit audit, migration 00016).
	want := []string{"account_id", "changed_by", "created_at", "evidence_type", "from_tier", "id", "request_id", "seq", "to_tier"}
	if !slices.Equal(cols, want) {
		t.Errorf("ledger.tier_changes columns = %v, want %v (who, when, evidence type; never the number)", cols, want)
	}
}

func TestUpgradeTier_RaisesTierAndAudits(t *testing.T) {
	ctx := ledgerCtx(t)
	store := NewAccounts(testPool)
	nin, card := randomNIN(), randomIDCard()
	user, number := tierCustomer(ctx, t, nin)
	before := time.Now()

	// TIER_1 → TIER_2 on the NIN.
	req2 := uuid.NewString()
	a, err := store.UpgradeTier(ctx, bank.TierUpgrade{
		RequestID: req2, AccountNumber: number, UserID: user, Tier: bank.Tier2,
		EvidenceType: bank.KYCNIN, EvidenceOnFile: claim(ctx, t, user, nin),
	})
	if err != nil {
		t.Fatalf("UpgradeTier to TIER_2: %v", err)
	}
	if a.Tier != bank.Tier2 || a.AccountNumber != number || a.OwnerID != user {
		t.Fatalf("UpgradeTier returned %+v, want %s at TIER_2 owned by %s", a, number, user)
	}
	if got := tierOf(ctx, t, number); got != bank.Tier2 {
		t.Fatalf("stored tier = %s, want TIER_2", got)
	}
	changes := tierChanges(ctx, t, number)
	if len(changes) != 1 {
		t.Fatalf("%d audit rows, want 1: %+v", len(changes), changes)
	}
	c := changes[0]
	if c.RequestID != req2 || c.FromTier != "TIER_1" || c.ToTier != "TIER_2" || c.EvidenceType != "NIN" || c.ChangedBy != user {
		t.Errorf("audit row = %+v, want request %s TIER_1→TIER_2 on NIN by %s", c, req2, user)
	}
	if c.CreatedAt.Before(before.Add(-time.Minute)) || c.CreatedAt.After(time.Now().Add(time.Minute)) {
		t.Errorf("audit row written at %v, want about now", c.CreatedAt)
	}
	wantNoNumber(t, c, nin)

	// TIER_2 → TIER_3 on an ID card, the NIN on file.
	onFile := claim(ctx, t, user, card)
	if !slices.Equal(onFile, []bank.KYCType{bank.KYCIDCard, bank.KYCNIN}) {
		t.Fatalf("evidence on file = %v, want [ID_CARD NIN]", onFile)
	}
	req3 := uuid.NewString()
	a, err = store.UpgradeTier(ctx, bank.TierUpgrade{
		RequestID: req3, AccountNumber: number, UserID: user, Tier: bank.Tier3,
		EvidenceType: bank.KYCIDCard, EvidenceOnFile: onFile,
	})
	if err != nil || a.Tier != bank.Tier3 {
		t.Fatalf("UpgradeTier to TIER_3 = %+v, %v", a, err)
	}
	if got := tierOf(ctx, t, number); got != bank.Tier3 {
		t.Fatalf("stored tier = %s, want TIER_3", got)
	}
	changes = tierChanges(ctx, t, number)
	if len(changes) != 2 {
		t.Fatalf("%d audit rows, want 2: %+v", len(changes), changes)
	}
	c = changes[1]
	if c.RequestID != req3 || c.FromTier != "TIER_2" || c.ToTier != "TIER_3" || c.EvidenceType != "ID_CARD" || c.ChangedBy != user {
		t.Errorf("audit row = %+v, want request %s TIER_2→TIER_3 on ID_CARD by %s", c, req3, user)
	}
	wantNoNumber(t, c, card)
	wantNoNumber(t, c, nin)

	// A TIER_3 account has no limits.
	if l := a.Tier.Limits(); l.SingleTransaction != nil || l.MaxBalance != nil {
		t.Errorf("TIER_3 limits = %+v, want unlimited", l)
	}
}

func TestUpgradeTier_DirectToTier3(t *testing.T) {
	ctx := ledgerCtx(t)
	store := NewAccounts(testPool)

	// A customer registered with a BVN may go straight to TIER_3 on an ID card.
	user, number := tierCustomer(ctx, t, randomBVN())
	onFile := claim(ctx, t, user, randomIDCard())
	a, err := store.UpgradeTier(ctx, bank.TierUpgrade{
		RequestID: uuid.NewString(), AccountNumber: number, UserID: user, Tier: bank.Tier3,
		EvidenceType: bank.KYCIDCard, EvidenceOnFile: onFile,
	})
	if err != nil || a.Tier != bank.Tier3 {
		t.Fatalf("UpgradeTier TIER_1→TIER_3 = %+v, %v", a, err)
	}
	if ch := tierChanges(ctx, t, number); len(ch) != 1 || ch[0].FromTier != "TIER_1" || ch[0].ToTier != "TIER_3" {
		t.Errorf("audit rows = %+v, want one TIER_1→TIER_3", ch)
	}

	// One registered with an ID card has no BVN or NIN on file: KYC_FAILED,
	// nothing written.
	user, number = tierCustomer(ctx, t, randomIDCard())
	onFile = claim(ctx, t, user, randomIDCard())
	req := uuid.NewString()
	_, err = store.UpgradeTier(ctx, bank.TierUpgrade{
		RequestID: req, AccountNumber: number, UserID: user, Tier: bank.Tier3,
		EvidenceType: bank.KYCIDCard, EvidenceOnFile: onFile,
	})
	ledgerWantCode(t, err, bank.CodeKYCFailed)
	if got := tierOf(ctx, t, number); got != bank.Tier1 {
		t.Errorf("tier after KYC_FAILED = %s, want TIER_1", got)
	}
	if n := countTierChanges(ctx, t, req); n != 0 {
		t.Errorf("%d audit rows after KYC_FAILED, want 0", n)
	}

	// Evidence of the wrong kind: VALIDATION_FAILED, nothing written.
	_, err = store.UpgradeTier(ctx, bank.TierUpgrade{
		RequestID: req, AccountNumber: number, UserID: user, Tier: bank.Tier2,
		EvidenceType: bank.KYCIDCard, EvidenceOnFile: onFile,
	})
	ledgerWantCode(t, err, bank.CodeValidation)
	if got, n := tierOf(ctx, t, number), countTierChanges(ctx, t, req); got != bank.Tier1 || n != 0 {
		t.Errorf("after VALIDATION_FAILED tier %s and %d audit rows, want TIER_1 and none", got, n)
	}
}

func TestUpgradeTier_IdempotentByRequestID(t *testing.T) {
	ctx := ledgerCtx(t)
	store := NewAccounts(testPool)
	nin := randomNIN()
	user, number := tierCustomer(ctx, t, nin)
	in := bank.TierUpgrade{
		RequestID: uuid.NewString(), AccountNumber: number, UserID: user, Tier: bank.Tier2,
		EvidenceType: bank.KYCNIN, EvidenceOnFile: claim(ctx, t, user, nin),
	}
	first, err := store.UpgradeTier(ctx, in)
	if err != nil {
		t.Fatalf("first UpgradeTier: %v", err)
	}
	// A retried activity: the account as it is, not TIER_NOT_HIGHER.
	again, err := store.UpgradeTier(ctx, in)
	if err != nil {
		t.Fatalf("retried UpgradeTier: %v", err)
	}
	if again != first {
		t.Errorf("retry returned %+v, the first call %+v", again, first)
	}
	if n := countTierChanges(ctx, t, in.RequestID); n != 1 {
		t.Errorf("%d audit rows for the request, want 1", n)
	}
	if n := len(tierChanges(ctx, t, number)); n != 1 {
		t.Errorf("%d audit rows for the account, want 1", n)
	}
}

func TestUpgradeTier_NotHigher(t *testing.T) {
	ctx := ledgerCtx(t)
	store := NewAccounts(testPool)
	nin := randomNIN()
	user, number := tierCustomer(ctx, t, nin)
	onFile := claim(ctx, t, user, nin)

	// Same tier.
	req := uuid.NewString()
	_, err := store.UpgradeTier(ctx, bank.TierUpgrade{
		RequestID: req, AccountNumber: number, UserID: user, Tier: bank.Tier1, EvidenceType: bank.KYCNIN, EvidenceOnFile: onFile,
	})
	ledgerWantCode(t, err, bank.CodeTierNotHigher)
	if got, n := tierOf(ctx, t, number), countTierChanges(ctx, t, req); got != bank.Tier1 || n != 0 {
		t.Errorf("after TIER_NOT_HIGHER tier %s and %d audit rows, want TIER_1 and none", got, n)
	}

	// Lower, after an upgrade.
	if _, err := store.UpgradeTier(ctx, bank.TierUpgrade{
		RequestID: uuid.NewString(), AccountNumber: number, UserID: user, Tier: bank.Tier2, EvidenceType: bank.KYCNIN, EvidenceOnFile: onFile,
	}); err != nil {
		t.Fatal(err)
	}
	for _, target := range []bank.Tier{bank.Tier1, bank.Tier2} {
		req := uuid.NewString()
		_, err := store.UpgradeTier(ctx, bank.TierUpgrade{
			RequestID: req, AccountNumber: number, UserID: user, Tier: target, EvidenceType: bank.KYCNIN, EvidenceOnFile: onFile,
		})
		ledgerWantCode(t, err, bank.CodeTierNotHigher)
		if got, n := tierOf(ctx, t, number), countTierChanges(ctx, t, req); got != bank.Tier2 || n != 0 {
			t.Errorf("after TIER_NOT_HIGHER (%s) tier %s and %d audit rows, want TIER_2 and none", target, got, n)
		}
	}
	if n := len(tierChanges(ctx, t, number)); n != 1 {
		t.Errorf("%d audit rows, want the one upgrade", n)
	}
}

func TestUpgradeTier_SomeoneElsesAccount(t *testing.T) {
	ctx := ledgerCtx(t)
	store := NewAccounts(testPool)
	owner, number := tierCustomer(ctx, t, randomNIN())
	nin := randomNIN()
	other, _ := tierCustomer(ctx, t, nin)
	onFile := claim(ctx, t, other, nin)

	for name, acct := range map[string]string{
		"another user's": number,
		"unknown":        "9" + fmt.Sprintf("%09d", rand.IntN(1e9)),
		"system":         SystemAccountNumber,
		"malformed":      "12345",
	} {
		t.Run(name, func(t *testing.T) {
			req := uuid.NewString()
			_, err := store.UpgradeTier(ctx, bank.TierUpgrade{
				RequestID: req, AccountNumber: acct, UserID: other, Tier: bank.Tier2, EvidenceType: bank.KYCNIN, EvidenceOnFile: onFile,
			})
			ledgerWantCode(t, err, bank.CodeNotFound)
			if n := countTierChanges(ctx, t, req); n != 0 {
				t.Errorf("%d audit rows, want none", n)
			}
		})
	}
	if got := tierOf(ctx, t, number); got != bank.Tier1 {
		t.Errorf("the owner's (%s) account is at %s, want TIER_1", owner, got)
	}
}

func TestUpgradeTier_ConcurrentRequestsOneWins(t *testing.T) {
	ctx := ledgerCtx(t)
	store := NewAccounts(testPool)
	const accounts, racers = 8, 4
	for i := 0; i < accounts; i++ {
		nin := randomNIN()
		user, number := tierCustomer(ctx, t, nin)
		onFile := claim(ctx, t, user, nin)

		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, racers)
		reqs := make([]string, racers)
		for r := range racers {
			reqs[r] = uuid.NewString()
			wg.Go(func() {
				<-start
				_, errs[r] = store.UpgradeTier(ctx, bank.TierUpgrade{
					RequestID: reqs[r], AccountNumber: number, UserID: user, Tier: bank.Tier2,
					EvidenceType: bank.KYCNIN, EvidenceOnFile: onFile,
				})
			})
		}
		close(start)
		wg.Wait()

		won := 0
		for r, err := range errs {
			switch bank.ErrorCode(err) {
			case "":
				won++
				if n := countTierChanges(ctx, t, reqs[r]); n != 1 {
					t.Errorf("account %s: the winner has %d audit rows, want 1", number, n)
				}
			case bank.CodeTierNotHigher:
			default:
				t.Errorf("account %s: racer %d: %v, want success or TIER_NOT_HIGHER", number, r, err)
			}
		}
		if won != 1 {
			t.Errorf("account %s: %d upgrades succeeded, want exactly 1 (%v)", number, won, errs)
		}
		if ch := tierChanges(ctx, t, number); len(ch) != 1 || ch[0].FromTier != "TIER_1" || ch[0].ToTier != "TIER_2" {
			t.Errorf("account %s: audit rows %+v, want one TIER_1→TIER_2", number, ch)
		}
		if got := tierOf(ctx, t, number); got != bank.Tier2 {
			t.Errorf("account %s at %s, want TIER_2", number, got)
		}
	}
}

func TestClaimEvidence(t *testing.T) {
	ctx := ledgerCtx(t)
	users := NewUsers(testPool)
	nin, card, bvn := randomNIN(), randomIDCard(), randomBVN()
	user, _ := tierCustomer(ctx, t, nin)

	// The evidence registered with is on file; claiming it again is no error.
	if got := claim(ctx, t, user, nin); !slices.Equal(got, []bank.KYCType{bank.KYCNIN}) {
		t.Errorf("on file after re-claiming the NIN = %v, want [NIN]", got)
	}
	if got := claim(ctx, t, user, card); !slices.Equal(got, []bank.KYCType{bank.KYCIDCard, bank.KYCNIN}) {
		t.Errorf("on file after an ID card = %v, want [ID_CARD NIN]", got)
	}
	if got := claim(ctx, t, user, card); !slices.Equal(got, []bank.KYCType{bank.KYCIDCard, bank.KYCNIN}) {
		t.Errorf("on file after the same ID card again = %v, want [ID_CARD NIN]", got)
	}
	if got := claim(ctx, t, user, bvn); !slices.Equal(got, []bank.KYCType{bank.KYCBVN, bank.KYCIDCard, bank.KYCNIN}) {
		t.Errorf("on file after a BVN = %v, want [BVN ID_CARD NIN]", got)
	}

	// Another user's numbers: IDENTITY_IN_USE, and nothing recorded for the
	// claimant.
	otherNIN := randomNIN()
	other, _ := tierCustomer(ctx, t, otherNIN)
	for _, k := range []bank.KYC{nin, card, bvn} {
		_, err := users.ClaimEvidence(ctx, other, bank.Tier2, k.Type, bank.KYCDigest(tierTestKey, k))
		ledgerWantCode(t, err, bank.CodeIdentityInUse)
		if strings.Contains(err.Error(), k.Number) {
			t.Errorf("error %q carries the number", err)
		}
	}
	if got := claim(ctx, t, other, otherNIN); !slices.Equal(got, []bank.KYCType{bank.KYCNIN}) {
		t.Errorf("the refused claimant holds %v, want only its own [NIN]", got)
	}
	var holder string
	if err := testPool.QueryRow(ctx, `SELECT user_id::text FROM auth.identities WHERE kyc_type = 'ID_CARD' AND number_hmac = $1`,
		bank.KYCDigest(tierTestKey, card)).Scan(&holder); err != nil || holder != user {
		t.Errorf("the ID card is held by %q (%v), want %s", holder, err, user)
	}
}

// A TIER_3 request from a user without a BVN or NIN is refused before the
// ID card is recorded: a refusal must not let anyone claim other people's
// card numbers.
func TestClaimEvidenceRefusedClaimsNothing(t *testing.T) {
	ctx := ledgerCtx(t)
	users := NewUsers(testPool)
	ownCard, otherCard := randomIDCard(), randomIDCard()
	user, _ := tierCustomer(ctx, t, ownCard)

	_, err := users.ClaimEvidence(ctx, user, bank.Tier3, otherCard.Type, bank.KYCDigest(tierTestKey, otherCard))
	ledgerWantCode(t, err, bank.CodeKYCFailed)
	var n int
	if err := testPool.QueryRow(ctx, `SELECT count(*) FROM auth.identities WHERE number_hmac = $1`,
		bank.KYCDigest(tierTestKey, otherCard)).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d identities recorded for the refused card (%v), want 0", n, err)
	}
	// With a NIN on file the same card is accepted for TIER_3.
	claim(ctx, t, user, randomNIN())
	if _, err := users.ClaimEvidence(ctx, user, bank.Tier3, otherCard.Type, bank.KYCDigest(tierTestKey, otherCard)); err != nil {
		t.Fatalf("ClaimEvidence with a NIN on file: %v", err)
	}
}
