package postgres

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bankcore/bank/bank"
)

// corrupt runs a statement behind the ledger's back and registers the one
// that undoes it, so the global audit of the tests that follow is clean
// whatever happens here.
func corrupt(ctx context.Context, t *testing.T, do, undo string, args ...any) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := testPool.Exec(ctx, undo, args...); err != nil {
			t.Errorf("undoing %q: %v", do, err)
		}
	})
	if _, err := testPool.Exec(ctx, do, args...); err != nil {
		t.Fatalf("%s: %v", do, err)
	}
}

func audit(ctx context.Context, t *testing.T) Audit {
	t.Helper()
	a, err := NewLedger(testPool).RunAudit(ctx)
	if err != nil {
		t.Fatalf("RunAudit: %v", err)
	}
	return a
}

// TestRunAuditFindsBrokenHolds proves the hold and daily-limit checks can
// fail: each corruption is reported, and the ledger is whole again after.
func TestRunAuditFindsBrokenHolds(t *testing.T) {
	ctx := ledgerCtx(t)
	f := newHeldFixture(ctx, t, 24)
	_, held := f.hold(ctx, t, 2_000_00)
	if a := cleanAudit(ctx, t); a.ActiveHolds == 0 {
		t.Fatalf("the audit counts no active hold: %+v", a)
	}

	t.Run("on_hold differs from the holds", func(t *testing.T) {
		corrupt(ctx, t, `UPDATE ledger.accounts SET on_hold = on_hold + 1 WHERE account_number = $1`,
			`UPDATE ledger.accounts SET on_hold = on_hold - 1 WHERE account_number = $1`, f.a)
		if a := audit(ctx, t); !slices.Contains(a.OnHoldMismatched, f.a) || a.OK() {
			t.Errorf("audit missed it: %+v", a.HoldAudit)
		}
	})

	t.Run("a counter differs from the day", func(t *testing.T) {
		corrupt(ctx, t, `UPDATE ledger.accounts SET debit_used = debit_used + 1 WHERE account_number = $1`,
			`UPDATE ledger.accounts SET debit_used = debit_used - 1 WHERE account_number = $1`, f.a)
		if a := audit(ctx, t); !slices.Contains(a.CounterMismatched, f.a) || a.OK() {
			t.Errorf("audit missed it: %+v", a.HoldAudit)
		}
	})

	t.Run("a final transfer keeps its hold", func(t *testing.T) {
		corrupt(ctx, t, `UPDATE ledger.transfers SET status = 'FAILED', failure_code = 'REJECTED', completed_at = now(),
				approval_status = 'REJECTED', decided_at = now(), decision_id = 'forged' WHERE id = $1`,
			`UPDATE ledger.transfers SET status = 'PENDING_APPROVAL', failure_code = NULL, completed_at = NULL,
				approval_status = 'PENDING', decided_at = NULL, decision_id = NULL WHERE id = $1`, held.ID)
		if a := audit(ctx, t); a.FinalWithActiveHold != 1 || a.OK() {
			t.Errorf("audit missed it: %+v", a.HoldAudit)
		}
	})

	t.Run("a pending transfer without its hold", func(t *testing.T) {
		corrupt(ctx, t, `ALTER TABLE ledger.holds DISABLE TRIGGER holds_end_once; UPDATE ledger.holds SET ended_at = now(), outcome = 'RELEASED' WHERE transfer_id = '`+held.ID+`'`,
			`UPDATE ledger.holds SET ended_at = NULL, outcome = NULL WHERE transfer_id = '`+held.ID+`'; ALTER TABLE ledger.holds ENABLE TRIGGER holds_end_once`)
		if a := audit(ctx, t); a.PendingWithoutHold != 1 || a.HoldMismatched != 1 || a.OK() {
			t.Errorf("audit missed it: %+v", a.HoldAudit)
		}
	})

	// TIER_1 sends its 100,000.00 for the day, upgrades to TIER_2 and sends
	// 200,000.00 more: sound. Had the upgrade come after the last transfer,
	// 300,000.00 would have been counted under TIER_1's limit.
	t.Run("counted debits above the tier of their time", func(t *testing.T) {
		l := NewLedger(testPool, WithClock(f.clock.Now))
		a, ua := ledgerAccount(ctx, t)
		b, _ := ledgerAccount(ctx, t)
		fund(ctx, t, l, a, 300_000_00)
		mustPost(ctx, t, l, transferRequest(ua, a, b, 50_000_00), bank.StatusCompleted)
		mustPost(ctx, t, l, transferRequest(ua, a, b, 50_000_00), bank.StatusCompleted)
		upgrade(ctx, t, a, ua, bank.Tier2)
		mustPost(ctx, t, l, transferRequest(ua, a, b, 200_000_00), bank.StatusCompleted)
		if got := cleanAudit(ctx, t); got.DailyChecked == 0 {
			t.Errorf("the audit checked no acceptance against a daily limit: %+v", got.HoldAudit)
		}

		var seq int64
		if err := testPool.QueryRow(ctx, `SELECT tc.seq FROM ledger.tier_changes tc JOIN ledger.accounts a ON a.id = tc.account_id
			WHERE a.account_number = $1`, a).Scan(&seq); err != nil {
			t.Fatal(err)
		}
		// The upgrade moved after everything the account did.
		corrupt(ctx, t, `UPDATE ledger.tier_changes SET seq = nextval('ledger.account_event_seq') WHERE seq = `+strconv.FormatInt(seq, 10),
			`UPDATE ledger.tier_changes SET seq = `+strconv.FormatInt(seq, 10)+` WHERE account_id = (SELECT id FROM ledger.accounts WHERE account_number = '`+a+`')`)
		want := a + " " + string(bank.LagosDay(f.clock.Now()))
		if got := audit(ctx, t); !slices.Contains(got.OverDailyLimit, want) || got.OK() {
			t.Errorf("audit missed %s: %+v", want, got.HoldAudit)
		}
	})

	// The schema itself refuses a hold larger than the balance.
	if _, err := testPool.Exec(ctx, `UPDATE ledger.accounts SET on_hold = balance + 1 WHERE account_number = $1`, f.a); !isCheckViolation(err) {
		t.Errorf("on_hold above the balance: %v, want a check violation", err)
	}
	cleanAudit(ctx, t)
}

func isCheckViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23514"
}
