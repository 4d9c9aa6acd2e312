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
// answers the handler itself once the posting and its event are done
// (AnswerCaller, through package handoff), so the answer does not wait for
// the workflow task's completion or a Get. The answers, the balances and
// both parties' notifications must be what they were; an API instance
// without a worker waits on the workflow (or its stored row) instead.
func TestTransferAnsweredAsSoonAsMoneyMoved(t *testing.T) {
	st := testenv.NewStack(t, testenv.StackOptions{}) // its own counters
	apiOnly := st.AddAPI(t)
	_, alice, bob, from, to := funded(t, st, "100.00")
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
	// A posting slower than the grace (a cold first one on a loaded
	// machine) may be answered by the workflow or its row: allow one.
	if h, w := answerSources(t, st.MetricsURL); h+w != 5 || h < 4 {
		t.Errorf("instance A (API + worker): %v handed over, %v waited on the workflow or its row; want 5 answers, at least 4 handed over", h, w)
	}
	if h, w := answerSources(t, apiOnly.MetricsURL); h != 0 || w != 1 {
		t.Errorf("instance B (API only): %v handed over, %v waited on the workflow or its row; want 0 and 1", h, w)
	}
}

// answerSources reads an instance's bank_transfer_answers_total: answers
// handed over in-process, and the others (the workflow's result, or the row
// stored under the key while the workflow was still running).
func answerSources(t *testing.T, url string) (handedOver, waited float64) {
	t.Helper()
	resp, err := http.Get(url) // #nosec G107 -- the test stack's own listener
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	handedOver, _ = sample(string(body), "bank_transfer_answers_total", map[string]string{"source": "handoff"})
	workflow, _ := sample(string(body), "bank_transfer_answers_total", map[string]string{"source": "workflow"})
	ledger, _ := sample(string(body), "bank_transfer_answers_total", map[string]string{"source": "ledger"})
	return handedOver, workflow + ledger
}

// TestTransferWithoutInProcessAnswer: BANK_IN_PROCESS_ANSWER=false turns
// the in-process answer off (to measure what it earns); the API and the
// worker still share the process and start transfers eagerly, and every
// answer is the same, read from the workflow or its row instead.
func TestTransferWithoutInProcessAnswer(t *testing.T) {
	st := testenv.NewStack(t, testenv.StackOptions{Env: map[string]string{"BANK_IN_PROCESS_ANSWER": "false"}})
	_, alice, _, from, to := funded(t, st, "100.00")

	key := newKey("off")
	first := wantTransfer(t, send(alice, key, transferReq(from, to, "10.00", "no hand-off")), 201)
	wantReplayed(t, send(alice, key, transferReq(from, to, "10.00", "no hand-off")), first.ID)
	wantProblem(t, send(alice, key, transferReq(from, to, "11.00", "no hand-off")), 422, "IDEMPOTENCY_KEY_REUSED")
	wantProblem(t, send(alice, newKey("off"), transferReq(from, to, "1000.00", "")), 422, "INSUFFICIENT_FUNDS")
	wantBalance(t, alice, from, "90.00")
	if h, w := answerSources(t, st.MetricsURL); h != 0 || w != 3 {
		t.Errorf("%v handed over, %v from the workflow or its row; want 0 and 3 (the deposit and both transfers)", h, w)
	}
}
