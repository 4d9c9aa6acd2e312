package e2e

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/bankcore/bank/internal/testenv"
)

// TestTransferAnsweredAsSoonAsMoneyMoved: where the API and the transfers
// worker share a process, the eagerly started workflow runs right there and
// its outcome goes to the handler once the event is confirmed (package
// handoff), so the answer does not wait for the workflow task's completion
// or a Get. The answers, the balances and both parties' notifications must
// be what they were; an API instance without a worker waits on the
// workflow instead.
func TestTransferAnsweredAsSoonAsMoneyMoved(t *testing.T) {
	st := testenv.NewStack(t, testenv.StackOptions{}) // its own counters
	apiOnly := st.AddAPI(t)
	op := operator(t, st)
	alice, aliceReg := signUp(t, st)
	bob, bobReg := signUp(t, st)
	from, to := aliceReg.Account.AccountNumber, bobReg.Account.AccountNumber
	deposit(t, op, from, "100.00")
	sub := subscribe(t, apiOnly.URL, bob.Token)
	time.Sleep(300 * time.Millisecond) // the protocol has no subscribe ack

	keys := []string{newKey("ho"), newKey("ho"), newKey("ho")}
	for _, k := range keys {
		wantTransfer(t, send(alice, k, transferReq(from, to, "10.00", "hand-off")), 201)
	}
	wantProblem(t, send(alice, newKey("ho"), transferReq(from, to, "1000.00", "")), 422, "INSUFFICIENT_FUNDS")
	replay := send(alice, keys[0], transferReq(from, to, "10.00", "hand-off"))
	if replay.Status != 200 || replay.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay = %d %s", replay.Status, replay.Body)
	}
	wantTransfer(t, send(alice.WithBase(t, apiOnly.URL), newKey("ho"), transferReq(from, to, "5.00", "via B")), 201)

	wantBalance(t, alice, from, "65.00")
	wantBalance(t, bob, to, "35.00")
	for i := range 4 {
		n := sub.next(5 * time.Second)
		if n["type"] != "TRANSFER_CREDIT" {
			t.Fatalf("notification %d = %v, want TRANSFER_CREDIT", i, n)
		}
	}

	// The deposit, the three transfers and the refusal were handed over in
	// instance A; the transfer through B waited on its workflow.
	counts := func(url string) (handoff, workflow float64) {
		t.Helper()
		resp, err := http.Get(url) // #nosec G107 -- the test stack's own listener
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		handoff, _ = sample(string(body), "bank_transfer_answers_total", map[string]string{"source": "handoff"})
		workflow, _ = sample(string(body), "bank_transfer_answers_total", map[string]string{"source": "workflow"})
		return handoff, workflow
	}
	// A posting slower than the grace (a cold first one on a loaded
	// machine) may be answered by the workflow: allow one.
	if h, w := counts(st.MetricsURL); h+w != 5 || h < 4 {
		t.Errorf("instance A (API + worker): %v handed over, %v waited on the workflow; want 5 answers, at least 4 handed over", h, w)
	}
	if h, w := counts(apiOnly.MetricsURL); h != 0 || w != 1 {
		t.Errorf("instance B (API only): %v handed over, %v waited on the workflow; want 0 and 1", h, w)
	}
}
