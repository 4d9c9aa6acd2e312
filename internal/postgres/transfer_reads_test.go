package postgres

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bankcore/bank/bank"
)

// TestLedger_ListTransfers: the operators' list, newest first, filtered
// and paged. The database is shared with the package's other tests, so
// each case filters on accounts, references or transfers of its own.
func TestLedger_ListTransfers(t *testing.T) {
	ctx := ledgerCtx(t)
	f := newHeldFixture(ctx, t, 20) // its ledger holds 1,000.00 or more
	a, ua := ledgerAccount(ctx, t)
	b, ub := ledgerAccount(ctx, t)
	c, uc := ledgerAccount(ctx, t)
	cFunding := mustPost(ctx, t, f.l, depositRequest(c, 5_000_00), bank.StatusCompleted)

	// In acceptance order: a deposit, transfers both ways, a refusal, a
	// held transfer and one that was decided.
	var all []bank.Transfer // of account a, oldest first
	post := func(req bank.TransferRequest, status bank.TransferStatus) bank.Transfer {
		tr := mustPost(ctx, t, f.l, req, status)
		if req.FromAccount == a || req.ToAccount == a {
			all = append(all, tr)
		}
		return tr
	}
	post(depositRequest(a, 10_000_00), bank.StatusCompleted)
	post(transferRequest(ua, a, b, 100_00), bank.StatusCompleted)
	post(transferRequest(ub, b, a, 50_00), bank.StatusCompleted)
	post(transferRequest(uc, c, a, 10_00), bank.StatusCompleted)
	post(transferRequest(ua, a, b, 50_000_01), bank.StatusFailed)
	pending := post(transferRequest(ua, a, b, 2_000_00), bank.StatusPendingApproval)
	rejected := post(transferRequest(ua, a, c, 1_500_00), bank.StatusPendingApproval)
	if _, err := f.l.Decide(ctx, f.decision(rejected, bank.ActionReject)); err != nil {
		t.Fatal(err)
	}
	rejected, _ = f.l.ByID(ctx, rejected.ID)
	all[len(all)-1] = rejected
	newestFirst := slices.Clone(all)
	slices.Reverse(newestFirst)

	ids := func(ts []bank.Transfer) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.ID)
		}
		return out
	}
	// readAll pages through a filter and checks the cursors.
	readAll := func(t *testing.T, filter bank.TransferFilter, limit int) ([]bank.Transfer, []int) {
		t.Helper()
		var out []bank.Transfer
		var sizes []int
		var before int64
		for page := 0; ; page++ {
			if page > 20 {
				t.Fatal("the cursor never ends")
			}
			items, next, err := f.l.ListTransfers(ctx, filter, limit, before)
			if err != nil {
				t.Fatalf("ListTransfers(%+v): %v", filter, err)
			}
			sizes = append(sizes, len(items))
			out = append(out, items...)
			if next == 0 {
				return out, sizes
			}
			if len(items) != limit {
				t.Fatalf("a page of %d with a next cursor, want a full page of %d", len(items), limit)
			}
			before = next
		}
	}

	for _, tc := range []struct {
		name      string
		filter    bank.TransferFilter
		limit     int
		want      []bank.Transfer
		wantSizes []int
	}{
		{"either side, one page", bank.TransferFilter{Account: a}, 100, newestFirst, []int{7}},
		{"either side, pages of 3", bank.TransferFilter{Account: a}, 3, newestFirst, []int{3, 3, 1}},
		{"either side, an exact page", bank.TransferFilter{Account: a}, 7, newestFirst, []int{7}},
		{"pages of 1", bank.TransferFilter{Account: a}, 1, newestFirst, []int{1, 1, 1, 1, 1, 1, 1}},
		{"the approvals queue of an account", bank.TransferFilter{Account: a, Status: bank.StatusPendingApproval}, 10,
			[]bank.Transfer{pending}, []int{1}},
		{"failed ones of an account", bank.TransferFilter{Account: a, Status: bank.StatusFailed}, 1,
			[]bank.Transfer{newestFirst[0], newestFirst[2]}, []int{1, 1}},
		{"the receiving side only shows up too", bank.TransferFilter{Account: c}, 10,
			append(filter(newestFirst, func(t bank.Transfer) bool { return t.FromAccount == c || t.ToAccount == c }), cFunding), []int{3}},
		{"by reference", bank.TransferFilter{Reference: pending.Reference}, 10, []bank.Transfer{pending}, []int{1}},
		{"by reference and status", bank.TransferFilter{Reference: pending.Reference, Status: bank.StatusCompleted}, 10, nil, []int{0}},
		{"an unknown account", bank.TransferFilter{Account: bank.NewAccountNumber()}, 10, nil, []int{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, sizes := readAll(t, tc.filter, tc.limit)
			if !slices.Equal(ids(got), ids(tc.want)) {
				t.Errorf("ids = %v, want %v", ids(got), ids(tc.want))
			}
			for i := range min(len(got), len(tc.want)) {
				sameHeld(t, got[i], tc.want[i])
			}
			if tc.wantSizes != nil && !slices.Equal(sizes, tc.wantSizes) {
				t.Errorf("page sizes = %v, want %v", sizes, tc.wantSizes)
			}
		})
	}

	// Unfiltered and by status: every account's, newest first; ours were
	// the latest written.
	t.Run("everything, newest first", func(t *testing.T) {
		items, next, err := f.l.ListTransfers(ctx, bank.TransferFilter{}, 2, 0)
		if err != nil || next == 0 {
			t.Fatalf("ListTransfers = %d items, next %d, %v", len(items), next, err)
		}
		if !slices.Equal(ids(items), ids(newestFirst[:2])) {
			t.Errorf("ids = %v, want %v", ids(items), ids(newestFirst[:2]))
		}
		more, _, err := f.l.ListTransfers(ctx, bank.TransferFilter{}, 100, next)
		if err != nil || len(more) == 0 || more[0].ID != newestFirst[2].ID {
			t.Errorf("the second page starts with %v, %v; want %s", ids(more), err, newestFirst[2].ID)
		}
	})
	t.Run("the approvals queue", func(t *testing.T) {
		queue, _, err := f.l.ListTransfers(ctx, bank.TransferFilter{Status: bank.StatusPendingApproval}, 100, 0)
		if err != nil || len(queue) == 0 || queue[0].ID != pending.ID {
			t.Fatalf("queue = %v, %v; want %s first", ids(queue), err, pending.ID)
		}
		for _, q := range queue {
			if q.Status != bank.StatusPendingApproval || q.Approval == nil || q.Approval.Status != bank.ApprovalPending {
				t.Errorf("%s in the queue: %s %+v", q.ID, q.Status, q.Approval)
			}
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for _, c := range []struct {
			filter bank.TransferFilter
			limit  int
		}{
			{bank.TransferFilter{Status: "APPROVED"}, 10},
			{bank.TransferFilter{Account: "0000000001"}, 10},
			{bank.TransferFilter{Reference: "a b"}, 10},
			{bank.TransferFilter{}, 0},
			{bank.TransferFilter{}, 101},
		} {
			_, _, err := f.l.ListTransfers(ctx, c.filter, c.limit, 0)
			ledgerWantCode(t, err, bank.CodeValidation)
		}
	})
	cleanAudit(ctx, t)
}

func filter(ts []bank.Transfer, keep func(bank.Transfer) bool) []bank.Transfer {
	var out []bank.Transfer
	for _, t := range ts {
		if keep(t) {
			out = append(out, t)
		}
	}
	return out
}

func TestLedger_ByID(t *testing.T) {
	ctx := ledgerCtx(t)
	l := NewLedger(testPool)
	a, ua := ledgerAccount(ctx, t)
	b, _ := ledgerAccount(ctx, t)
	dep := mustPost(ctx, t, l, depositRequest(a, 100_00), bank.StatusCompleted)
	tr := mustPost(ctx, t, l, transferRequest(ua, a, b, 10_00), bank.StatusCompleted)
	for _, want := range []bank.Transfer{dep, tr} {
		got, err := l.ByID(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameTransfer(t, got, want)
	}
	for _, id := range []string{uuid.NewString(), "", "not-a-uuid"} {
		_, err := l.ByID(ctx, id)
		ledgerWantCode(t, err, bank.CodeNotFound)
	}
}

// TestAccounts_AvailableAndDailyUsed: what GET /accounts shows of holds
// and the day, through every read of an account.
func TestAccounts_AvailableAndDailyUsed(t *testing.T) {
	ctx := ledgerCtx(t)
	f := newHeldFixture(ctx, t, 21)
	mustPost(ctx, t, f.l, transferRequest(f.ua, f.a, f.b, 300_00), bank.StatusCompleted)
	f.hold(ctx, t, 1_200_00)
	store := NewAccounts(testPool, WithClock(f.clock.Now))
	check := func(where string, a bank.Account) {
		t.Helper()
		if a.AccountNumber != f.a || a.Balance != 9_700_00 || a.AvailableBalance != 8_500_00 || a.DailyDebitUsed != 1_500_00 {
			t.Errorf("%s: %+v, want balance 9700.00, available 8500.00, 1500.00 used today", where, a)
		}
	}
	a, err := store.ByNumber(ctx, f.a)
	if err != nil {
		t.Fatal(err)
	}
	check("ByNumber", a)
	owned, err := store.ByOwner(ctx, f.ua)
	if err != nil || len(owned) != 1 {
		t.Fatalf("ByOwner = %v, %v", owned, err)
	}
	check("ByOwner", owned[0])
	provisioned, err := store.ProvisionDefault(ctx, f.ua)
	if err != nil {
		t.Fatal(err)
	}
	check("ProvisionDefault", provisioned)
	look, err := f.l.LookupTransfer(ctx, f.ua, newReference(), f.a, f.b)
	if err != nil || look.From == nil {
		t.Fatalf("LookupTransfer = %+v, %v", look, err)
	}
	check("LookupTransfer", *look.From)

	// The next Lagos day starts from zero; the hold stays.
	tomorrow := NewAccounts(testPool, WithClock(func() time.Time { return lagosMidnight(22) }))
	if a, err := tomorrow.ByNumber(ctx, f.a); err != nil || a.DailyDebitUsed != 0 || a.AvailableBalance != 8_500_00 {
		t.Errorf("the next day: %+v, %v; want nothing used and 8500.00 available", a, err)
	}
}
