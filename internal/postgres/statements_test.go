package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bankcore/bank/bank"
)

// accountID reads an account's internal id, as the API gets it from
// Accounts.ByNumber.
func accountID(ctx context.Context, t *testing.T, number string) int64 {
	t.Helper()
	a, err := NewAccounts(testPool).ByNumber(ctx, number)
	if err != nil {
		t.Fatalf("ByNumber(%s): %v", number, err)
	}
	return a.ID
}

// stamp moves a posted transfer (its row and both entries) to another
// time, as if it had been posted then. Tests place transfers on Lagos day
// boundaries with it; they keep each account's chain in time order.
func stamp(ctx context.Context, t *testing.T, tr bank.Transfer, at time.Time) {
	t.Helper()
	if _, err := testPool.Exec(ctx, `UPDATE ledger.entries SET created_at = $2 WHERE transfer_id = $1`, tr.ID, at); err != nil {
		t.Fatal(err)
	}
	if _, err := testPool.Exec(ctx, `UPDATE ledger.transfers SET created_at = $2, completed_at = $2 WHERE id = $1`, tr.ID, at); err != nil {
		t.Fatal(err)
	}
}

// statement collects what Ledger.Statement hands over.
func statement(ctx context.Context, l *Ledger, id int64, p bank.Period) (bank.StatementSummary, []bank.Entry, error) {
	var s bank.StatementSummary
	var items []bank.Entry
	err := l.Statement(ctx, id, p.Start, p.End,
		func(h bank.StatementSummary) error { s = h; return nil },
		func(e bank.Entry) error { items = append(items, e); return nil })
	return s, items, err
}

func period(t *testing.T, from, to string) bank.Period {
	t.Helper()
	p, err := bank.ParsePeriod(from, to, time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLedger_BalanceAtAndStatement places four postings around Lagos
// midnights and reads balances and statements across them.
func TestLedger_BalanceAtAndStatement(t *testing.T) {
	ctx := ledgerCtx(t)
	l := NewLedger(testPool)
	a, owner := ledgerAccount(ctx, t)
	b, _ := ledgerAccount(ctx, t)
	id := accountID(ctx, t, a)

	// Lagos is UTC+1: midnight of 2 March in Lagos is 23:00Z on 1 March.
	midnight2 := time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)
	midnight3 := midnight2.Add(24 * time.Hour)
	times := []time.Time{
		midnight2.Add(-time.Microsecond), // 1 March, the last microsecond
		midnight2,                        // 2 March, the first instant
		midnight3,                        // 3 March, the first instant
		midnight3.Add(13 * time.Hour),    // 3 March, afternoon
	}
	d1 := mustPost(ctx, t, l, depositRequest(a, 1000_00), bank.StatusCompleted)
	t2 := mustPost(ctx, t, l, transferRequest(owner, a, b, 250_50), bank.StatusCompleted)
	d3 := mustPost(ctx, t, l, depositRequest(a, 40_00), bank.StatusCompleted)
	t4 := mustPost(ctx, t, l, transferRequest(owner, a, b, 89_50), bank.StatusCompleted)
	for i, tr := range []bank.Transfer{d1, t2, d3, t4} {
		stamp(ctx, t, tr, times[i])
	}
	after := []bank.Money{1000_00, 749_50, 789_50, 700_00}

	t.Run("BalanceAt", func(t *testing.T) {
		cases := []struct {
			name string
			at   time.Time
			want bank.Money
		}{
			{"BeforeEverything", times[0].Add(-time.Hour), 0},
			{"ExactlyAtFirst", times[0], after[0]},
			{"JustBeforeMidnight", midnight2.Add(-time.Nanosecond), after[0]},
			{"AtMidnight", midnight2, after[1]},
			{"Between", midnight2.Add(time.Hour), after[1]},
			{"AtNextMidnight", midnight3, after[2]},
			{"AfterEverything", times[3].Add(time.Hour), after[3]},
			{"InAnotherZone", midnight3.In(time.FixedZone("", -5*3600)), after[2]},
		}
		for _, c := range cases {
			got, err := l.BalanceAt(ctx, id, c.at)
			if err != nil || got != c.want {
				t.Errorf("%s: BalanceAt(%v) = %s, %v; want %s", c.name, c.at, got, err, c.want)
			}
		}
	})

	t.Run("StatementOfOneDay", func(t *testing.T) {
		s, items, err := statement(ctx, l, id, period(t, "2026-03-02", "2026-03-02"))
		if err != nil {
			t.Fatal(err)
		}
		want := bank.StatementSummary{Opening: after[0], Closing: after[1], Debits: 250_50, Items: 1}
		if s != want {
			t.Errorf("summary %+v, want %+v", s, want)
		}
		if len(items) != 1 || items[0].TransferReference != t2.Reference {
			t.Fatalf("items %+v, want the transfer at midnight only", items)
		}
		e := items[0]
		if e.Kind != bank.KindTransfer || e.Direction != "DEBIT" || e.Amount != 250_50 || e.BalanceAfter != after[1] ||
			e.CounterpartyAccount != b || e.Narration != "test transfer" || !e.CreatedAt.Equal(midnight2) {
			t.Errorf("item %+v", e)
		}
	})

	t.Run("StatementOverTheBoundaries", func(t *testing.T) {
		s, items, err := statement(ctx, l, id, period(t, "2026-03-01", "2026-03-03"))
		if err != nil {
			t.Fatal(err)
		}
		want := bank.StatementSummary{Opening: 0, Closing: after[3], Credits: 1040_00, Debits: 340_00, Items: 4}
		if s != want || !s.Balanced() {
			t.Errorf("summary %+v, want %+v", s, want)
		}
		var refs []string
		for i, e := range items {
			refs = append(refs, e.TransferReference)
			if e.BalanceAfter != after[i] || !e.CreatedAt.Equal(times[i]) {
				t.Errorf("item %d: %+v, want balance %s at %v", i, e, after[i], times[i])
			}
		}
		wantRefs := []string{d1.Reference, t2.Reference, d3.Reference, t4.Reference}
		if strings.Join(refs, ",") != strings.Join(wantRefs, ",") {
			t.Errorf("items %v, want oldest first %v", refs, wantRefs)
		}
		if items[0].Kind != bank.KindDeposit || items[0].CounterpartyAccount != SystemAccountNumber || items[0].Direction != "CREDIT" {
			t.Errorf("deposit item %+v", items[0])
		}
	})

	t.Run("StatementOfLaterDay", func(t *testing.T) {
		s, items, err := statement(ctx, l, id, period(t, "2026-03-03", "2026-03-04"))
		if err != nil {
			t.Fatal(err)
		}
		want := bank.StatementSummary{Opening: after[1], Closing: after[3], Credits: 40_00, Debits: 89_50, Items: 2}
		if s != want || len(items) != 2 {
			t.Errorf("summary %+v with %d items, want %+v", s, len(items), want)
		}
	})

	t.Run("StatementOfQuietDays", func(t *testing.T) {
		s, items, err := statement(ctx, l, id, period(t, "2026-04-01", "2026-04-30"))
		if err != nil {
			t.Fatal(err)
		}
		want := bank.StatementSummary{Opening: after[3], Closing: after[3]}
		if s != want || len(items) != 0 {
			t.Errorf("summary %+v with %d items, want %+v and none", s, len(items), want)
		}
	})

	t.Run("TheReceiverSeesCredits", func(t *testing.T) {
		s, items, err := statement(ctx, l, accountID(ctx, t, b), period(t, "2026-03-01", "2026-03-03"))
		if err != nil {
			t.Fatal(err)
		}
		want := bank.StatementSummary{Opening: 0, Closing: 340_00, Credits: 340_00, Items: 2}
		if s != want || len(items) != 2 || items[0].CounterpartyAccount != a || items[0].Direction != "CREDIT" {
			t.Errorf("summary %+v, items %+v; want %+v", s, items, want)
		}
	})

	t.Run("AnItemErrorStopsTheRead", func(t *testing.T) {
		stop := errors.New("client gone")
		n := 0
		err := l.Statement(ctx, id, period(t, "2026-03-01", "2026-03-03").Start, period(t, "2026-03-01", "2026-03-03").End,
			func(bank.StatementSummary) error { return nil },
			func(bank.Entry) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("err %v after %d items, want the item's error after one", err, n)
		}
	})
}

// TestLedger_StatementRefusesABrokenChain: a statement whose figures do not
// add up is never handed over.
func TestLedger_StatementRefusesABrokenChain(t *testing.T) {
	ctx := ledgerCtx(t)
	l := NewLedger(testPool)
	a, _ := ledgerAccount(ctx, t)
	id := accountID(ctx, t, a)
	d1 := mustPost(ctx, t, l, depositRequest(a, 10_00), bank.StatusCompleted)
	d2 := mustPost(ctx, t, l, depositRequest(a, 5_00), bank.StatusCompleted)
	stamp(ctx, t, d1, time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	stamp(ctx, t, d2, time.Date(2026, 5, 2, 9, 0, 0, 0, time.UTC))
	// The second entry claims a balance its amount does not explain.
	if _, err := testPool.Exec(ctx, `UPDATE ledger.entries SET balance_after = balance_after + 1 WHERE transfer_id = $1 AND direction = 'CREDIT'`, d2.ID); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = testPool.Exec(context.Background(), `UPDATE ledger.entries SET balance_after = balance_after - 1 WHERE transfer_id = $1 AND direction = 'CREDIT'`, d2.ID)
	})
	headed := false
	p := period(t, "2026-05-01", "2026-05-02")
	err := l.Statement(ctx, id, p.Start, p.End,
		func(bank.StatementSummary) error { headed = true; return nil },
		func(bank.Entry) error { headed = true; return nil })
	if err == nil || !strings.Contains(err.Error(), "does not add up") {
		t.Fatalf("err = %v, want the statement refused", err)
	}
	if headed {
		t.Fatal("a broken statement was handed over")
	}
	// A period that ends before the damage still adds up.
	if _, _, err := statement(ctx, l, id, period(t, "2026-05-01", "2026-05-01")); err != nil {
		t.Fatalf("first day: %v", err)
	}
}

// TestLedger_EntryTimesFollowTheChain: a posting that began first but took
// its account's lock second is stamped after the posting that went ahead
// of it, so time order and balance_after order agree. The setup forces
// that interleaving: B (a transfer from x to y) begins, then waits for x's
// row, which another session holds; meanwhile A (a deposit to y) begins
// later, locks y at once and posts. Stamped at BEGIN, B's entry on y would
// come before A's in time but after it in the chain.
func TestLedger_EntryTimesFollowTheChain(t *testing.T) {
	ctx := ledgerCtx(t)
	l := NewLedger(testPool)
	x, xOwner := ledgerAccount(ctx, t) // lower id than y: B locks x first
	y, _ := ledgerAccount(ctx, t)
	fund(ctx, t, l, x, 100_00)

	holder, err := testPool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Rollback(context.Background()) }()
	if _, err := holder.Exec(ctx, `SELECT 1 FROM ledger.accounts WHERE account_number = $1 FOR UPDATE`, x); err != nil {
		t.Fatal(err)
	}

	bReq := transferRequest(xOwner, x, y, 30_00)
	bDone := make(chan error, 1)
	go func() { _, err := l.Post(ctx, bReq); bDone <- err }()
	// Wait until B's transaction has begun and waits for x's lock.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting bool
		err := testPool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE%'
			AND query LIKE '%ledger.accounts%' AND pid <> pg_backend_pid())`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("B never waited for x's lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A begins after B and locks y (and the funding account) at once.
	mustPost(ctx, t, l, depositRequest(y, 7_00), bank.StatusCompleted)
	if err := holder.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-bDone; err != nil {
		t.Fatalf("B: %v", err)
	}

	rows, err := testPool.Query(ctx, `SELECT e.created_at, e.balance_after FROM ledger.entries e
		JOIN ledger.accounts a ON a.id = e.account_id WHERE a.account_number = $1 ORDER BY e.id`, y)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var prev time.Time
	var balances []bank.Money
	for rows.Next() {
		var at time.Time
		var bal bank.Money
		if err := rows.Scan(&at, &bal); err != nil {
			t.Fatal(err)
		}
		if at.Before(prev) {
			t.Errorf("entry after balance %v is stamped %v, before the entry ahead of it in the chain (%v)", balances, at, prev)
		}
		prev = at
		balances = append(balances, bal)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(balances) != 2 || balances[0] != 7_00 || balances[1] != 37_00 {
		t.Fatalf("y's chain %v, want A's deposit then B's transfer", balances)
	}
	// And so the balance at the last entry's time is the final one.
	if got, err := l.BalanceAt(ctx, accountID(ctx, t, y), prev); err != nil || got != 37_00 {
		t.Errorf("BalanceAt(last entry) = %s, %v; want 370.00", got, err)
	}
}

// TestLedger_BalanceAtUsesTheTimeIndex: the balance at a time is one
// descent of entries_account_time, never a scan of the account's history.
func TestLedger_BalanceAtUsesTheTimeIndex(t *testing.T) {
	ctx := ledgerCtx(t)
	a, _ := ledgerAccount(ctx, t)
	id := accountID(ctx, t, a)
	var plan strings.Builder
	rows, err := testPool.Query(ctx, "EXPLAIN "+balanceAtSQL, id, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.String(), "Index Only Scan Backward using entries_account_time") ||
		strings.Contains(plan.String(), "Seq Scan") || strings.Contains(plan.String(), "Sort") {
		t.Errorf("plan:\n%s", plan.String())
	}
}
