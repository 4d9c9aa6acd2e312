package handoff

import (
	"sync"
	"testing"
	"time"

	"github.com/bankcore/bank/bank"
)

func TestDeliverReachesEveryWaiterOnce(t *testing.T) {
	h := New()
	a, stopA := h.Wait("transfer/u/k")
	b, stopB := h.Wait("transfer/u/k")
	other, stopOther := h.Wait("transfer/u/other")
	defer stopA()
	defer stopB()
	defer stopOther()

	want := bank.Transfer{ID: "t1", Reference: "k", Status: bank.StatusCompleted}
	h.Deliver("transfer/u/k", bank.Answer{Transfer: want})
	for name, ch := range map[string]<-chan bank.Answer{"a": a, "b": b} {
		select {
		case o := <-ch:
			if o.Transfer.ID != want.ID || o.Refusal != "" {
				t.Errorf("%s got %+v, want transfer %s", name, o, want.ID)
			}
		default:
			t.Errorf("%s got nothing", name)
		}
	}
	nothingYet(t, other, "a waiter on another id got")
	// A second delivery for the same id (a retried activity) finds no one:
	// those waiters were answered and forgotten.
	h.Deliver("transfer/u/k", bank.Answer{Refusal: bank.CodeNotFound})
	nothingYet(t, a, "waiter got a second answer")
	if n := h.Waiting(); n != 1 {
		t.Errorf("Waiting() = %d, want 1 (only the other id)", n)
	}
}

func TestStopForgetsTheWaiter(t *testing.T) {
	h := New()
	ch, stop := h.Wait("deposit/r")
	stop()
	stop() // idempotent
	h.Deliver("deposit/r", bank.Answer{Transfer: bank.Transfer{ID: "t"}})
	nothingYet(t, ch, "stopped waiter got")
	if n := h.Waiting(); n != 0 {
		t.Errorf("Waiting() = %d after stop, want 0", n)
	}
}

func TestNilHubNeverDelivers(t *testing.T) {
	var h *Hub
	ch, stop := h.Wait("x")
	if ch != nil {
		t.Error("nil Hub returned a channel")
	}
	stop()
	h.Deliver("x", bank.Answer{})
	if h.Waiting() != 0 {
		t.Error("nil Hub has waiters")
	}
}

// Waiters that come and go while deliveries run must neither block a
// delivery nor leak (run with -race).
func TestConcurrentWaitDeliverStop(t *testing.T) {
	h := New()
	var wg sync.WaitGroup
	for i := range 200 {
		id := []string{"a", "b", "c"}[i%3]
		wg.Go(func() {
			ch, stop := h.Wait(id)
			defer stop()
			h.Deliver(id, bank.Answer{Transfer: bank.Transfer{ID: id}})
			// Registered before its own delivery: that one, or another for
			// the same id after it registered, reaches it (a delivery sends
			// outside the lock, so it may land a moment later).
			select {
			case o := <-ch:
				if o.Transfer.ID != id {
					t.Errorf("waiter on %s got %s", id, o.Transfer.ID)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("waiter on %s got nothing after its own delivery", id)
			}
		})
	}
	wg.Wait()
	if n := h.Waiting(); n != 0 {
		t.Errorf("Waiting() = %d after all stopped, want 0", n)
	}
}

// nothingYet fails the test, saying what, when ch holds an answer.
func nothingYet(t *testing.T, ch <-chan bank.Answer, what string) {
	t.Helper()
	select {
	case o := <-ch:
		t.Errorf("%s %+v", what, o)
	default:
	}
}
