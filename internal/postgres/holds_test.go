package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bankcore/bank/bank"
)

// The hold tests use a low approval threshold (1,000.00) so TIER_1
// accounts, with their low limits, show every rule; one test uses the
// contract's default threshold with TIER_3 accounts.
const (
	testThreshold bank.Money = 1_000_00
	testTimeout              = 2 * time.Hour
)

type holdRow struct {
	Amount   bank.Money
	Account  string
	PlacedAt time.Time
	EndedAt  *time.Time
	Outcome  *string
}

// holdOf reads a transfer's hold; ok is false when it has none.
func holdOf(ctx context.Context, t *testing.T, transferID string) (h holdRow, ok bool) {
	t.Helper()
	err := testPool.QueryRow(ctx, `SELECT h.amount, a.account_number, h.placed_at, h.ended_at, h.outcome
		FROM ledger.holds h JOIN ledger.accounts a ON a.id = h.account_id WHERE h.transfer_id = $1`, transferID).
		Scan(&h.Amount, &h.Account, &h.PlacedAt, &h.EndedAt, &h.Outcome)
	if err != nil {
		return h, false
	}
	return h, true
}

func wantHold(ctx context.Context, t *testing.T, tr bank.Transfer, outcome string) {
	t.Helper()
	h, ok := holdOf(ctx, t, tr.ID)
	if !ok {
		t.Fatalf("transfer %s has no hold", tr.ID)
	}
	if h.Amount != tr.Amount || h.Account != tr.FromAccount || !h.PlacedAt.Equal(tr.CreatedAt) {
		t.Errorf("hold = %+v, want %s on %s placed at %s", h, tr.Amount, tr.FromAccount, tr.CreatedAt)
	}
	switch {
	case outcome == "" && (h.EndedAt != nil || h.Outcome != nil):
		t.Errorf("hold ended (%v at %v), want active", deref(h.Outcome), h.EndedAt)
	case outcome != "" && (h.EndedAt == nil || deref(h.Outcome) != outcome):
		t.Errorf("hold %v at %v, want %s", deref(h.Outcome), h.EndedAt, outcome)
	case outcome != "" && tr.CompletedAt != nil && !h.EndedAt.Equal(*tr.CompletedAt):
		t.Errorf("hold ended at %s, the transfer at %s", h.EndedAt, tr.CompletedAt)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// wantAccount checks balance, available balance and today's counted debits.
func wantAccount(ctx context.Context, t *testing.T, number string, balance, available, used bank.Money, opts ...Option) {
	t.Helper()
	a := account(ctx, t, number, opts...)
	if a.Balance != balance || a.AvailableBalance != available || a.DailyDebitUsed != used {
		t.Errorf("account %s: balance %s available %s used today %s; want %s, %s, %s",
			number, a.Balance, a.AvailableBalance, a.DailyDebitUsed, balance, available, used)
	}
}

// sameApproval compares approvals by value (sameTransfer compares the rest).
func sameApproval(t *testing.T, got, want *bank.Approval) {
	t.Helper()
	if (got == nil) != (want == nil) {
		t.Fatalf("approval = %+v, want %+v", got, want)
	}
	if got == nil {
		return
	}
	g, w := *got, *want
	if !g.ExpiresAt.Equal(w.ExpiresAt) || (g.DecidedAt == nil) != (w.DecidedAt == nil) ||
		(g.DecidedAt != nil && !g.DecidedAt.Equal(*w.DecidedAt)) {
		t.Errorf("approval times = %s / %v, want %s / %v", g.ExpiresAt, g.DecidedAt, w.ExpiresAt, w.DecidedAt)
	}
	g.ExpiresAt, g.DecidedAt = w.ExpiresAt, w.DecidedAt
	if g != w {
		t.Errorf("approval = %+v, want %+v", g, w)
	}
}

// sameHeld compares two reads of a transfer, approval included.
func sameHeld(t *testing.T, got, want bank.Transfer) {
	t.Helper()
	sameApproval(t, got.Approval, want.Approval)
	got.Approval, want.Approval = nil, nil
	sameTransfer(t, got, want)
}

// heldFixture is a TIER_1 sender a with 10,000.00 and a TIER_1 receiver b,
// on a ledger that holds transfers of 1,000.00 or more, at a clock the
// test moves.
type heldFixture struct {
	l        *Ledger
	clock    *testClock
	opts     []Option
	a, ua    string
	b, ub    string
	operator string
}

func newHeldFixture(ctx context.Context, t *testing.T, day int) *heldFixture {
	t.Helper()
	f := &heldFixture{clock: newTestClock(lagosMidnight(day).Add(10 * time.Hour)), operator: uuid.NewString()}
	f.opts = []Option{WithClock(f.clock.Now), WithApproval(testThreshold, testTimeout)}
	f.l = NewLedger(testPool, f.opts...)
	f.a, f.ua = ledgerAccount(ctx, t)
	f.b, f.ub = ledgerAccount(ctx, t)
	fund(ctx, t, f.l, f.a, 10_000_00)
	return f
}

// hold posts a held transfer of amount from a to b.
func (f *heldFixture) hold(ctx context.Context, t *testing.T, amount bank.Money) (bank.TransferRequest, bank.Transfer) {
	t.Helper()
	req := transferRequest(f.ua, f.a, f.b, amount)
	return req, mustPost(ctx, t, f.l, req, bank.StatusPendingApproval)
}

func (f *heldFixture) decision(tr bank.Transfer, a bank.DecisionAction) bank.Decision {
	d := bank.Decision{ID: "update-" + uuid.NewString(), TransferID: tr.ID, Action: a, By: f.operator}
	switch a {
	case bank.ActionApprove:
		d.Note = "checked with the customer"
	case bank.ActionReject:
		d.Note = "beneficiary not verified"
	case bank.ActionCancel:
		d.By = f.ua
	case bank.ActionExpire:
		d.By, d.ID = "", "expire-"+tr.ID
	}
	return d
}

func TestLedger_Hold(t *testing.T) {
	ctx := ledgerCtx(t)
	f := newHeldFixture(ctx, t, 10)
	now := f.clock.Now()

	req, tr := f.hold(ctx, t, 2_500_00)
	want := bank.Transfer{
		ID: tr.ID, Kind: bank.KindTransfer, KeyOwner: f.ua, Reference: req.Reference, RequestHash: req.Hash(),
		FromAccount: f.a, ToAccount: f.b, FromOwnerID: f.ua, ToOwnerID: f.ub, Amount: 2_500_00, Narration: req.Narration,
		Status: bank.StatusPendingApproval, CreatedBy: f.ua, CreatedAt: now,
		Approval: &bank.Approval{Status: bank.ApprovalPending, ExpiresAt: now.Add(testTimeout)},
	}
	sameHeld(t, tr, want)

	// The hold: available drops, the balance does not, the receiver gets
	// nothing, no entry is written, and the amount counts against the day.
	wantAccount(ctx, t, f.a, 10_000_00, 7_500_00, 2_500_00, f.opts...)
	wantAccount(ctx, t, f.b, 0, 0, 0, f.opts...)
	if got := entriesOf(ctx, t, tr.ID); len(got) != 0 {
		t.Errorf("a held transfer wrote entries: %+v", got)
	}
	wantHold(ctx, t, tr, "")

	// Reads and replays answer it as it is now.
	stored, err := f.l.ByKey(ctx, f.ua, req.Reference)
	if err != nil {
		t.Fatal(err)
	}
	sameHeld(t, stored, want)
	byID, err := f.l.ByID(ctx, tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameHeld(t, byID, want)
	sameHeld(t, mustPost(ctx, t, f.l, req, bank.StatusPendingApproval), want)
	other := req
	other.Amount++
	_, err = f.l.Post(ctx, other)
	ledgerWantCode(t, err, bank.CodeIdempotencyReused)
	wantAccount(ctx, t, f.a, 10_000_00, 7_500_00, 2_500_00, f.opts...)

	// What is held is not available to the next transfer.
	wantRefused(t, mustPost(ctx, t, f.l, transferRequest(f.ua, f.a, f.b, 7_500_01), bank.StatusFailed), bank.CodeInsufficientFunds)
	mustPost(ctx, t, f.l, transferRequest(f.ua, f.a, f.b, 999_99), bank.StatusCompleted) // below the threshold: posted
	wantAccount(ctx, t, f.a, 9_000_01, 6_500_01, 3_499_99, f.opts...)
	cleanAudit(ctx, t)

	t.Run("deposits never wait", func(t *testing.T) {
		b, _ := ledgerAccount(ctx, t)
		mustPost(ctx, t, f.l, depositRequest(b, 250_000_00), bank.StatusCompleted)
	})

	t.Run("refused transfers hold nothing", func(t *testing.T) {
		refused := mustPost(ctx, t, f.l, transferRequest(f.ua, f.a, f.b, 50_000_01), bank.StatusFailed)
		if refused.Approval != nil {
			t.Errorf("a refusal has an approval: %+v", refused.Approval)
		}
		if _, ok := holdOf(ctx, t, refused.ID); ok {
			t.Error("a refusal has a hold")
		}
	})

	// The contract's default threshold, with TIER_3 accounts.
	t.Run("default threshold", func(t *testing.T) {
		l := NewLedger(testPool, WithApproval(bank.DefaultApprovalThreshold, bank.DefaultApprovalTimeout))
		a, ua := ledgerAccount(ctx, t)
		b, ub := ledgerAccount(ctx, t)
		upgrade(ctx, t, a, ua, bank.Tier3)
		upgrade(ctx, t, b, ub, bank.Tier3)
		fund(ctx, t, l, a, 5_000_000_00)
		mustPost(ctx, t, l, transferRequest(ua, a, b, 999_999_99), bank.StatusCompleted)
		before := time.Now()
		held := mustPost(ctx, t, l, transferRequest(ua, a, b, 1_000_000_00), bank.StatusPendingApproval)
		if exp := held.Approval.ExpiresAt; exp.Before(before.Add(24*time.Hour-time.Minute)) || exp.After(time.Now().Add(24*time.Hour)) {
			t.Errorf("expires_at %s, want 24 h after acceptance", exp)
		}
		wantAccount(ctx, t, a, 4_000_000_00+1, 3_000_000_00+1, 1_999_999_99)
		cleanAudit(ctx, t)
	})

	t.Run("no approval without the option", func(t *testing.T) {
		l := NewLedger(testPool)
		a, ua := ledgerAccount(ctx, t)
		b, ub := ledgerAccount(ctx, t)
		upgrade(ctx, t, a, ua, bank.Tier3)
		upgrade(ctx, t, b, ub, bank.Tier3)
		fund(ctx, t, l, a, 5_000_000_00)
		mustPost(ctx, t, l, transferRequest(ua, a, b, 2_000_000_00), bank.StatusCompleted)
	})
}

func TestLedger_Decide(t *testing.T) {
	type outcome struct {
		status   bank.TransferStatus
		code     bank.Code
		approval bank.ApprovalStatus
		hold     string
	}
	for _, c := range []struct {
		action bank.DecisionAction
		want   outcome
	}{
		{bank.ActionApprove, outcome{bank.StatusCompleted, "", bank.ApprovalApproved, "POSTED"}},
		{bank.ActionReject, outcome{bank.StatusFailed, bank.CodeRejected, bank.ApprovalRejected, "RELEASED"}},
		{bank.ActionCancel, outcome{bank.StatusFailed, bank.CodeCancelled, bank.ApprovalCancelled, "RELEASED"}},
		{bank.ActionExpire, outcome{bank.StatusFailed, bank.CodeApprovalExpired, bank.ApprovalExpired, "RELEASED"}},
	} {
		t.Run(string(c.action), func(t *testing.T) {
			ctx := ledgerCtx(t)
			f := newHeldFixture(ctx, t, 11)
			_, tr := f.hold(ctx, t, 3_000_00)
			decidedAt := f.clock.Now().Add(40 * time.Minute)
			if c.action == bank.ActionExpire {
				decidedAt = tr.Approval.ExpiresAt
			}
			f.clock.Set(decidedAt)
			d := f.decision(tr, c.action)

			got, err := f.l.Decide(ctx, d)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			want := tr
			want.Status, want.FailureCode, want.CompletedAt = c.want.status, c.want.code, &decidedAt
			want.Approval = &bank.Approval{Status: c.want.approval, ExpiresAt: tr.Approval.ExpiresAt, DecidedAt: &decidedAt,
				Note: d.Note, DecisionID: d.ID}
			if c.action == bank.ActionApprove || c.action == bank.ActionReject {
				want.Approval.DecidedBy = f.operator // empty for cancellation and expiry
			}
			sameHeld(t, got, want)
			stored, err := f.l.ByID(ctx, tr.ID)
			if err != nil {
				t.Fatal(err)
			}
			sameHeld(t, stored, want)
			wantHold(ctx, t, got, c.want.hold)

			if c.action == bank.ActionApprove {
				// The hold became the debit and the credit.
				wantAccount(ctx, t, f.a, 7_000_00, 7_000_00, 3_000_00, f.opts...)
				wantAccount(ctx, t, f.b, 3_000_00, 3_000_00, 0, f.opts...)
				wantEntries := []entryRow{{f.a, "DEBIT", 3_000_00, 7_000_00}, {f.b, "CREDIT", 3_000_00, 3_000_00}}
				if got := entriesOf(ctx, t, tr.ID); !slices.Equal(got, wantEntries) {
					t.Errorf("entries = %+v, want %+v", got, wantEntries)
				}
				entries, _, err := f.l.Entries(ctx, f.b, 10, 0)
				if err != nil || len(entries) != 1 || !entries[0].CreatedAt.Equal(decidedAt) {
					t.Errorf("receiver's history = %+v, %v; want the credit at the approval's time", entries, err)
				}
			} else {
				// Released: everything is available again, and the day
				// counts it no more.
				wantAccount(ctx, t, f.a, 10_000_00, 10_000_00, 0, f.opts...)
				wantAccount(ctx, t, f.b, 0, 0, 0, f.opts...)
				if got := entriesOf(ctx, t, tr.ID); len(got) != 0 {
					t.Errorf("a released hold wrote entries: %+v", got)
				}
			}
			cleanAudit(ctx, t)

			// Retried (an activity whose commit succeeded but whose answer
			// was lost): the stored outcome, nothing moves again.
			again, err := f.l.Decide(ctx, d)
			if err != nil {
				t.Fatalf("the same decision retried: %v", err)
			}
			sameHeld(t, again, want)
			// Any other decision is refused.
			for _, other := range []bank.DecisionAction{bank.ActionApprove, bank.ActionReject, bank.ActionCancel, bank.ActionExpire} {
				od := f.decision(tr, other)
				if other == bank.ActionExpire && c.action == bank.ActionExpire {
					od.ID = "another-expire"
				}
				_, err := f.l.Decide(ctx, od)
				ledgerWantCode(t, err, bank.CodeTransferNotPending)
			}
			if c.action == bank.ActionApprove {
				wantAccount(ctx, t, f.a, 7_000_00, 7_000_00, 3_000_00, f.opts...)
			} else {
				wantAccount(ctx, t, f.a, 10_000_00, 10_000_00, 0, f.opts...)
			}
			wantHold(ctx, t, got, c.want.hold)
			cleanAudit(ctx, t)
		})
	}

	// The credit no longer fits the receiver (it received money while the
	// transfer waited): the approval stands, the transfer fails, the hold
	// is released.
	t.Run("approval above the receiver's max", func(t *testing.T) {
		ctx := ledgerCtx(t)
		f := newHeldFixture(ctx, t, 12)
		_, tr := f.hold(ctx, t, 5_000_00)
		fund(ctx, t, f.l, f.b, 296_000_00) // 5,000.00 more would pass TIER_1's 300,000.00
		d := f.decision(tr, bank.ActionApprove)
		got, err := f.l.Decide(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != bank.StatusFailed || got.FailureCode != bank.CodeReceiverLimit || got.Approval.Status != bank.ApprovalApproved ||
			got.Approval.DecidedBy != f.operator {
			t.Errorf("transfer = %s %s, approval %+v; want FAILED RECEIVER_BALANCE_LIMIT, APPROVED by the operator", got.Status, got.FailureCode, got.Approval)
		}
		wantHold(ctx, t, got, "RELEASED")
		wantAccount(ctx, t, f.a, 10_000_00, 10_000_00, 0, f.opts...)
		wantAccount(ctx, t, f.b, 296_000_00, 296_000_00, 0, f.opts...)
		again, err := f.l.Decide(ctx, d)
		if err != nil || again.Status != bank.StatusFailed || again.FailureCode != bank.CodeReceiverLimit {
			t.Errorf("retried: %+v, %v", again, err)
		}
		cleanAudit(ctx, t)
	})

	t.Run("deadline", func(t *testing.T) {
		ctx := ledgerCtx(t)
		f := newHeldFixture(ctx, t, 13)
		_, tr := f.hold(ctx, t, 1_000_00)
		f.clock.Set(tr.Approval.ExpiresAt) // from the deadline on, only the expiry
		for _, a := range []bank.DecisionAction{bank.ActionApprove, bank.ActionReject, bank.ActionCancel} {
			_, err := f.l.Decide(ctx, f.decision(tr, a))
			ledgerWantCode(t, err, bank.CodeTransferNotPending)
		}
		wantHold(ctx, t, tr, "")
		got, err := f.l.Decide(ctx, f.decision(tr, bank.ActionExpire))
		if err != nil || got.FailureCode != bank.CodeApprovalExpired {
			t.Fatalf("expiry: %+v, %v", got, err)
		}
		cleanAudit(ctx, t)
	})

	// A hold placed before Lagos midnight and released after it: the new
	// day's counter is not the old day's business, and the old day counts
	// the transfer no more.
	t.Run("released the next day", func(t *testing.T) {
		ctx := ledgerCtx(t)
		f := newHeldFixture(ctx, t, 14)
		f.clock.Set(lagosMidnight(15).Add(-time.Minute))
		_, tr := f.hold(ctx, t, 2_000_00)
		f.clock.Set(lagosMidnight(15).Add(time.Minute))
		mustPost(ctx, t, f.l, transferRequest(f.ua, f.a, f.b, 500_00), bank.StatusCompleted)
		wantAccount(ctx, t, f.a, 9_500_00, 7_500_00, 500_00, f.opts...)
		if _, err := f.l.Decide(ctx, f.decision(tr, bank.ActionCancel)); err != nil {
			t.Fatal(err)
		}
		wantAccount(ctx, t, f.a, 9_500_00, 9_500_00, 500_00, f.opts...)
		cleanAudit(ctx, t) // counters and the days' sums agree
	})

	t.Run("refusals", func(t *testing.T) {
		ctx := ledgerCtx(t)
		f := newHeldFixture(ctx, t, 16)
		_, tr := f.hold(ctx, t, 1_500_00)
		plain := mustPost(ctx, t, f.l, transferRequest(f.ua, f.a, f.b, 10_00), bank.StatusCompleted)

		cancelByOther := f.decision(tr, bank.ActionCancel)
		cancelByOther.By = f.ub
		for name, c := range map[string]struct {
			d    bank.Decision
			code bank.Code
		}{
			"a plain transfer is not pending":  {f.decision(plain, bank.ActionApprove), bank.CodeTransferNotPending},
			"someone else's cancel":            {cancelByOther, bank.CodeNotFound},
			"an unknown transfer":              {bank.Decision{ID: "u", TransferID: uuid.NewString(), Action: bank.ActionApprove, By: f.operator}, bank.CodeNotFound},
			"not a transfer id":                {bank.Decision{ID: "u", TransferID: "x'; --", Action: bank.ActionApprove, By: f.operator}, bank.CodeNotFound},
			"no decision id":                   {bank.Decision{TransferID: tr.ID, Action: bank.ActionApprove, By: f.operator}, bank.CodeValidation},
			"a rejection without a reason":     {bank.Decision{ID: "u", TransferID: tr.ID, Action: bank.ActionReject, By: f.operator}, bank.CodeValidation},
			"an operator who is not a user id": {bank.Decision{ID: "u", TransferID: tr.ID, Action: bank.ActionApprove, By: "admin"}, bank.CodeValidation},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := f.l.Decide(ctx, c.d)
				ledgerWantCode(t, err, c.code)
			})
		}
		wantHold(ctx, t, tr, "")
		wantAccount(ctx, t, f.a, 9_990_00, 8_490_00, 1_510_00, f.opts...)
		cleanAudit(ctx, t)
	})
}

// TestLedger_DecideConcurrent races approvals, rejections and
// cancellations (each with its own id) on one hold: exactly one wins, every
// other is TRANSFER_NOT_PENDING, and the hold ends once. The same decision
// sent several times at once (a retried activity racing itself) is one
// decision: every copy answers its outcome.
func TestLedger_DecideConcurrent(t *testing.T) {
	const rounds, perAction = 6, 4
	ctx := ledgerCtx(t)
	pool, _ := dedicatedPool(ctx, t, "ledger-decide", 3*perAction+1)
	defer pool.Close()
	clock := newTestClock(lagosMidnight(17).Add(8 * time.Hour))
	opts := []Option{WithClock(clock.Now), WithApproval(testThreshold, testTimeout)}
	l := NewLedger(pool, opts...)
	a, ua := ledgerAccount(ctx, t)
	b, _ := ledgerAccount(ctx, t)
	fund(ctx, t, l, a, 20_000_00)
	operator := uuid.NewString()
	balance, receiver, used := bank.Money(20_000_00), bank.Money(0), bank.Money(0)

	for round := range rounds {
		tr := mustPost(ctx, t, l, transferRequest(ua, a, b, 1_000_00), bank.StatusPendingApproval)
		var ds []bank.Decision
		for i := range perAction {
			ds = append(ds,
				bank.Decision{ID: fmt.Sprintf("approve-%d", i), TransferID: tr.ID, Action: bank.ActionApprove, By: operator},
				bank.Decision{ID: fmt.Sprintf("reject-%d", i), TransferID: tr.ID, Action: bank.ActionReject, By: operator, Note: "no"},
				bank.Decision{ID: fmt.Sprintf("cancel-%d", i), TransferID: tr.ID, Action: bank.ActionCancel, By: ua})
		}
		results := make([]bank.Transfer, len(ds))
		errs := make([]error, len(ds))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range ds {
			wg.Go(func() {
				<-start
				results[i], errs[i] = l.Decide(ctx, ds[i])
			})
		}
		close(start)
		wg.Wait()

		winner := -1
		for i, err := range errs {
			switch code := bank.ErrorCode(err); {
			case err == nil && winner < 0:
				winner = i
			case err == nil:
				t.Errorf("round %d: both %s and %s won", round, ds[winner].ID, ds[i].ID)
			case code != bank.CodeTransferNotPending:
				t.Errorf("round %d: %s lost with %v, want TRANSFER_NOT_PENDING", round, ds[i].ID, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no decision won: %v", round, errs)
		}
		won := results[winner]
		stored, err := l.ByID(ctx, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameHeld(t, stored, won)
		if stored.Approval.DecisionID != ds[winner].ID || stored.Approval.Status != ds[winner].Action.Approval() {
			t.Errorf("round %d: stored decision %s %s, the winner was %s", round, stored.Approval.DecisionID, stored.Approval.Status, ds[winner].ID)
		}
		if ds[winner].Action == bank.ActionApprove {
			// An approved transfer keeps counting against the day.
			balance, receiver, used = balance-tr.Amount, receiver+tr.Amount, used+tr.Amount
			wantHold(ctx, t, won, "POSTED")
		} else {
			wantHold(ctx, t, won, "RELEASED")
		}
		wantAccount(ctx, t, a, balance, balance, used, opts...)
		wantBalance(ctx, t, b, receiver)
	}

	// One decision, sent five times at once.
	tr := mustPost(ctx, t, l, transferRequest(ua, a, b, 1_000_00), bank.StatusPendingApproval)
	d := bank.Decision{ID: "approve-once", TransferID: tr.ID, Action: bank.ActionApprove, By: operator}
	results := make([]bank.Transfer, 5)
	errs := make([]error, 5)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i], errs[i] = l.Decide(ctx, d) })
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil || results[i].Status != bank.StatusCompleted {
			t.Errorf("copy %d: %s, %v; want COMPLETED", i, results[i].Status, errs[i])
		}
	}
	wantAccount(ctx, t, a, balance-tr.Amount, balance-tr.Amount, used+tr.Amount, opts...)
	if got := entriesOf(ctx, t, tr.ID); len(got) != 2 {
		t.Errorf("entries = %+v, want one posting", got)
	}
	cleanAudit(ctx, t)
}

// TestHoldEndsOnce: an ended hold cannot be ended again, or changed, or
// deleted, whatever writes to the table.
func TestHoldEndsOnce(t *testing.T) {
	ctx := ledgerCtx(t)
	f := newHeldFixture(ctx, t, 18)
	_, active := f.hold(ctx, t, 1_000_00)
	_, tr := f.hold(ctx, t, 1_000_00)
	if _, err := f.l.Decide(ctx, f.decision(tr, bank.ActionReject)); err != nil {
		t.Fatal(err)
	}
	for name, stmt := range map[string]string{
		"release again":  `UPDATE ledger.holds SET ended_at = now(), outcome = 'RELEASED' WHERE transfer_id = $1`,
		"post after all": `UPDATE ledger.holds SET outcome = 'POSTED' WHERE transfer_id = $1`,
		"delete":         `DELETE FROM ledger.holds WHERE transfer_id = $1`,
	} {
		if _, err := testPool.Exec(ctx, stmt, tr.ID); err == nil {
			t.Errorf("%s: an ended hold changed", name)
		}
	}
	if _, err := testPool.Exec(ctx, `UPDATE ledger.holds SET amount = 1 WHERE transfer_id = $1`, active.ID); err == nil {
		t.Error("an active hold's amount changed")
	}
	wantHold(ctx, t, active, "")
	cleanAudit(ctx, t)
}
