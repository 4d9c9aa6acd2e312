package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/bankcore/bank/activities"
	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/codec"
	"github.com/bankcore/bank/workflows"
)

const (
	senderID   = "3b0e6a2c-51f4-4f0a-9d7e-0c1f5a9b7e21"
	receiverID = "9c4d2e1f-7a3b-4c8d-8e5f-1a2b3c4d5e6f"
	operator   = "5e8f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
	transferID = "0b7e9d1c-2a3f-4e5d-9c8b-7a6f5e4d3c2b"
	fromNumber = "1234567897"
	toNumber   = "2345678904"
	systemNum  = "0000000000"
)

func customerTransfer() bank.TransferRequest {
	return bank.TransferRequest{
		Kind: bank.KindTransfer, KeyOwner: senderID, Reference: "inv-2026-0042",
		FromAccount: fromNumber, ToAccount: toNumber, Amount: 1_500_50, Narration: "school fees for Adaeze",
		CreatedBy: senderID,
	}
}

func depositRequest() bank.TransferRequest {
	return bank.TransferRequest{
		Kind: bank.KindDeposit, KeyOwner: bank.SystemKeyOwner, Reference: "dep-2026-0007",
		FromAccount: systemNum, ToAccount: toNumber, Amount: 25_000_00, Narration: "cash deposit, Ikeja branch",
		CreatedBy: operator,
	}
}

// stored is what the ledger would store for req with the given outcome.
func stored(req bank.TransferRequest, code bank.Code) bank.Transfer {
	t := bank.Transfer{
		ID: transferID, Kind: req.Kind, KeyOwner: req.KeyOwner, Reference: req.Reference, RequestHash: req.Hash(),
		FromAccount: req.FromAccount, ToAccount: req.ToAccount, FromOwnerID: senderID, ToOwnerID: receiverID,
		Amount: req.Amount, Narration: req.Narration, Status: bank.StatusCompleted, CreatedBy: req.CreatedBy,
		CreatedAt: startTime,
	}
	if req.Kind == bank.KindDeposit {
		t.FromOwnerID = "" // the system account has no owner
	}
	if code != "" {
		t.Status, t.FailureCode = bank.StatusFailed, code
	}
	done := startTime
	t.CompletedAt = &done
	return t
}

// ledgerFunc is a LedgerStore answering from a function.
type ledgerFunc func(req bank.TransferRequest) (bank.Transfer, error)

func (f ledgerFunc) Post(_ context.Context, req bank.TransferRequest) (bank.Transfer, error) {
	return f(req)
}

// transferHarness runs the Transfer workflow with its local activities
// mocked. The PostTransfer mock runs the real activity over a fake store, so
// refusals reach the workflow exactly as production shapes them (typed
// application error with the TransferRefusal detail); a test changes what
// the store answers (post) or what the publish does (publishEvent).
// AnswerCaller runs the real activity, recording what it hands over.
type transferHarness struct {
	wfRun
	in workflows.TransferInput

	post         func(n int, req bank.TransferRequest) (bank.Transfer, error)
	publishEvent func(n int, ev bank.Event) error

	start  time.Time // the workflow's clock at start
	id     string    // the workflow id
	caller caller
	// answerFails makes AnswerCaller fail instead of handing the answer over.
	answerFails bool

	mu       sync.Mutex
	notLocal []string // activities that ran as regular activities
}

// transferWorkflow is the name customer transfers run under. The test
// environment keeps one registry, where the Deposit alias would otherwise
// name the function, so the harness starts both by name as the API does.
const transferWorkflow = "Transfer"

func newTransferHarness(t *testing.T, req bank.TransferRequest, dc converter.DataConverter) *transferHarness {
	t.Helper()
	// Local activity retries are bounded by a deadline computed from the
	// workflow clock but enforced on the wall clock, so the workflow must
	// start now (a start time in the past expires every retry at once).
	start := time.Now().UTC()
	r := newRun(t, dc, start)
	env := r.env
	env.RegisterWorkflow(workflows.Transfer)
	env.RegisterWorkflowWithOptions(workflows.Transfer, workflow.RegisterOptions{Name: workflows.DepositWorkflow})
	env.RegisterActivity(&activities.Ledger{})
	env.RegisterActivity(&activities.Events{})
	env.RegisterActivity(&activities.Answers{})

	h := &transferHarness{wfRun: r, in: workflows.TransferInput{Request: req}, start: start}
	h.post = func(int, bank.TransferRequest) (bank.Transfer, error) { return stored(req, ""), nil }
	h.publishEvent = func(int, bank.Event) error { return nil }

	env.OnActivity(ledActs.PostTransfer, mock.Anything, mock.Anything).Maybe().Return(
		func(ctx context.Context, in activities.PostTransferInput) (activities.PostTransferResult, error) {
			h.checkLocal(ctx, "PostTransfer")
			n := h.calls.add(ctx, "PostTransfer", in)
			act := &activities.Ledger{Ledger: ledgerFunc(func(req bank.TransferRequest) (bank.Transfer, error) { return h.post(n, req) })}
			return act.PostTransfer(ctx, in)
		})
	env.OnActivity(evtActs.PublishEvent, mock.Anything, mock.Anything).Maybe().Return(
		func(ctx context.Context, ev bank.Event) error {
			h.checkLocal(ctx, "PublishEvent")
			return h.publishEvent(h.calls.add(ctx, "PublishEvent", ev), ev)
		})
	env.OnActivity(answerActs.AnswerCaller, mock.Anything, mock.Anything).Maybe().Return(
		func(ctx context.Context, in activities.AnswerCallerInput) error {
			h.checkLocal(ctx, "AnswerCaller")
			h.calls.add(ctx, "AnswerCaller", in)
			if h.answerFails {
				return errors.New("the hub is gone")
			}
			return (&activities.Answers{Caller: &h.caller}).AnswerCaller(ctx, in)
		})
	return h
}

// caller stands for the handler waiting in the process: what it was handed.
type caller struct {
	mu      sync.Mutex
	answers map[string][]bank.Answer // by workflow id
}

func (c *caller) Deliver(workflowID string, a bank.Answer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answers == nil {
		c.answers = map[string][]bank.Answer{}
	}
	c.answers[workflowID] = append(c.answers[workflowID], a)
}

// answered asserts the caller was handed exactly one answer, under the
// workflow's id, and returns it.
func (h *transferHarness) answered() bank.Answer {
	h.t.Helper()
	h.caller.mu.Lock()
	defer h.caller.mu.Unlock()
	got := h.caller.answers[h.id]
	if len(got) != 1 || len(h.caller.answers) != 1 {
		h.t.Fatalf("answers handed over = %+v, want one under %s", h.caller.answers, h.id)
	}
	return got[0]
}

// checkLocal notes an activity that did not run as a local activity: the
// whole transfer is meant to complete in one workflow task.
func (h *transferHarness) checkLocal(ctx context.Context, name string) {
	if !activity.GetInfo(ctx).IsLocalActivity {
		h.mu.Lock()
		h.notLocal = append(h.notLocal, name)
		h.mu.Unlock()
	}
}

func (h *transferHarness) run(workflowName string) {
	h.t.Helper()
	id := workflows.TransferID(h.in.Request.KeyOwner, h.in.Request.Reference)
	if workflowName == workflows.DepositWorkflow {
		id = workflows.DepositID(h.in.Request.Reference)
	}
	h.id = id
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
	h.execute(workflowName, h.in)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.notLocal) > 0 {
		h.t.Errorf("%v ran as regular activities, want local activities", h.notLocal)
	}
}

func (h *transferHarness) result() bank.Transfer {
	return resultOf[workflows.TransferResult](h.wfRun).Transfer
}

// refusal asserts a refused posting: the workflow fails with the code and a
// TransferRefusal detail holding the stored transfer, as the API reads it.
func (h *transferHarness) refusal(code bank.Code, want bank.Transfer) {
	h.t.Helper()
	var detail activities.TransferRefusal
	_ = h.refusalDetail(code, &detail)
	if !jsonEqual(h.t, detail.Transfer, want) {
		h.t.Errorf("refusal detail = %+v, want %+v", detail.Transfer, want)
	}
}

// postedOnce asserts the workflow asked for exactly this posting, once.
func (h *transferHarness) postedOnce() {
	h.t.Helper()
	got := h.calls.inputs("PostTransfer")
	if len(got) != 1 {
		h.t.Fatalf("PostTransfer called %d times, want once", len(got))
	}
	if in := got[0].(activities.PostTransferInput); !jsonEqual(h.t, in, activities.PostTransferInput{Request: h.in.Request}) {
		h.t.Errorf("PostTransfer input = %+v, want %+v", in, h.in.Request)
	}
}

// event returns the one event published and checks its time.
// event is the one event published: no free text on it (the narration
// may name people), nothing but ids, numbers and amounts.
func (h *transferHarness) event() bank.Event {
	h.t.Helper()
	return h.wfRun.event(h.start.Truncate(time.Millisecond), h.in.Request.Narration)
}

// wantEvent asserts the event published is want, as event checks it.
func (h *transferHarness) wantEvent(want bank.Event) {
	h.t.Helper()
	h.wfRun.wantEvent(h.start.Truncate(time.Millisecond), want, h.in.Request.Narration)
}

func TestTransfer_Completed(t *testing.T) {
	h := newTransferHarness(t, customerTransfer(), nil)
	want := stored(h.in.Request, "")
	h.run(transferWorkflow)

	if got := h.result(); !jsonEqual(t, got, want) {
		t.Errorf("result = %+v, want %+v", got, want)
	}
	// The caller is answered last: once money moved and the event is
	// confirmed, so the answer never precedes its notification.
	h.assertCalls("PostTransfer", "PublishEvent", "AnswerCaller")
	h.postedOnce()
	if a := h.answered(); a.Refusal != "" || !jsonEqual(t, a.Transfer, want) {
		t.Errorf("answer = %+v, want the transfer", a)
	}
	h.wantEvent(bank.Event{
		ID:                 "transfer_completed/" + transferID,
		Type:               bank.EventTransferCompleted,
		UserID:             senderID,
		CounterpartyID:     receiverID,
		AccountNumber:      fromNumber,
		CounterpartAccount: toNumber,
		Reference:          "inv-2026-0042",
		Amount:             "1500.50",
	})
}

func TestTransfer_Refused(t *testing.T) {
	for _, code := range []bank.Code{bank.CodeSameAccount, bank.CodeSingleLimit, bank.CodeInsufficientFunds, bank.CodeReceiverLimit} {
		t.Run(string(code), func(t *testing.T) {
			h := newTransferHarness(t, customerTransfer(), nil)
			refused := stored(h.in.Request, code)
			h.post = func(int, bank.TransferRequest) (bank.Transfer, error) { return refused, nil }
			h.run(transferWorkflow)

			h.refusal(code, refused)
			// The refusal is final: posted once, never retried; then the
			// sender hears of it, then the caller.
			h.assertCalls("PostTransfer", "PublishEvent", "AnswerCaller")
			h.postedOnce()
			if a := h.answered(); a.Refusal != code || !jsonEqual(t, a.Transfer, refused) {
				t.Errorf("answer = %+v, want the refusal %s with the stored transfer", a, code)
			}
			h.wantEvent(bank.Event{
				ID:                 "transfer_failed/" + transferID,
				Type:               bank.EventTransferFailed,
				UserID:             senderID, // the sender only: the receiver was never involved
				AccountNumber:      fromNumber,
				CounterpartAccount: toNumber,
				Reference:          "inv-2026-0042",
				Amount:             "1500.50",
				FailureCode:        code,
			})
		})
	}
}

func TestTransfer_RefusedPublishRetried(t *testing.T) {
	h := newTransferHarness(t, customerTransfer(), nil)
	refused := stored(h.in.Request, bank.CodeInsufficientFunds)
	h.post = func(int, bank.TransferRequest) (bank.Transfer, error) { return refused, nil }
	h.publishEvent = func(n int, _ bank.Event) error {
		if n == 1 {
			return errors.New("broker unreachable")
		}
		return nil
	}
	h.run(transferWorkflow)

	h.refusal(bank.CodeInsufficientFunds, refused) // the announcement's hiccup does not change the answer
	h.assertCalls("PostTransfer", "PublishEvent", "PublishEvent", "AnswerCaller")
	if a := h.answered(); a.Refusal != bank.CodeInsufficientFunds {
		t.Errorf("answer = %+v", a)
	}
	if ev := h.event(); ev.ID != "transfer_failed/"+transferID {
		t.Errorf("event id = %q", ev.ID)
	}
}

func TestTransfer_DepositCompleted(t *testing.T) {
	h := newTransferHarness(t, depositRequest(), nil)
	want := stored(h.in.Request, "")
	h.run(workflows.DepositWorkflow)

	if got := h.result(); !jsonEqual(t, got, want) {
		t.Errorf("result = %+v, want %+v", got, want)
	}
	h.assertCalls("PostTransfer", "PublishEvent", "AnswerCaller")
	h.postedOnce()
	if a := h.answered(); a.Refusal != "" || a.Transfer.ID != transferID {
		t.Errorf("answer = %+v, want the deposit", a)
	}
	h.wantEvent(bank.Event{
		ID:                 "deposit_completed/" + transferID,
		Type:               bank.EventDepositCompleted,
		UserID:             receiverID, // the receiver's owner; the system account has none
		AccountNumber:      toNumber,
		CounterpartAccount: systemNum,
		Reference:          "dep-2026-0007",
		Amount:             "25000.00",
	})
}

func TestTransfer_RefusedDepositPublishesNothing(t *testing.T) {
	h := newTransferHarness(t, depositRequest(), nil)
	refused := stored(h.in.Request, bank.CodeReceiverLimit)
	h.post = func(int, bank.TransferRequest) (bank.Transfer, error) { return refused, nil }
	h.publishEvent = func(int, bank.Event) error { return unexpected("PublishEvent") }
	h.run(workflows.DepositWorkflow)

	h.refusal(bank.CodeReceiverLimit, refused)
	// The workflow, not the posting, decides that nothing is announced and
	// the operator is answered at once.
	h.assertCalls("PostTransfer", "AnswerCaller")
	h.postedOnce()
	if a := h.answered(); a.Refusal != bank.CodeReceiverLimit || a.Transfer.ID != transferID {
		t.Errorf("answer = %+v, want the stored refusal", a)
	}
}

func TestTransfer_PublishRetried(t *testing.T) {
	h := newTransferHarness(t, customerTransfer(), nil)
	h.publishEvent = func(n int, _ bank.Event) error {
		if n <= 2 {
			return errors.New("publisher confirm timed out")
		}
		return nil
	}
	h.run(transferWorkflow)

	if got := h.result(); got.ID != transferID || got.Status != bank.StatusCompleted {
		t.Errorf("result = %+v", got)
	}
	// Only the publish is retried (attempts 1..3, the same event each
	// time); the money moved once; the caller is answered once the event
	// is confirmed, not before.
	h.assertCalls("PostTransfer", "PublishEvent", "PublishEvent", "PublishEvent", "AnswerCaller")
	if a := h.answered(); a.Transfer.ID != transferID {
		t.Errorf("answer = %+v", a)
	}
	h.postedOnce()
	if got := h.calls.attempts("PublishEvent"); !slices.Equal(got, []int32{1, 2, 3}) {
		t.Errorf("PublishEvent attempts = %v, want [1 2 3]", got)
	}
	if ev := h.event(); ev.ID != "transfer_completed/"+transferID {
		t.Errorf("event id = %q", ev.ID)
	}
}

func TestTransfer_TransientPostErrorRetried(t *testing.T) {
	h := newTransferHarness(t, customerTransfer(), nil)
	h.post = func(n int, req bank.TransferRequest) (bank.Transfer, error) {
		if n == 1 {
			return bank.Transfer{}, errors.New("conn reset by peer")
		}
		return stored(req, ""), nil // the store answers a retry from the key
	}
	h.run(transferWorkflow)

	if got := h.result(); got.ID != transferID {
		t.Errorf("result = %+v", got)
	}
	h.assertCalls("PostTransfer", "PostTransfer", "PublishEvent", "AnswerCaller")
	if got := h.calls.inputs("PostTransfer"); !jsonEqual(t, got[0], got[1]) {
		t.Errorf("the retry changed the input: %+v", got)
	}
}

// An outage longer than one attempt's timeout (10 s) is waited out: the
// local activities keep retrying (backoff capped at 5 s) rather than failing
// a workflow whose money has moved, or whose key would then answer with the
// failed run. Twelve failures span about 31 s of workflow time.
func TestTransfer_OutagesAreWaitedOut(t *testing.T) {
	const failures = 12
	t.Run("broker", func(t *testing.T) {
		h := newTransferHarness(t, customerTransfer(), nil)
		h.publishEvent = func(n int, _ bank.Event) error {
			if n <= failures {
				return errors.New("dial tcp 127.0.0.1:5672: connection refused")
			}
			return nil
		}
		h.run(transferWorkflow)
		if got := h.result(); got.ID != transferID {
			t.Errorf("result = %+v", got)
		}
		h.postedOnce()
		if n := len(h.calls.inputs("PublishEvent")); n != failures+1 {
			t.Errorf("PublishEvent called %d times, want %d", n, failures+1)
		}
		if elapsed := h.env.Now().Sub(h.start); elapsed < 10*time.Second {
			t.Errorf("the outage lasted %v of workflow time, want more than one attempt's timeout", elapsed)
		}
	})
	t.Run("database", func(t *testing.T) {
		h := newTransferHarness(t, customerTransfer(), nil)
		h.post = func(n int, req bank.TransferRequest) (bank.Transfer, error) {
			if n <= failures {
				return bank.Transfer{}, errors.New("dial tcp 127.0.0.1:5432: connection refused")
			}
			return stored(req, ""), nil
		}
		h.run(transferWorkflow)
		if got := h.result(); got.ID != transferID {
			t.Errorf("result = %+v", got)
		}
		if n := len(h.calls.inputs("PostTransfer")); n != failures+1 {
			t.Errorf("PostTransfer called %d times, want %d", n, failures+1)
		}
		if n := len(h.calls.inputs("PublishEvent")); n != 1 {
			t.Errorf("PublishEvent called %d times, want once", n)
		}
	})
}

// Final answers that are not refusals of a stored transfer: the workflow
// fails with the code as its type and announces nothing.
func TestTransfer_FinalErrorsPublishNothing(t *testing.T) {
	for _, code := range []bank.Code{bank.CodeIdempotencyReused, bank.CodeNotFound} {
		t.Run(string(code), func(t *testing.T) {
			h := newTransferHarness(t, customerTransfer(), nil)
			h.post = func(int, bank.TransferRequest) (bank.Transfer, error) {
				return bank.Transfer{}, bank.Errorf(code, "as the store says it")
			}
			h.publishEvent = func(int, bank.Event) error { return unexpected("PublishEvent") }
			h.run(transferWorkflow)

			_ = h.failure(code)
			h.assertCalls("PostTransfer", "AnswerCaller") // not retried
			h.postedOnce()
			// Nothing was stored: the answer is the code alone.
			if a := h.answered(); a.Refusal != code || a.Transfer.ID != "" {
				t.Errorf("answer = %+v, want %s without a transfer", a, code)
			}
		})
	}
}

// TestTransfer_WithCodecConverter runs the workflow through the production
// data converter: the result and the refusal detail the API decodes survive
// it.
func TestTransfer_WithCodecConverter(t *testing.T) {
	for _, code := range []bank.Code{"", bank.CodeInsufficientFunds} {
		t.Run(fmt.Sprintf("outcome %q", code), func(t *testing.T) {
			h := newTransferHarness(t, customerTransfer(), codec.NewDataConverter(codec.DevKeyring()))
			want := stored(h.in.Request, code)
			h.post = func(int, bank.TransferRequest) (bank.Transfer, error) { return want, nil }
			h.run(transferWorkflow)
			if code == "" {
				if got := h.result(); !jsonEqual(t, got, want) {
					t.Errorf("result = %+v, want %+v", got, want)
				}
				return
			}
			h.refusal(code, want)
		})
	}
}

// The answer is a courtesy to a caller in this process: when it cannot be
// handed over, the transfer still completes (the caller reads the result
// or the stored row), and it is not retried.
func TestTransfer_AnswerCallerCannotFailTheTransfer(t *testing.T) {
	h := newTransferHarness(t, customerTransfer(), nil)
	want := stored(h.in.Request, "")
	h.answerFails = true
	h.run(transferWorkflow)

	if got := h.result(); !jsonEqual(t, got, want) {
		t.Errorf("result = %+v, want %+v", got, want)
	}
	h.assertCalls("PostTransfer", "PublishEvent", "AnswerCaller")
}
