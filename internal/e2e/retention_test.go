package e2e

import (
	"context"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/bankcore/bank/internal/testenv"
	"github.com/bankcore/bank/workflows"
)

// The contract's promise: the same key with the same body, at any later
// time — also after Temporal's retention has dropped the workflow — returns
// the original outcome and moves no money. Postgres is the lasting record.
func TestIdempotencyOutlivesTemporalRetention(t *testing.T) {
	st := testenv.SharedStack(t)
	alice, aliceReg := signUp(t, st)
	_, bobReg := signUp(t, st)
	deposit(t, operator(t, st), aliceReg.Account.AccountNumber, "1000.00")

	key := "keep-" + testenv.Suffix()
	body := map[string]any{"from_account": aliceReg.Account.AccountNumber, "to_account": bobReg.Account.AccountNumber, "amount": "250.00"}
	first := wantTransfer(t, send(alice, key, body), 201)
	refusedKey := "keep-refused-" + testenv.Suffix()
	tooMuch := map[string]any{"from_account": aliceReg.Account.AccountNumber, "to_account": bobReg.Account.AccountNumber, "amount": "5000.00"}
	wantProblem(t, send(alice, refusedKey, tooMuch), 422, "INSUFFICIENT_FUNDS")

	// An instance whose Temporal has forgotten every workflow (no worker
	// serves it either: anything that needed Temporal would hang as 202).
	later := st.AddAPIWithAmnesia(t)
	alice = alice.WithBase(t, later.URL)

	r := send(alice, key, body)
	again := wantTransfer(t, r, 200)
	if r.Header.Get("Idempotent-Replayed") != "true" || again.ID != first.ID {
		t.Fatalf("replay after retention = %s (replayed %q), want transfer %s", r.Body, r.Header.Get("Idempotent-Replayed"), first.ID)
	}
	wantProblem(t, send(alice, key, map[string]any{"from_account": aliceReg.Account.AccountNumber, "to_account": bobReg.Account.AccountNumber, "amount": "251.00"}), 422, "IDEMPOTENCY_KEY_REUSED")
	// The refusal sticks even though a deposit would now cover it.
	deposit(t, operator(t, st), aliceReg.Account.AccountNumber, "10000.00") // through the first instance
	wantProblem(t, send(alice, refusedKey, tooMuch), 422, "INSUFFICIENT_FUNDS")
	if got := balance(t, alice, aliceReg.Account.AccountNumber); got != "10750.00" {
		t.Fatalf("balance = %s, want 10750.00: money moved once", got)
	}

	// Registration too: the same request after retention is the same user.
	c := st.Client(t)
	reg := newRegistration()
	r = c.Do("POST", "/auth/register", reg)
	if r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	var out registered
	r.Decode(t, &out)
	r = st.Client(t).WithBase(t, later.URL).Do("POST", "/auth/register", reg)
	var replay registered
	r.Decode(t, &replay)
	if r.Status != 201 || replay != out {
		t.Fatalf("registration replay after retention = %d %s", r.Status, r.Body)
	}
	if n := countUsers(t, st, reg.Email); n != 1 {
		t.Fatalf("%d users, want 1", n)
	}
}

// An operator who terminates a stuck run that never posted (the runbook's
// step) does not burn the customer's key: the retry runs again and posts.
func TestRetryAfterOperatorTerminatedRun(t *testing.T) {
	st := testenv.SharedStack(t)
	alice, aliceReg := signUp(t, st)
	_, bobReg := signUp(t, st)
	deposit(t, operator(t, st), aliceReg.Account.AccountNumber, "100.00")
	key := "stuck-" + testenv.Suffix()

	// A run stuck before posting: started on a queue no worker polls.
	ctx := context.Background()
	c := st.App.Temporal()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.TransferID(aliceReg.User.ID, key), TaskQueue: "nobody-polls-" + testenv.Suffix(),
	}, workflows.Transfer, workflows.TransferInput{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.TerminateWorkflow(ctx, run.GetID(), run.GetRunID(), "runbook: stuck before PostTransfer"); err != nil {
		t.Fatal(err)
	}

	r := send(alice, key, map[string]any{"from_account": aliceReg.Account.AccountNumber, "to_account": bobReg.Account.AccountNumber, "amount": "40.00"})
	wantTransfer(t, r, 201)
	if got := balance(t, alice, aliceReg.Account.AccountNumber); got != "60.00" {
		t.Fatalf("balance = %s, want 60.00", got)
	}
}
