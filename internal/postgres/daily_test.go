package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bankcore/bank/bank"
)

// testClock is a clock a test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock(t time.Time) *testClock { return &testClock{t: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// lagosMidnight is the start of a Lagos day far from the real date, so a
// test's days are its own: 00:00 WAT on 2031-03-<day>.
func lagosMidnight(day int) time.Time { return time.Date(2031, 3, day, 0, 0, 0, 0, bank.Lagos) }

// upgrade raises an account's tier the way the tier workflow does (the
// evidence taken as verified), so the change is in ledger.tier_changes.
func upgrade(ctx context.Context, t *testing.T, number, owner string, tier bank.Tier) {
	t.Helper()
	in := bank.TierUpgrade{RequestID: uuid.NewString(), AccountNumber: number, UserID: owner, Tier: tier,
		EvidenceType: bank.KYCNIN, EvidenceOnFile: []bank.KYCType{bank.KYCNIN}}
	if tier == bank.Tier3 {
		in.EvidenceType, in.EvidenceOnFile = bank.KYCIDCard, []bank.KYCType{bank.KYCNIN, bank.KYCIDCard}
	}
	if _, err := NewAccounts(testPool).UpgradeTier(ctx, in); err != nil {
		t.Fatalf("UpgradeTier(%s, %s): %v", number, tier, err)
	}
}

// account reads an account as GET /accounts shows it, on the clock's day.
func account(ctx context.Context, t *testing.T, number string, opts ...Option) bank.Account {
	t.Helper()
	a, err := NewAccounts(testPool, opts...).ByNumber(ctx, number)
	if err != nil {
		t.Fatalf("ByNumber(%s): %v", number, err)
	}
	return a
}

func wantRefused(t *testing.T, tr bank.Transfer, code bank.Code) {
	t.Helper()
	if tr.Status != bank.StatusFailed || tr.FailureCode != code {
		t.Fatalf("transfer %s %s (%s), want FAILED %s", tr.Reference, tr.Status, tr.FailureCode, code)
	}
}

func TestLedger_DailyLimit(t *testing.T) {
	t.Run("TIER_1 up to its limit and not a kobo more", func(t *testing.T) {
		ctx := ledgerCtx(t)
		clock := newTestClock(lagosMidnight(3).Add(9 * time.Hour))
		l := NewLedger(testPool, WithClock(clock.Now))
		a, ua := ledgerAccount(ctx, t)
		b, _ := ledgerAccount(ctx, t)
		fund(ctx, t, l, a, 250_000_00)

		mustPost(ctx, t, l, transferRequest(ua, a, b, 50_000_00), bank.StatusCompleted)
		mustPost(ctx, t, l, transferRequest(ua, a, b, 49_999_99), bank.StatusCompleted)
		overReq := transferRequest(ua, a, b, 2)
		over := mustPost(ctx, t, l, overReq, bank.StatusFailed)
		wantRefused(t, over, bank.CodeDailyLimit)
		mustPost(ctx, t, l, transferRequest(ua, a, b, 1), bank.StatusCompleted) // exactly the limit
		wantRefused(t, mustPost(ctx, t, l, transferRequest(ua, a, b, 1), bank.StatusFailed), bank.CodeDailyLimit)

		acc := account(ctx, t, a, WithClock(clock.Now))
		if acc.DailyDebitUsed != 100_000_00 || acc.Balance != 150_000_00 || acc.AvailableBalance != 150_000_00 {
			t.Errorf("account = %+v, want 100000.00 used of the day and 150000.00 left", acc)
		}
		// A refusal stays refused (and does not count), whatever happens next.
		sameTransfer(t, mustPost(ctx, t, l, overReq, bank.StatusFailed), over)
		cleanAudit(ctx, t)
	})

	t.Run("what counts", func(t *testing.T) {
		ctx := ledgerCtx(t)
		clock := newTestClock(lagosMidnight(4).Add(12 * time.Hour))
		l := NewLedger(testPool, WithClock(clock.Now))
		a, ua := ledgerAccount(ctx, t)
		b, ub := ledgerAccount(ctx, t)
		fund(ctx, t, l, a, 200_000_00)
		fund(ctx, t, l, b, 200_000_00)

		// Deposits and incoming transfers never count.
		mustPost(ctx, t, l, transferRequest(ub, b, a, 40_000_00), bank.StatusCompleted)
		if used := account(ctx, t, a, WithClock(clock.Now)).DailyDebitUsed; used != 0 {
			t.Errorf("a receiver's daily_debit_used = %s, want 0", used)
		}
		// Refusals do not count either.
		wantRefused(t, mustPost(ctx, t, l, transferRequest(ua, a, b, 50_000_01), bank.StatusFailed), bank.CodeSingleLimit)
		wantRefused(t, mustPost(ctx, t, l, transferRequest(ua, a, a, 10_00), bank.StatusFailed), bank.CodeSameAccount)
		if used := account(ctx, t, a, WithClock(clock.Now)).DailyDebitUsed; used != 0 {
			t.Errorf("daily_debit_used after refusals = %s, want 0", used)
		}
		mustPost(ctx, t, l, transferRequest(ua, a, b, 30_000_00), bank.StatusCompleted)
		if used := account(ctx, t, a, WithClock(clock.Now)).DailyDebitUsed; used != 30_000_00 {
			t.Errorf("daily_debit_used = %s, want 30000.00", used)
		}
		if used := account(ctx, t, b, WithClock(clock.Now)).DailyDebitUsed; used != 40_000_00 {
			t.Errorf("the other side's daily_debit_used = %s, want its own 40000.00", used)
		}
		cleanAudit(ctx, t)
	})

	// A tier upgrade applies at once to the same day's total.
	t.Run("upgrade raises the limit of the same day", func(t *testing.T) {
		ctx := ledgerCtx(t)
		clock := newTestClock(lagosMidnight(5).Add(10 * time.Hour))
		l := NewLedger(testPool, WithClock(clock.Now))
		a, ua := ledgerAccount(ctx, t)
		b, _ := ledgerAccount(ctx, t)
		fund(ctx, t, l, a, 300_000_00)
		mustPost(ctx, t, l, transferRequest(ua, a, b, 50_000_00), bank.StatusCompleted)
		mustPost(ctx, t, l, transferRequest(ua, a, b, 50_000_00), bank.StatusCompleted)
		wantRefused(t, mustPost(ctx, t, l, transferRequest(ua, a, b, 1_00), bank.StatusFailed), bank.CodeDailyLimit)

		upgrade(ctx, t, a, ua, bank.Tier2)
		mustPost(ctx, t, l, transferRequest(ua, a, b, 200_000_00), bank.StatusCompleted)
		if used := account(ctx, t, a, WithClock(clock.Now)).DailyDebitUsed; used != 300_000_00 {
			t.Errorf("daily_debit_used = %s, want 300000.00", used)
		}
		// The audit reads each acceptance against the tier of its time:
		// 300,000.00 in the day is over TIER_1's limit but was reached
		// under TIER_2.
		cleanAudit(ctx, t)
	})

	// Lagos midnight with the injected clock: the last microsecond of one
	// day and the first of the next.
	t.Run("midnight", func(t *testing.T) {
		ctx := ledgerCtx(t)
		midnight := lagosMidnight(7)
		clock := newTestClock(midnight.Add(-time.Microsecond))
		on := WithClock(clock.Now)
		l := NewLedger(testPool, on)
		a, ua := ledgerAccount(ctx, t)
		b, _ := ledgerAccount(ctx, t)
		fund(ctx, t, l, a, 250_000_00)

		mustPost(ctx, t, l, transferRequest(ua, a, b, 50_000_00), bank.StatusCompleted)
		mustPost(ctx, t, l, transferRequest(ua, a, b, 50_000_00), bank.StatusCompleted)
		wantRefused(t, mustPost(ctx, t, l, transferRequest(ua, a, b, 1), bank.StatusFailed), bank.CodeDailyLimit)
		if used := account(ctx, t, a, on).DailyDebitUsed; used != 100_000_00 {
			t.Errorf("at 23:59:59.999999 daily_debit_used = %s, want 100000.00", used)
		}

		clock.Set(midnight) // 00:00 in Lagos, 23:00 UTC the evening before
		if used := account(ctx, t, a, on).DailyDebitUsed; used != 0 {
			t.Errorf("at midnight daily_debit_used = %s, want 0 (a new day)", used)
		}
		next := mustPost(ctx, t, l, transferRequest(ua, a, b, 50_000_00), bank.StatusCompleted)
		if got := next.CreatedAt.UTC(); !got.Equal(midnight) {
			t.Errorf("created_at = %s, want the clock's %s", got, midnight.UTC())
		}
		if used := account(ctx, t, a, on).DailyDebitUsed; used != 50_000_00 {
			t.Errorf("after midnight daily_debit_used = %s, want 50000.00", used)
		}
		var days []string
		rows, err := testPool.Query(ctx, `SELECT accepted_day::text FROM ledger.transfers t
			JOIN ledger.accounts a ON a.id = t.from_account_id WHERE a.account_number = $1 AND t.status = 'COMPLETED' ORDER BY t.seq`, a)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var d string
			if err := rows.Scan(&d); err != nil {
				t.Fatal(err)
			}
			days = append(days, d)
		}
		if fmt.Sprint(days) != "[2031-03-06 2031-03-06 2031-03-07]" {
			t.Errorf("accepted days = %v, want two on 2031-03-06 and one on 2031-03-07", days)
		}
		cleanAudit(ctx, t)
	})
}

// TestLedger_DailyLimitConcurrent sends many transfers below the limit
// from one account at once: the check and the counter are under the
// sender's row lock, so exactly ⌊limit/amount⌋ get through, whatever the
// interleaving, and the rest are DAILY_LIMIT_EXCEEDED.
func TestLedger_DailyLimitConcurrent(t *testing.T) {
	cases := []struct {
		name      string
		tier      bank.Tier
		amount    bank.Money
		funding   bank.Money
		n         int
		threshold bank.Money // held transfers count against the day too
		accepted  bank.TransferStatus
	}{
		{"TIER_1 plain", bank.Tier1, 7_000_00, 250_000_00, 30, 0, bank.StatusCompleted},
		{"TIER_2 held for approval", bank.Tier2, 150_000_00, 1_000_000_00, 10, 100_000_00, bank.StatusPendingApproval},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := ledgerCtx(t)
			pool, _ := dedicatedPool(ctx, t, "ledger-daily", int32(c.n))
			defer pool.Close()
			l := NewLedger(pool, WithApproval(c.threshold, time.Hour))
			a, ua := ledgerAccount(ctx, t)
			if c.tier != bank.Tier1 {
				upgrade(ctx, t, a, ua, c.tier)
			}
			receivers := make([]string, 4)
			for i := range receivers {
				receivers[i], _ = ledgerAccount(ctx, t)
			}
			fund(ctx, t, l, a, c.funding)
			limit := *c.tier.Limits().DailyDebit
			want := int(limit / c.amount)

			results := make([]bank.Transfer, c.n)
			errs := make([]error, c.n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range c.n {
				wg.Go(func() {
					<-start
					results[i], errs[i] = l.Post(ctx, transferRequest(ua, a, receivers[i%len(receivers)], c.amount))
				})
			}
			close(start)
			wg.Wait()

			var accepted, refused int
			for i := range c.n {
				switch {
				case errs[i] != nil:
					t.Errorf("transfer %d: %v", i, errs[i])
				case results[i].Status == c.accepted:
					accepted++
				case results[i].Status == bank.StatusFailed && results[i].FailureCode == bank.CodeDailyLimit:
					refused++
				default:
					t.Errorf("transfer %d: %s %s", i, results[i].Status, results[i].FailureCode)
				}
			}
			if accepted != want || refused != c.n-want {
				t.Errorf("%d accepted and %d refused DAILY_LIMIT_EXCEEDED, want %d and %d", accepted, refused, want, c.n-want)
			}
			acc := account(ctx, t, a)
			if acc.DailyDebitUsed != bank.Money(want)*c.amount {
				t.Errorf("daily_debit_used = %s, want %s", acc.DailyDebitUsed, bank.Money(want)*c.amount)
			}
			moved := bank.Money(want) * c.amount
			if c.accepted == bank.StatusPendingApproval {
				if acc.Balance != c.funding || acc.AvailableBalance != c.funding-moved {
					t.Errorf("balance %s available %s, want %s and %s", acc.Balance, acc.AvailableBalance, c.funding, c.funding-moved)
				}
			} else if acc.Balance != c.funding-moved || acc.AvailableBalance != acc.Balance {
				t.Errorf("balance %s available %s, want %s", acc.Balance, acc.AvailableBalance, c.funding-moved)
			}
			cleanAudit(ctx, t)
		})
	}
}
