package bank

import (
	"bytes"
	"math"
	"testing"
)

// Boundaries of the contract's tiers, in kobo.
const (
	kobo       Money = 1
	tier1Limit Money = 50_000_00
	tier2Limit Money = 200_000_00
	tier1Max   Money = 300_000_00
	tier2Max   Money = 1_000_000_00
)

func TestCheckTransfer(t *testing.T) {
	// rich is a sender whose balance never decides; empty a receiver far
	// from any max balance.
	rich := func(tier Tier) Party { return Party{ID: 1, Tier: tier, Balance: 10_000_000_00} }
	empty := func(tier Tier) Party { return Party{ID: 2, Tier: tier} }
	system := Party{ID: 99, System: true, Tier: Tier3, Balance: -5_000_000_00}

	cases := []struct {
		name     string
		from, to Party
		amount   Money
		want     Code
	}{
		// SAME_ACCOUNT is checked first, whatever else is wrong.
		{"same account", Party{ID: 7, Tier: Tier1, Balance: 100_00}, Party{ID: 7, Tier: Tier1, Balance: 100_00}, 1_00, CodeSameAccount},
		{"same account over the single limit and short", Party{ID: 7, Tier: Tier1}, Party{ID: 7, Tier: Tier1, Balance: tier1Max}, tier1Limit + kobo, CodeSameAccount},
		{"same system account", system, system, 1_00, CodeSameAccount},

		// The sender's single transaction limit.
		{"TIER_1 at the single limit", rich(Tier1), empty(Tier3), tier1Limit, ""},
		{"TIER_1 one kobo over the single limit", rich(Tier1), empty(Tier3), tier1Limit + kobo, CodeSingleLimit},
		{"TIER_2 at the single limit", rich(Tier2), empty(Tier3), tier2Limit, ""},
		{"TIER_2 one kobo over the single limit", rich(Tier2), empty(Tier3), tier2Limit + kobo, CodeSingleLimit},
		{"TIER_3 has no single limit", rich(Tier3), empty(Tier3), 10_000_000_00, ""},
		{"the receiver's single limit does not apply", rich(Tier2), empty(Tier1), tier2Limit, ""},
		{"unknown sender tier gets TIER_1's limit", rich("TIER_9"), empty(Tier3), tier1Limit + kobo, CodeSingleLimit},

		// The sender's funds.
		{"balance equal to the amount", Party{ID: 1, Tier: Tier1, Balance: 12_345_67}, empty(Tier1), 12_345_67, ""},
		{"balance one kobo short", Party{ID: 1, Tier: Tier1, Balance: 12_345_66}, empty(Tier1), 12_345_67, CodeInsufficientFunds},
		{"empty sender", Party{ID: 1, Tier: Tier3}, empty(Tier3), kobo, CodeInsufficientFunds},

		// The receiver's max balance after the credit.
		{"TIER_1 receiver exactly at max after credit", rich(Tier3), Party{ID: 2, Tier: Tier1, Balance: tier1Max - 10_000_00}, 10_000_00, ""},
		{"TIER_1 receiver one kobo above max", rich(Tier3), Party{ID: 2, Tier: Tier1, Balance: tier1Max - 10_000_00 + kobo}, 10_000_00, CodeReceiverLimit},
		{"TIER_1 receiver already at max", rich(Tier3), Party{ID: 2, Tier: Tier1, Balance: tier1Max}, kobo, CodeReceiverLimit},
		{"TIER_2 receiver exactly at max after credit", rich(Tier3), Party{ID: 2, Tier: Tier2, Balance: tier2Max - 150_000_00}, 150_000_00, ""},
		{"TIER_2 receiver one kobo above max", rich(Tier3), Party{ID: 2, Tier: Tier2, Balance: tier2Max - 150_000_00}, 150_000_00 + kobo, CodeReceiverLimit},
		{"TIER_3 receiver has no max", rich(Tier3), Party{ID: 2, Tier: Tier3, Balance: 1_000_000_000_00}, 5_000_000_00, ""},
		{"the sender's max balance does not apply", Party{ID: 1, Tier: Tier1, Balance: tier1Max}, empty(Tier3), kobo, ""},

		// int64 overflow: a TIER_3 receiver holds any amount the ledger can hold, and no more.
		{"TIER_3 receiver up to MaxInt64", system, Party{ID: 2, Tier: Tier3, Balance: math.MaxInt64 - 100}, 100, ""},
		{"TIER_3 receiver past MaxInt64", system, Party{ID: 2, Tier: Tier3, Balance: math.MaxInt64 - 100}, 101, CodeReceiverLimit},
		{"TIER_3 receiver at MaxInt64", system, Party{ID: 2, Tier: Tier3, Balance: math.MaxInt64}, kobo, CodeReceiverLimit},

		// The system account: a deposit ignores the sender's limit and
		// funds, not the receiver's max balance.
		{"deposit above any single limit", system, empty(Tier1), tier1Max, ""},
		{"deposit beyond the system balance", Party{ID: 99, System: true, Tier: Tier1}, empty(Tier3), 1_000_000_000_00, ""},
		{"deposit one kobo above the receiver's max", system, Party{ID: 2, Tier: Tier1, Balance: tier1Max - 1_00}, 1_00 + kobo, CodeReceiverLimit},
		{"deposit to exactly the receiver's max", system, Party{ID: 2, Tier: Tier1, Balance: tier1Max - 1_00}, 1_00, ""},
		// A system receiver has no max balance, however much arrives.
		{"credit to the system account", rich(Tier3), Party{ID: 99, System: true, Tier: Tier1, Balance: math.MaxInt64 - 1}, 5_000_000_00, ""},

		// Order between the checks.
		{"single limit before funds", Party{ID: 1, Tier: Tier1, Balance: 0}, empty(Tier3), tier1Limit + kobo, CodeSingleLimit},
		{"single limit before the receiver's max", rich(Tier1), Party{ID: 2, Tier: Tier1, Balance: tier1Max}, tier1Limit + kobo, CodeSingleLimit},
		{"funds before the receiver's max", Party{ID: 1, Tier: Tier1, Balance: 10_00}, Party{ID: 2, Tier: Tier1, Balance: tier1Max}, 10_00 + kobo, CodeInsufficientFunds},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := CheckTransfer(c.from, c.to, c.amount); got != c.want {
				t.Errorf("CheckTransfer(%+v, %+v, %s) = %q, want %q", c.from, c.to, c.amount, got, c.want)
			}
		})
	}
}

func TestTransferRequestHash(t *testing.T) {
	base := TransferRequest{
		Kind: KindTransfer, KeyOwner: "6f1c2a7e-0d4b-4c55-9a51-2b7f1f0c9e11", Reference: "inv-2026-0001",
		FromAccount: "1234567897", ToAccount: "2345678907", Amount: 1_500_50, Narration: "rent",
		CreatedBy: "6f1c2a7e-0d4b-4c55-9a51-2b7f1f0c9e11",
	}
	h := base.Hash()
	if len(h) != 32 {
		t.Fatalf("hash is %d bytes, want a SHA-256 digest", len(h))
	}
	if again := base.Hash(); !bytes.Equal(h, again) {
		t.Fatal("the same request hashed twice gives two digests")
	}
	copyOf := base
	if !bytes.Equal(h, copyOf.Hash()) {
		t.Fatal("an equal request hashes differently")
	}

	// Every field of the request body changes the hash.
	differ := map[string]func(r *TransferRequest){
		"kind":         func(r *TransferRequest) { r.Kind = KindDeposit },
		"from account": func(r *TransferRequest) { r.FromAccount = "1234567806" },
		"to account":   func(r *TransferRequest) { r.ToAccount = "2345678915" },
		"amount":       func(r *TransferRequest) { r.Amount++ },
		"narration":    func(r *TransferRequest) { r.Narration = "rent " },
		"no narration": func(r *TransferRequest) { r.Narration = "" },
		// Length prefixes keep field boundaries: moving characters between
		// neighbouring fields is another request.
		"boundary shift": func(r *TransferRequest) { r.FromAccount, r.ToAccount = "123456789", "72345678907" },
		"swapped sides":  func(r *TransferRequest) { r.FromAccount, r.ToAccount = r.ToAccount, r.FromAccount },
	}
	seen := map[string]string{string(h): "base"}
	for name, change := range differ {
		r := base
		change(&r)
		got := r.Hash()
		if bytes.Equal(got, h) {
			t.Errorf("changing the %s leaves the hash unchanged", name)
		}
		if prev, dup := seen[string(got)]; dup {
			t.Errorf("changing the %s hashes like %s", name, prev)
		}
		seen[string(got)] = name
	}

	// The key (owner, reference) and who asked are not the body: the same
	// body under its key is a replay, and one deposit sent by two operators
	// is one deposit.
	same := map[string]func(r *TransferRequest){
		"key owner":  func(r *TransferRequest) { r.KeyOwner = SystemKeyOwner },
		"reference":  func(r *TransferRequest) { r.Reference = "another-ref" },
		"created by": func(r *TransferRequest) { r.CreatedBy = "7a2d3b8f-1e5c-4d66-8b62-3c8f2a1d0f22" },
	}
	for name, change := range same {
		r := base
		change(&r)
		if !bytes.Equal(r.Hash(), h) {
			t.Errorf("changing the %s changes the hash", name)
		}
	}
}

func TestCheckTransferSystemAccountCannotWrap(t *testing.T) {
	sys := Party{ID: 1, System: true, Tier: Tier3, Balance: Money(math.MinInt64) + 100}
	to := Party{ID: 2, Tier: Tier3}
	if got := CheckTransfer(sys, to, 100); got != "" {
		t.Fatalf("down to exactly MinInt64: %s, want allowed", got)
	}
	if got := CheckTransfer(sys, to, 101); got != CodeInsufficientFunds {
		t.Fatalf("past MinInt64: %q, want INSUFFICIENT_FUNDS (no wrap-around)", got)
	}
}

// TestCheckTransferDailyAndAvailable covers the rules issue 16 added: the
// daily debit limit (third in the contract's order) and funds checked
// against the available balance (balance less active holds).
func TestCheckTransferDailyAndAvailable(t *testing.T) {
	const (
		tier1Daily Money = 100_000_00
		tier2Daily Money = 500_000_00
	)
	rich := func(tier Tier, used Money) Party {
		return Party{ID: 1, Tier: tier, Balance: 10_000_000_00, DebitsToday: used}
	}
	empty := Party{ID: 2, Tier: Tier3}
	system := Party{ID: 99, System: true, Tier: Tier1, Balance: -5_000_000_00, DebitsToday: 1_000_000_000_00}

	cases := []struct {
		name     string
		from, to Party
		amount   Money
		want     Code
	}{
		// The daily limit: today's counted debits plus the amount.
		{"TIER_1 first debit of the day at the limit", rich(Tier1, 0), empty, tier1Limit, ""},
		{"TIER_1 reaches the daily limit exactly", rich(Tier1, tier1Daily-tier1Limit), empty, tier1Limit, ""},
		{"TIER_1 one kobo past the daily limit", rich(Tier1, tier1Daily-tier1Limit+kobo), empty, tier1Limit, CodeDailyLimit},
		{"TIER_1 at the daily limit already", rich(Tier1, tier1Daily), empty, kobo, CodeDailyLimit},
		{"TIER_2 reaches the daily limit exactly", rich(Tier2, tier2Daily-tier2Limit), empty, tier2Limit, ""},
		{"TIER_2 one kobo past the daily limit", rich(Tier2, tier2Daily-kobo), empty, 2 * kobo, CodeDailyLimit},
		{"TIER_3 has no daily limit", rich(Tier3, 1_000_000_000_00), empty, 10_000_000_00, ""},
		{"unknown tier gets TIER_1's daily limit", rich("TIER_9", tier1Daily), empty, kobo, CodeDailyLimit},
		// An upgrade applies at once to the same day's total: 150,000.00
		// used is over TIER_1's limit, not TIER_2's.
		{"after an upgrade the new limit applies to the day", rich(Tier2, 150_000_00), empty, tier2Limit, ""},
		{"the funding account has no daily limit", system, empty, tier1Max, ""},

		// Funds: against the available balance.
		{"available exactly the amount", Party{ID: 1, Tier: Tier1, Balance: 1_000_00, OnHold: 400_00}, empty, 600_00, ""},
		{"available one kobo short", Party{ID: 1, Tier: Tier1, Balance: 1_000_00, OnHold: 400_01}, empty, 600_00, CodeInsufficientFunds},
		{"everything on hold", Party{ID: 1, Tier: Tier3, Balance: 1_000_000_00, OnHold: 1_000_000_00}, empty, kobo, CodeInsufficientFunds},

		// The contract's order.
		{"same account before the daily limit", Party{ID: 1, Tier: Tier1, DebitsToday: tier1Daily}, Party{ID: 1, Tier: Tier1}, kobo, CodeSameAccount},
		{"single limit before the daily limit", rich(Tier1, tier1Daily), empty, tier1Limit + kobo, CodeSingleLimit},
		{"daily limit before funds", Party{ID: 1, Tier: Tier1, DebitsToday: tier1Daily}, empty, kobo, CodeDailyLimit},
		{"daily limit before the receiver's max", rich(Tier1, tier1Daily), Party{ID: 2, Tier: Tier1, Balance: tier1Max}, kobo, CodeDailyLimit},
		{"available funds before the receiver's max", Party{ID: 1, Tier: Tier1, Balance: 10_00, OnHold: 10_00}, Party{ID: 2, Tier: Tier1, Balance: tier1Max}, kobo, CodeInsufficientFunds},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := CheckTransfer(c.from, c.to, c.amount); got != c.want {
				t.Errorf("CheckTransfer(%+v, %+v, %s) = %q, want %q", c.from, c.to, c.amount, got, c.want)
			}
		})
	}
}

func TestCheckCredit(t *testing.T) {
	for _, c := range []struct {
		name   string
		to     Party
		amount Money
		want   Code
	}{
		{"TIER_1 to exactly its max", Party{Tier: Tier1, Balance: tier1Max - 5_00}, 5_00, ""},
		{"TIER_1 one kobo above its max", Party{Tier: Tier1, Balance: tier1Max - 5_00}, 5_00 + kobo, CodeReceiverLimit},
		// Holds do not count for the receiver's max: the balance does.
		{"a receiver's own holds do not make room", Party{Tier: Tier1, Balance: tier1Max, OnHold: 100_00}, kobo, CodeReceiverLimit},
		{"TIER_3 up to what int64 holds", Party{Tier: Tier3, Balance: math.MaxInt64 - 5}, 5, ""},
		{"TIER_3 past what int64 holds", Party{Tier: Tier3, Balance: math.MaxInt64 - 5}, 6, CodeReceiverLimit},
		{"the system account takes anything", Party{System: true, Tier: Tier1, Balance: math.MaxInt64}, 1_000_000_00, ""},
	} {
		if got := CheckCredit(c.to, c.amount); got != c.want {
			t.Errorf("%s: CheckCredit = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestTransferStatus(t *testing.T) {
	for _, c := range []struct {
		s            TransferStatus
		valid, final bool
	}{
		{StatusPending, true, false},
		{StatusPendingApproval, true, false},
		{StatusCompleted, true, true},
		{StatusFailed, true, true},
		{"", false, false},
		{"APPROVED", false, false},
		{"completed", false, false},
	} {
		if c.s.Valid() != c.valid || c.s.Final() != c.final {
			t.Errorf("%q: Valid %v Final %v, want %v %v", c.s, c.s.Valid(), c.s.Final(), c.valid, c.final)
		}
	}
}
