package api

import (
	"context"
	"testing"
	"time"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/handoff"
)

func TestAwaitHandOff(t *testing.T) {
	ctx := context.Background()
	if _, ok := awaitHandOff(ctx, nil, time.Hour); ok {
		t.Error("no worker in this process: reported a hand-off")
	}

	// The workflow ran elsewhere: after the grace the handler asks it.
	h := handoff.New()
	ch, stop := h.Wait("transfer/u/elsewhere")
	defer stop()
	start := time.Now()
	if _, ok := awaitHandOff(ctx, ch, 50*time.Millisecond); ok {
		t.Error("nothing was delivered, yet a hand-off was reported")
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("gave up after %v, want the 50ms grace", d)
	}

	ch, stop2 := h.Wait("transfer/u/here")
	defer stop2()
	go h.Deliver("transfer/u/here", handoff.Outcome{Transfer: bank.Transfer{ID: "t1"}})
	o, ok := awaitHandOff(ctx, ch, time.Minute)
	if !ok || o.Transfer.ID != "t1" {
		t.Errorf("delivered outcome not handed over: %+v %v", o, ok)
	}

	// A client that goes away ends the wait at once.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	ch, stop3 := h.Wait("transfer/u/gone")
	defer stop3()
	start = time.Now()
	if _, ok := awaitHandOff(cctx, ch, time.Minute); ok {
		t.Error("cancelled request reported a hand-off")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a cancelled request waited %v", d)
	}
}
