package api

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/handoff"
	"github.com/bankcore/bank/internal/metrics"
)

// fakeSources are answer sources a test controls: result blocks until the
// test sends on results (or the wait is cancelled); stored answers once
// rowAfter reads have been made (never when rowAfter is 0).
type fakeSources struct {
	results  chan fakeEnd
	askedCh  chan struct{} // closed when the workflow is first asked
	asked    atomic.Int32
	askedAt  atomic.Int64 // ns since start
	reads    atomic.Int32
	rowAfter int32
	start    time.Time
}

type fakeEnd struct {
	a   bank.Answer
	ok  bool
	err error
}

func newFakeSources() *fakeSources {
	return &fakeSources{results: make(chan fakeEnd, 1), askedCh: make(chan struct{}), start: time.Now()}
}

func (f *fakeSources) sources(inProcess <-chan bank.Answer, grace, wait time.Duration) answerSources {
	return answerSources{
		inProcess: inProcess,
		result: func(ctx context.Context) (bank.Answer, bool, error) {
			f.askedAt.Store(int64(time.Since(f.start)))
			if f.asked.Add(1) == 1 {
				close(f.askedCh)
			}
			select {
			case e := <-f.results:
				return e.a, e.ok, e.err
			case <-ctx.Done():
				return bank.Answer{}, false, ctx.Err()
			}
		},
		stored: func(context.Context) (bank.Answer, bool) {
			n := f.reads.Add(1)
			if f.rowAfter == 0 || n < f.rowAfter {
				return bank.Answer{}, false
			}
			return bank.Answer{Transfer: bank.Transfer{ID: "from-the-row"}}, true
		},
		grace: grace, wait: wait,
	}
}

func TestAwaitAnswer(t *testing.T) {
	ctx := context.Background()
	const grace, wait = 30 * time.Millisecond, 5 * time.Second

	t.Run("InProcessAnswerNeedsNoServer", func(t *testing.T) {
		f := newFakeSources()
		h := handoff.New()
		ch, stop := h.Wait("transfer/u/here")
		defer stop()
		go h.Deliver("transfer/u/here", bank.Answer{Transfer: bank.Transfer{ID: "t1"}})
		a, source, err := awaitAnswer(ctx, f.sources(ch, time.Minute, time.Hour))
		if err != nil || source != metrics.AnswerHandOff || a.Transfer.ID != "t1" {
			t.Fatalf("= %+v %q %v, want t1 handed over", a, source, err)
		}
		if f.asked.Load() != 0 || f.reads.Load() != 0 {
			t.Errorf("asked the workflow %d times and read the row %d times, want neither", f.asked.Load(), f.reads.Load())
		}
	})

	t.Run("NoWorkerHereAsksTheWorkflowAtOnce", func(t *testing.T) {
		f := newFakeSources()
		f.results <- fakeEnd{a: bank.Answer{Transfer: bank.Transfer{ID: "t2"}}, ok: true}
		a, source, err := awaitAnswer(ctx, f.sources(nil, time.Minute, time.Hour))
		if err != nil || source != metrics.AnswerWorkflow || a.Transfer.ID != "t2" {
			t.Fatalf("= %+v %q %v, want t2 from the workflow", a, source, err)
		}
	})

	t.Run("WorkflowRanElsewhereAskedAfterTheGrace", func(t *testing.T) {
		f := newFakeSources()
		ch, stop := handoff.New().Wait("transfer/u/elsewhere") // nothing will come
		defer stop()
		f.results <- fakeEnd{a: bank.Answer{Refusal: bank.CodeNotFound}, ok: true}
		a, source, err := awaitAnswer(ctx, f.sources(ch, grace, wait))
		if err != nil || source != metrics.AnswerWorkflow || a.Refusal != bank.CodeNotFound {
			t.Fatalf("= %+v %q %v, want NOT_FOUND from the workflow", a, source, err)
		}
		if at := time.Duration(f.askedAt.Load()); at < grace || at > wait {
			t.Errorf("asked the workflow after %v, want after the %v grace", at, grace)
		}
	})

	t.Run("InProcessAnswerAfterTheGraceStillWins", func(t *testing.T) {
		f := newFakeSources()
		h := handoff.New()
		ch, stop := h.Wait("transfer/u/slow")
		defer stop()
		go func() {
			<-f.askedCh // the grace is over
			h.Deliver("transfer/u/slow", bank.Answer{Transfer: bank.Transfer{ID: "t3"}})
		}()
		a, source, err := awaitAnswer(ctx, f.sources(ch, grace, wait))
		if err != nil || source != metrics.AnswerHandOff || a.Transfer.ID != "t3" {
			t.Fatalf("= %+v %q %v, want t3 handed over", a, source, err)
		}
	})

	t.Run("WorkflowStillRunningTheRowAnswers", func(t *testing.T) {
		// A held transfer's workflow waits for days; a transfer whose event
		// cannot be published yet goes on retrying: the row answers.
		f := newFakeSources()
		f.rowAfter = 2
		start := time.Now()
		a, source, err := awaitAnswer(ctx, f.sources(nil, grace, wait))
		if err != nil || source != metrics.AnswerLedger || a.Transfer.ID != "from-the-row" {
			t.Fatalf("= %+v %q %v, want the stored row", a, source, err)
		}
		if d := time.Since(start); d < 2*grace || d > wait/2 {
			t.Errorf("answered after %v: want the row read every %v, long before the %v wait ends", d, grace, wait)
		}
	})

	t.Run("NothingWithinTheWait", func(t *testing.T) {
		f := newFakeSources()
		start := time.Now()
		_, source, err := awaitAnswer(ctx, f.sources(nil, grace, 150*time.Millisecond))
		if err != nil || source != "" {
			t.Fatalf("= %q %v, want no answer", source, err)
		}
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Errorf("gave up after %v, before the wait", d)
		}
		if f.reads.Load() == 0 {
			t.Error("the row was never read")
		}
	})

	t.Run("ClientGoneEndsTheWaitAtOnce", func(t *testing.T) {
		f := newFakeSources()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		ch, stop := handoff.New().Wait("transfer/u/gone")
		defer stop()
		start := time.Now()
		if _, source, err := awaitAnswer(cctx, f.sources(ch, time.Minute, time.Hour)); source != "" || err != nil {
			t.Errorf("= %q %v, want nothing", source, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("a cancelled request waited %v", d)
		}
	})

	t.Run("WorkflowEndedWithoutAnAnswer", func(t *testing.T) {
		terminated := errors.New("workflow execution error: terminated")
		f := newFakeSources()
		f.results <- fakeEnd{err: terminated}
		_, source, err := awaitAnswer(ctx, f.sources(nil, grace, wait))
		if source != "" || bank.ErrorCode(err) != bank.CodeUnavailable || !errors.Is(err, terminated) {
			t.Errorf("nothing stored: = %q %v, want SERVICE_UNAVAILABLE (a retry runs it again)", source, err)
		}
		// What it stored before it was stopped still answers.
		f = newFakeSources()
		f.rowAfter = 1
		f.results <- fakeEnd{err: terminated}
		if a, source, err := awaitAnswer(ctx, f.sources(nil, grace, wait)); source != metrics.AnswerLedger || a.Transfer.ID != "from-the-row" || err != nil {
			t.Errorf("stored: = %+v %q %v, want the row", a, source, err)
		}
	})

	t.Run("LongPollGivingUpIsNoEnd", func(t *testing.T) {
		f := newFakeSources()
		f.rowAfter = 1
		f.results <- fakeEnd{err: serviceerror.NewDeadlineExceeded("long poll timed out")}
		if a, source, err := awaitAnswer(ctx, f.sources(nil, grace, wait)); source != metrics.AnswerLedger || a.Transfer.ID != "from-the-row" || err != nil {
			t.Errorf("= %+v %q %v, want the row: the workflow had not ended", a, source, err)
		}
	})
}
