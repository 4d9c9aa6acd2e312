package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/temporal"

	"github.com/bankcore/bank/activities"
	"github.com/bankcore/bank/bank"
)

// The ledger tests run against the package's test database (main_test.go).
// Each test opens its own accounts for fresh owners, so tests never share
// balances; the audits they run are global, so none of them may leave the
// ledger inconsistent (the corruption test restores what it breaks).

func ledgerCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// ledgerAccount opens the default (TIER_1, empty) account of a new owner.
func ledgerAccount(ctx context.Context, t *testing.T) (number, owner string) {
	t.Helper()
	owner = uuid.NewString()
	a, err := NewAccounts(testPool).ProvisionDefault(ctx, owner)
	if err != nil {
		t.Fatalf("ProvisionDefault: %v", err)
	}
	return a.AccountNumber, owner
}

// fundedPair opens two accounts of new owners and funds the first with
// funds: a sender and a receiver.
func fundedPair(ctx context.Context, t *testing.T, l *Ledger, funds bank.Money) (from, fromOwner, to, toOwner string) {
	t.Helper()
	from, fromOwner = ledgerAccount(ctx, t)
	to, toOwner = ledgerAccount(ctx, t)
	fund(ctx, t, l, from, funds)
	return from, fromOwner, to, toOwner
}

func newReference() string { return "t-" + uuid.NewString() }

// operatorID is who sends the tests' deposits.
var operatorID = uuid.NewString()

func depositRequest(to string, amount bank.Money) bank.TransferRequest {
	return bank.TransferRequest{
		Kind: bank.KindDeposit, KeyOwner: bank.SystemKeyOwner, Reference: newReference(),
		FromAccount: SystemAccountNumber, ToAccount: to, Amount: amount, Narration: "test funding", CreatedBy: operatorID,
	}
}

func transferRequest(owner, from, to string, amount bank.Money) bank.TransferRequest {
	return bank.TransferRequest{
		Kind: bank.KindTransfer, KeyOwner: owner, Reference: newReference(),
		FromAccount: from, ToAccount: to, Amount: amount, Narration: "test transfer", CreatedBy: owner,
	}
}

// mustPost posts req and insists on the status.
func mustPost(ctx context.Context, t *testing.T, l *Ledger, req bank.TransferRequest, want bank.TransferStatus) bank.Transfer {
	t.Helper()
	tr, err := l.Post(ctx, req)
	if err != nil {
		t.Fatalf("Post(%s %s→%s %s): %v", req.Kind, req.FromAccount, req.ToAccount, req.Amount, err)
	}
	if tr.Status != want {
		t.Fatalf("Post(%s %s→%s %s) status %s (%s), want %s", req.Kind, req.FromAccount, req.ToAccount, req.Amount, tr.Status, tr.FailureCode, want)
	}
	return tr
}

func fund(ctx context.Context, t *testing.T, l *Ledger, number string, amount bank.Money) {
	t.Helper()
	mustPost(ctx, t, l, depositRequest(number, amount), bank.StatusCompleted)
}

func balanceOf(ctx context.Context, t *testing.T, number string) bank.Money {
	t.Helper()
	var b bank.Money
	if err := testPool.QueryRow(ctx, `SELECT balance FROM ledger.accounts WHERE account_number = $1`, number).Scan(&b); err != nil {
		t.Fatalf("balance of %s: %v", number, err)
	}
	return b
}

func wantBalance(ctx context.Context, t *testing.T, number string, want bank.Money) {
	t.Helper()
	if got := balanceOf(ctx, t, number); got != want {
		t.Errorf("balance of %s = %s, want %s", number, got, want)
	}
}

type entryRow struct {
	Account      string
	Direction    string
	Amount       bank.Money
	BalanceAfter bank.Money
}

// entriesOf returns a transfer's ledger entries, debit first.
func entriesOf(ctx context.Context, t *testing.T, transferID string) []entryRow {
	t.Helper()
	return queryRows[entryRow](ctx, t, `
		SELECT a.account_number, e.direction, e.amount, e.balance_after
		FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id
		WHERE e.transfer_id = $1 ORDER BY e.direction DESC`, transferID)
}

// queryRows runs sql and returns its rows as Ts, column by field.
func queryRows[T any](ctx context.Context, t *testing.T, sql string, args ...any) []T {
	t.Helper()
	rows, err := testPool.Query(ctx, sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[T])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func countTransfers(ctx context.Context, t *testing.T, keyOwner, reference string) int {
	t.Helper()
	var n int
	if err := testPool.QueryRow(ctx, `SELECT count(*) FROM ledger.transfers WHERE key_owner = $1 AND reference = $2`,
		keyOwner, reference).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func ledgerWantCode(t *testing.T, err error, code bank.Code) {
	t.Helper()
	if got := bank.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want %s", err, got, code)
	}
}

// cleanAudit runs the audit and insists on every invariant of CONTRACT.md.
func cleanAudit(ctx context.Context, t *testing.T) Audit {
	t.Helper()
	a, err := NewLedger(testPool).RunAudit(ctx)
	if err != nil {
		t.Fatalf("RunAudit: %v", err)
	}
	if broken := a.Broken(); len(broken) > 0 {
		t.Errorf("audit found broken invariants: %v\n%+v", broken, a)
	}
	return a
}

// sameTransfer compares two reads of one stored transfer.
func sameTransfer(t *testing.T, got, want bank.Transfer) {
	t.Helper()
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("created_at %v, want %v", got.CreatedAt, want.CreatedAt)
	}
	if (got.CompletedAt == nil) != (want.CompletedAt == nil) ||
		(got.CompletedAt != nil && !got.CompletedAt.Equal(*want.CompletedAt)) {
		t.Errorf("completed_at %v, want %v", got.CompletedAt, want.CompletedAt)
	}
	got.CreatedAt, got.CompletedAt = want.CreatedAt, want.CompletedAt
	if !bytes.Equal(got.RequestHash, want.RequestHash) {
		t.Errorf("request hash %x, want %x", got.RequestHash, want.RequestHash)
	}
	got.RequestHash = want.RequestHash
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("transfer = %+v\nwant       %+v", got, want)
	}
}

func TestLedger_Post(t *testing.T) {
	l := NewLedger(testPool)

	t.Run("Completed", func(t *testing.T) {
		ctx := ledgerCtx(t)
		a, ua, b, ub := fundedPair(ctx, t, l, 1_000_00)

		req := transferRequest(ua, a, b, 250_50)
		req.Narration = "rent, March"
		before := time.Now()
		tr := mustPost(ctx, t, l, req, bank.StatusCompleted)

		if _, err := uuid.Parse(tr.ID); err != nil {
			t.Errorf("id %q is not a uuid", tr.ID)
		}
		want := bank.Transfer{
			ID: tr.ID, Kind: bank.KindTransfer, KeyOwner: ua, Reference: req.Reference, RequestHash: req.Hash(),
			FromAccount: a, ToAccount: b, FromOwnerID: ua, ToOwnerID: ub, Amount: 250_50, Narration: "rent, March",
			Status: bank.StatusCompleted, CreatedBy: ua, CreatedAt: tr.CreatedAt, CompletedAt: tr.CompletedAt,
		}
		sameTransfer(t, tr, want)
		if tr.CreatedAt.Before(before.Add(-time.Minute)) || tr.CompletedAt == nil {
			t.Errorf("created_at %v completed_at %v", tr.CreatedAt, tr.CompletedAt)
		}

		wantBalance(ctx, t, a, 749_50)
		wantBalance(ctx, t, b, 250_50)
		wantEntries := []entryRow{{a, "DEBIT", 250_50, 749_50}, {b, "CREDIT", 250_50, 250_50}}
		if got := entriesOf(ctx, t, tr.ID); !slices.Equal(got, wantEntries) {
			t.Errorf("entries = %+v, want %+v", got, wantEntries)
		}

		stored, err := l.ByKey(ctx, ua, req.Reference)
		if err != nil {
			t.Fatalf("ByKey: %v", err)
		}
		sameTransfer(t, stored, tr)
		// The key is the sender's: nobody else finds it.
		_, err = l.ByKey(ctx, ub, req.Reference)
		ledgerWantCode(t, err, bank.CodeNotFound)
		_, err = l.ByKey(ctx, "not-a-uuid", req.Reference)
		ledgerWantCode(t, err, bank.CodeNotFound)
	})

	t.Run("Refusals", func(t *testing.T) {
		cases := []struct {
			code bank.Code
			// setup returns the request, after funding what it needs.
			setup func(ctx context.Context, t *testing.T) bank.TransferRequest
		}{
			{bank.CodeSameAccount, func(ctx context.Context, t *testing.T) bank.TransferRequest {
				a, ua := ledgerAccount(ctx, t)
				fund(ctx, t, l, a, 1_000_00)
				return transferRequest(ua, a, a, 10_00)
			}},
			{bank.CodeSingleLimit, func(ctx context.Context, t *testing.T) bank.TransferRequest {
				a, ua, b, _ := fundedPair(ctx, t, l, 60_000_00) // a deposit is not bound by the single limit
				return transferRequest(ua, a, b, 50_000_01)
			}},
			{bank.CodeInsufficientFunds, func(ctx context.Context, t *testing.T) bank.TransferRequest {
				a, ua, b, _ := fundedPair(ctx, t, l, 100_00)
				return transferRequest(ua, a, b, 100_01)
			}},
			{bank.CodeReceiverLimit, func(ctx context.Context, t *testing.T) bank.TransferRequest {
				a, ua, b, _ := fundedPair(ctx, t, l, 100_00)
				fund(ctx, t, l, b, 299_999_99)
				return transferRequest(ua, a, b, 2)
			}},
		}
		for _, c := range cases {
			t.Run(string(c.code), func(t *testing.T) {
				ctx := ledgerCtx(t)
				req := c.setup(ctx, t)
				fromBefore, toBefore := balanceOf(ctx, t, req.FromAccount), balanceOf(ctx, t, req.ToAccount)

				tr := mustPost(ctx, t, l, req, bank.StatusFailed)
				if tr.FailureCode != c.code {
					t.Errorf("failure code %q, want %s", tr.FailureCode, c.code)
				}
				if tr.ID == "" || tr.Amount != req.Amount || tr.FromAccount != req.FromAccount || tr.ToAccount != req.ToAccount ||
					tr.CompletedAt == nil || !bytes.Equal(tr.RequestHash, req.Hash()) {
					t.Errorf("refused transfer = %+v", tr)
				}
				if got := entriesOf(ctx, t, tr.ID); len(got) != 0 {
					t.Errorf("a refusal wrote entries: %+v", got)
				}
				wantBalance(ctx, t, req.FromAccount, fromBefore)
				wantBalance(ctx, t, req.ToAccount, toBefore)

				stored, err := l.ByKey(ctx, req.KeyOwner, req.Reference)
				if err != nil {
					t.Fatalf("ByKey: %v", err)
				}
				sameTransfer(t, stored, tr)
			})
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		ctx := ledgerCtx(t)
		a, ua, b, ub := fundedPair(ctx, t, l, 1_000_00)
		unknown := bank.NewAccountNumber() // one in 900 million to exist

		cases := map[string]bank.TransferRequest{
			"unknown receiver": transferRequest(ua, a, unknown, 10_00),
			"unknown sender":   transferRequest(ua, unknown, b, 10_00),
			// b's owner asking to send from a: a exists, but not for them.
			"sender of another owner": transferRequest(ub, a, b, 10_00),
			// Customers cannot send from the funding account.
			"system sender": transferRequest(ua, SystemAccountNumber, b, 10_00),
			// Nor pay into it: it is nobody's customer account (GET
			// /accounts/0000000000 is 404 too).
			"system receiver": transferRequest(ua, a, SystemAccountNumber, 10_00),
		}
		for name, req := range cases {
			t.Run(name, func(t *testing.T) {
				_, err := l.Post(ctx, req)
				ledgerWantCode(t, err, bank.CodeNotFound)
				if n := countTransfers(ctx, t, req.KeyOwner, req.Reference); n != 0 {
					t.Errorf("a NOT_FOUND stored %d transfers under its key", n)
				}
			})
		}
		wantBalance(ctx, t, a, 1_000_00)
		wantBalance(ctx, t, b, 0)
	})

	t.Run("Deposit", func(t *testing.T) {
		ctx := ledgerCtx(t)
		b, ub := ledgerAccount(ctx, t)
		sysBefore := balanceOf(ctx, t, SystemAccountNumber)

		// Above TIER_1's single limit: the system account has none.
		req := depositRequest(b, 120_000_00)
		tr := mustPost(ctx, t, l, req, bank.StatusCompleted)
		want := bank.Transfer{
			ID: tr.ID, Kind: bank.KindDeposit, KeyOwner: bank.SystemKeyOwner, Reference: req.Reference, RequestHash: req.Hash(),
			FromAccount: SystemAccountNumber, ToAccount: b, FromOwnerID: "", ToOwnerID: ub, Amount: 120_000_00,
			Narration: req.Narration, Status: bank.StatusCompleted, CreatedBy: operatorID, CreatedAt: tr.CreatedAt, CompletedAt: tr.CompletedAt,
		}
		sameTransfer(t, tr, want)

		sysAfter := balanceOf(ctx, t, SystemAccountNumber)
		if sysAfter != sysBefore-120_000_00 || sysAfter >= 0 {
			t.Errorf("system balance %s → %s, want it %s lower and below zero", sysBefore, sysAfter, bank.Money(120_000_00))
		}
		wantBalance(ctx, t, b, 120_000_00)
		wantEntries := []entryRow{{SystemAccountNumber, "DEBIT", 120_000_00, sysAfter}, {b, "CREDIT", 120_000_00, 120_000_00}}
		if got := entriesOf(ctx, t, tr.ID); !slices.Equal(got, wantEntries) {
			t.Errorf("entries = %+v, want %+v", got, wantEntries)
		}

		// Deposits obey the receiver's max balance too.
		over := mustPost(ctx, t, l, depositRequest(b, 180_000_01), bank.StatusFailed)
		if over.FailureCode != bank.CodeReceiverLimit {
			t.Errorf("deposit above max balance refused with %q, want %s", over.FailureCode, bank.CodeReceiverLimit)
		}
		mustPost(ctx, t, l, depositRequest(b, 180_000_00), bank.StatusCompleted) // exactly to the max
		wantBalance(ctx, t, b, 300_000_00)

		// A deposit must come from the system account.
		bad := depositRequest(b, 1_00)
		a, _ := ledgerAccount(ctx, t)
		bad.FromAccount = a
		if _, err := l.Post(ctx, bad); err == nil {
			t.Error("a deposit from a customer account was accepted")
		}

		cleanAudit(ctx, t) // the total stays zero: the system account carries the minus
	})
}

func TestLedger_PostIdempotency(t *testing.T) {
	l := NewLedger(testPool)

	t.Run("SameRequestTwice", func(t *testing.T) {
		ctx := ledgerCtx(t)
		a, ua, b, _ := fundedPair(ctx, t, l, 1_000_00)
		req := transferRequest(ua, a, b, 300_00)

		first := mustPost(ctx, t, l, req, bank.StatusCompleted)
		second := mustPost(ctx, t, l, req, bank.StatusCompleted)
		sameTransfer(t, second, first)
		wantBalance(ctx, t, a, 700_00)
		wantBalance(ctx, t, b, 300_00)
		if got := entriesOf(ctx, t, first.ID); len(got) != 2 {
			t.Errorf("entries = %+v, want one debit and one credit", got)
		}
	})

	t.Run("KeyReusedForAnotherRequest", func(t *testing.T) {
		ctx := ledgerCtx(t)
		a, ua := ledgerAccount(ctx, t)
		b, _ := ledgerAccount(ctx, t)
		c, _ := ledgerAccount(ctx, t)
		fund(ctx, t, l, a, 1_000_00)
		req := transferRequest(ua, a, b, 300_00)
		first := mustPost(ctx, t, l, req, bank.StatusCompleted)

		changes := map[string]func(r *bank.TransferRequest){
			"amount":    func(r *bank.TransferRequest) { r.Amount = 301_00 },
			"receiver":  func(r *bank.TransferRequest) { r.ToAccount = c },
			"narration": func(r *bank.TransferRequest) { r.Narration = "something else" },
		}
		for name, change := range changes {
			t.Run(name, func(t *testing.T) {
				other := req
				change(&other)
				_, err := l.Post(ctx, other)
				ledgerWantCode(t, err, bank.CodeIdempotencyReused)
			})
		}
		wantBalance(ctx, t, a, 700_00)
		wantBalance(ctx, t, b, 300_00)
		wantBalance(ctx, t, c, 0)
		stored, err := l.ByKey(ctx, ua, req.Reference)
		if err != nil {
			t.Fatal(err)
		}
		sameTransfer(t, stored, first) // the key still answers with the first request
	})

	t.Run("SameReferenceTwoKeyOwners", func(t *testing.T) {
		ctx := ledgerCtx(t)
		a1, u1 := ledgerAccount(ctx, t)
		a2, u2 := ledgerAccount(ctx, t)
		b, _ := ledgerAccount(ctx, t)
		fund(ctx, t, l, a1, 1_000_00)
		fund(ctx, t, l, a2, 1_000_00)
		ref := newReference()
		r1 := transferRequest(u1, a1, b, 100_00)
		r2 := transferRequest(u2, a2, b, 100_00)
		r1.Reference, r2.Reference = ref, ref

		t1 := mustPost(ctx, t, l, r1, bank.StatusCompleted)
		t2 := mustPost(ctx, t, l, r2, bank.StatusCompleted)
		if t1.ID == t2.ID {
			t.Fatal("two key owners' transfers share an id")
		}
		wantBalance(ctx, t, b, 200_00)
		for _, k := range []struct{ owner, id string }{{u1, t1.ID}, {u2, t2.ID}} {
			got, err := l.ByKey(ctx, k.owner, ref)
			if err != nil || got.ID != k.id {
				t.Errorf("ByKey(%s) = %s, %v; want %s", k.owner, got.ID, err, k.id)
			}
		}
	})

	t.Run("RefusalIsSticky", func(t *testing.T) {
		ctx := ledgerCtx(t)
		a, ua := ledgerAccount(ctx, t)
		b, _ := ledgerAccount(ctx, t)
		req := transferRequest(ua, a, b, 500_00)

		refused := mustPost(ctx, t, l, req, bank.StatusFailed)
		if refused.FailureCode != bank.CodeInsufficientFunds {
			t.Fatalf("failure code %q, want %s", refused.FailureCode, bank.CodeInsufficientFunds)
		}
		fund(ctx, t, l, a, 1_000_00) // the cause is gone

		again := mustPost(ctx, t, l, req, bank.StatusFailed)
		sameTransfer(t, again, refused)
		wantBalance(ctx, t, a, 1_000_00)
		wantBalance(ctx, t, b, 0)

		// A new key is needed, and works.
		fresh := req
		fresh.Reference = newReference()
		mustPost(ctx, t, l, fresh, bank.StatusCompleted)
		wantBalance(ctx, t, a, 500_00)
	})

	// A PostTransfer activity whose commit succeeded but whose result was
	// lost (worker crash, timeout) runs again with the same input: the
	// retry answers with the stored outcome and moves nothing.
	t.Run("ActivityRetriedAfterCommit", func(t *testing.T) {
		ctx := ledgerCtx(t)
		act := &activities.Ledger{Ledger: l}
		a, ua, b, _ := fundedPair(ctx, t, l, 1_000_00)
		in := activities.PostTransferInput{Request: transferRequest(ua, a, b, 400_00)}

		first, err := act.PostTransfer(ctx, in)
		if err != nil {
			t.Fatalf("PostTransfer: %v", err)
		}
		for attempt := 2; attempt <= 3; attempt++ {
			retry, err := act.PostTransfer(ctx, in)
			if err != nil {
				t.Fatalf("attempt %d: %v", attempt, err)
			}
			sameTransfer(t, retry.Transfer, first.Transfer)
		}
		wantBalance(ctx, t, a, 600_00)
		wantBalance(ctx, t, b, 400_00)
		if got := entriesOf(ctx, t, first.Transfer.ID); len(got) != 2 {
			t.Errorf("entries = %+v, want one debit and one credit", got)
		}

		// A refused posting retried is refused again, with the same stored
		// transfer in the detail, and never retried by Temporal.
		short := activities.PostTransferInput{Request: transferRequest(ua, a, b, 600_01)}
		var ids []string
		for range 2 {
			_, err := act.PostTransfer(ctx, short)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != string(bank.CodeInsufficientFunds) || !appErr.NonRetryable() {
				t.Fatalf("refusal = %v, want a non-retryable %s", err, bank.CodeInsufficientFunds)
			}
			var refusal activities.TransferRefusal
			if err := appErr.Details(&refusal); err != nil {
				t.Fatalf("refusal detail: %v", err)
			}
			if refusal.Transfer.Status != bank.StatusFailed || refusal.Transfer.FailureCode != bank.CodeInsufficientFunds {
				t.Errorf("refusal detail = %+v", refusal.Transfer)
			}
			ids = append(ids, refusal.Transfer.ID)
		}
		if ids[0] == "" || ids[0] != ids[1] {
			t.Errorf("refused twice with transfer ids %v, want one stored refusal", ids)
		}
		wantBalance(ctx, t, a, 600_00)
	})
}

// dedicatedPool opens a pool of its own with a recognisable application
// name, for tests that need many real connections at once.
func dedicatedPool(ctx context.Context, t *testing.T, name string, size int32) (*pgxpool.Pool, string) {
	t.Helper()
	u, err := url.Parse(testDSN)
	if err != nil {
		t.Fatal(err)
	}
	app := name + "-" + uuid.NewString()[:8]
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	pool, err := Connect(ctx, u.String(), size)
	if err != nil {
		t.Fatal(err)
	}
	return pool, app
}

func TestLedger_PostConcurrentSameKey(t *testing.T) {
	for _, n := range []int{2, 20} {
		t.Run(fmt.Sprintf("%d callers", n), func(t *testing.T) {
			ctx := ledgerCtx(t)
			pool, _ := dedicatedPool(ctx, t, "ledger-same-key", int32(n))
			defer pool.Close()
			l := NewLedger(pool)
			a, ua, b, _ := fundedPair(ctx, t, l, 1_000_00)
			req := transferRequest(ua, a, b, 150_00)

			// Warm every connection so the callers start together. A failed
			// acquire gives back what it holds: pool.Close waits for every
			// connection, and would wait for ever.
			conns := make([]*pgxpool.Conn, 0, n)
			release := func() {
				for _, c := range conns {
					c.Release()
				}
			}
			for range n {
				c, err := pool.Acquire(ctx)
				if err != nil {
					release()
					t.Fatal(err)
				}
				conns = append(conns, c)
			}
			release()

			results := make([]bank.Transfer, n)
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					results[i], errs[i] = l.Post(ctx, req)
				})
			}
			close(start)
			wg.Wait()

			for i := range n {
				if errs[i] != nil {
					t.Fatalf("caller %d: %v", i, errs[i])
				}
				if results[i].Status != bank.StatusCompleted || results[i].ID != results[0].ID {
					t.Errorf("caller %d got %s %s, caller 0 got %s", i, results[i].ID, results[i].Status, results[0].ID)
				}
			}
			if got := countTransfers(ctx, t, ua, req.Reference); got != 1 {
				t.Errorf("%d transfers stored under one key", got)
			}
			if got := entriesOf(ctx, t, results[0].ID); len(got) != 2 {
				t.Errorf("entries = %+v, want exactly one posting", got)
			}
			wantBalance(ctx, t, a, 850_00)
			wantBalance(ctx, t, b, 150_00)
		})
	}

	// One key raced with two different bodies: one body wins, its callers
	// share its transfer, the others are told the key is taken.
	t.Run("two bodies", func(t *testing.T) {
		const n = 10
		ctx := ledgerCtx(t)
		pool, _ := dedicatedPool(ctx, t, "ledger-same-key", n)
		defer pool.Close()
		l := NewLedger(pool)
		a, ua, b, _ := fundedPair(ctx, t, l, 1_000_00)
		reqs := [2]bank.TransferRequest{transferRequest(ua, a, b, 100_00), transferRequest(ua, a, b, 200_00)}
		reqs[1].Reference = reqs[0].Reference

		results := make([]bank.Transfer, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				results[i], errs[i] = l.Post(ctx, reqs[i%2])
			})
		}
		close(start)
		wg.Wait()

		stored, err := l.ByKey(ctx, ua, reqs[0].Reference)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if bytes.Equal(reqs[i%2].Hash(), stored.RequestHash) {
				if errs[i] != nil || results[i].ID != stored.ID {
					t.Errorf("caller %d with the winning body: %s, %v; want %s", i, results[i].ID, errs[i], stored.ID)
				}
			} else if bank.ErrorCode(errs[i]) != bank.CodeIdempotencyReused {
				t.Errorf("caller %d with the losing body: %+v, %v; want %s", i, results[i], errs[i], bank.CodeIdempotencyReused)
			}
		}
		wantBalance(ctx, t, a, 1_000_00-stored.Amount)
		wantBalance(ctx, t, b, stored.Amount)
	})
}

// TestLedger_PostOpposingStorm sends money both ways between two accounts
// from many connections at once. Ordered locking means no deadlock ever
// happens (not merely that Post's retry hides it): the database's own
// deadlock counter must not move.
func TestLedger_PostOpposingStorm(t *testing.T) {
	const (
		transfers = 200
		workers   = 16
	)
	// The storm takes about a second; a lock-order regression turns it into
	// a crawl of one deadlock_timeout per cycle, so fail it early.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	deadlocksBefore := deadlockCount(ctx, t)

	pool, app := dedicatedPool(ctx, t, "ledger-storm", workers)
	l := NewLedger(pool)
	a, ua := ledgerAccount(ctx, t)
	b, ub := ledgerAccount(ctx, t)
	const funding = 100_000_00
	fund(ctx, t, l, a, funding)
	fund(ctx, t, l, b, funding)

	// Amounts of up to 500.00 each way: at most 50,000.00 drains from
	// either side, so every transfer should complete.
	rng := rand.New(rand.NewPCG(1, 2))
	reqs := make([]bank.TransferRequest, transfers)
	var wantA, wantB bank.Money = funding, funding
	for i := range reqs {
		amount := bank.Money(1 + rng.IntN(500_00))
		if i%2 == 0 {
			reqs[i] = transferRequest(ua, a, b, amount)
			wantA, wantB = wantA-amount, wantB+amount
		} else {
			reqs[i] = transferRequest(ub, b, a, amount)
			wantA, wantB = wantA+amount, wantB-amount
		}
	}

	jobs := make(chan int)
	errs := make([]error, transfers)
	results := make([]bank.Transfer, transfers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				results[i], errs[i] = l.Post(ctx, reqs[i])
			}
		})
	}
	for i := range reqs {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			t.Errorf("transfer %d reached its caller with an error: %v", i, err)
		} else if results[i].Status != bank.StatusCompleted {
			t.Errorf("transfer %d: %s %s", i, results[i].Status, results[i].FailureCode)
		}
	}
	wantBalance(ctx, t, a, wantA)
	wantBalance(ctx, t, b, wantB)
	if audit := cleanAudit(ctx, t); audit.CompletedPosted < transfers {
		t.Errorf("audit counts %d posted transfers, want at least %d", audit.CompletedPosted, transfers)
	}

	// A backend flushes its statistics when it exits: close the pool, wait
	// for its sessions to end, then read the counter.
	pool.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var n int
		if err := testPool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d storm sessions still open", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if after := deadlockCount(ctx, t); after != deadlocksBefore {
		t.Errorf("PostgreSQL detected %d deadlocks during the storm", after-deadlocksBefore)
	}
}

func deadlockCount(ctx context.Context, t *testing.T) int64 {
	t.Helper()
	var n int64
	if err := testPool.QueryRow(ctx, `SELECT coalesce(deadlocks, 0) FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLedger_Entries(t *testing.T) {
	ctx := ledgerCtx(t)
	l := NewLedger(testPool)
	a, ua := ledgerAccount(ctx, t)
	b, ub := ledgerAccount(ctx, t)

	dep := depositRequest(a, 1_000_00)
	mustPost(ctx, t, l, dep, bank.StatusCompleted)
	var reqs []bank.TransferRequest
	for i, amount := range []bank.Money{100_00, 200_00, 300_00} {
		r := transferRequest(ua, a, b, amount)
		r.Narration = fmt.Sprintf("a to b #%d", i+1)
		mustPost(ctx, t, l, r, bank.StatusCompleted)
		reqs = append(reqs, r)
	}
	back := transferRequest(ub, b, a, 50_00)
	back.Narration = "b to a"
	mustPost(ctx, t, l, back, bank.StatusCompleted)
	// A refusal has no entries and does not show.
	mustPost(ctx, t, l, transferRequest(ua, a, b, 10_000_00), bank.StatusFailed)

	type view struct {
		Reference, Direction string
		Amount, BalanceAfter bank.Money
		Counterparty         string
		Narration            string
	}
	wantA := []view{ // newest first
		{back.Reference, "CREDIT", 50_00, 450_00, b, "b to a"},
		{reqs[2].Reference, "DEBIT", 300_00, 400_00, b, "a to b #3"},
		{reqs[1].Reference, "DEBIT", 200_00, 700_00, b, "a to b #2"},
		{reqs[0].Reference, "DEBIT", 100_00, 900_00, b, "a to b #1"},
		{dep.Reference, "CREDIT", 1_000_00, 1_000_00, SystemAccountNumber, "test funding"},
	}
	wantB := []view{
		{back.Reference, "DEBIT", 50_00, 550_00, a, "b to a"},
		{reqs[2].Reference, "CREDIT", 300_00, 600_00, a, "a to b #3"},
		{reqs[1].Reference, "CREDIT", 200_00, 300_00, a, "a to b #2"},
		{reqs[0].Reference, "CREDIT", 100_00, 100_00, a, "a to b #1"},
	}

	// readAll pages through an account's history and checks the cursors.
	readAll := func(t *testing.T, number string, limit int) ([]view, []int) {
		t.Helper()
		var out []view
		var sizes []int
		var before, lastID int64
		for page := 0; ; page++ {
			if page > 10 {
				t.Fatal("the cursor never ends")
			}
			entries, next, err := l.Entries(ctx, number, limit, before)
			if err != nil {
				t.Fatalf("Entries: %v", err)
			}
			sizes = append(sizes, len(entries))
			for _, e := range entries {
				if lastID != 0 && e.ID >= lastID {
					t.Errorf("entry %d after %d: not newest first", e.ID, lastID)
				}
				lastID = e.ID
				if e.CreatedAt.IsZero() {
					t.Errorf("entry %d has no time", e.ID)
				}
				out = append(out, view{e.TransferReference, e.Direction, e.Amount, e.BalanceAfter, e.CounterpartyAccount, e.Narration})
			}
			if next == 0 {
				return out, sizes
			}
			if len(entries) != limit || next != entries[len(entries)-1].ID {
				t.Fatalf("page of %d with next cursor %d, want a full page ending at the cursor", len(entries), next)
			}
			before = next
		}
	}

	for _, c := range []struct {
		name      string
		number    string
		limit     int
		want      []view
		wantSizes []int
	}{
		{"sender in pages of 2", a, 2, wantA, []int{2, 2, 1}},
		{"sender in one exact page", a, 5, wantA, []int{5}}, // no empty last page
		{"sender in one large page", a, 100, wantA, []int{5}},
		{"receiver in pages of 3", b, 3, wantB, []int{3, 1}},
		{"receiver in pages of 1", b, 1, wantB, []int{1, 1, 1, 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, sizes := readAll(t, c.number, c.limit)
			if !slices.Equal(got, c.want) {
				t.Errorf("entries =\n%+v\nwant\n%+v", got, c.want)
			}
			if !slices.Equal(sizes, c.wantSizes) {
				t.Errorf("page sizes = %v, want %v", sizes, c.wantSizes)
			}
		})
	}

	t.Run("unknown account", func(t *testing.T) {
		entries, next, err := l.Entries(ctx, bank.NewAccountNumber(), 10, 0)
		if err != nil || len(entries) != 0 || next != 0 {
			t.Errorf("Entries(unknown) = %v, %d, %v", entries, next, err)
		}
	})
}

// TestLedger_RunAuditFindsCorruption proves the audit can fail: a balance
// changed behind the ledger's back is reported.
func TestLedger_RunAuditFindsCorruption(t *testing.T) {
	ctx := ledgerCtx(t)
	l := NewLedger(testPool)
	a, _ := ledgerAccount(ctx, t)
	fund(ctx, t, l, a, 1_000_00)
	before := cleanAudit(ctx, t)
	if slices.Contains(before.Mismatched, a) {
		t.Fatal("the account is reported before it was corrupted")
	}

	set := func(ctx context.Context, balance bank.Money) error {
		_, err := testPool.Exec(ctx, `UPDATE ledger.accounts SET balance = $2 WHERE account_number = $1`, a, int64(balance))
		return err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := set(ctx, 1_000_00); err != nil {
			t.Errorf("restoring the corrupted balance: %v", err)
		}
	})

	// One kobo out of nowhere.
	if err := set(ctx, 1_000_01); err != nil {
		t.Fatal(err)
	}
	got, err := l.RunAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got.Mismatched, a) {
		t.Errorf("audit missed the corrupted balance of %s: %+v", a, got)
	}
	if got.Total != before.Total+1 {
		t.Errorf("audit total = %s, want %s", got.Total, before.Total+1)
	}

	// Above TIER_1's max balance.
	if err := set(ctx, 300_000_01); err != nil {
		t.Fatal(err)
	}
	got, err = l.RunAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got.AboveMax, a) || !slices.Contains(got.Mismatched, a) {
		t.Errorf("audit missed a balance above the tier's max: %+v", got)
	}

	if err := set(ctx, 1_000_00); err != nil {
		t.Fatal(err)
	}
	cleanAudit(ctx, t)
}
