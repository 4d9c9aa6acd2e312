package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/bankcore/bank/activities"
	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/workflows"
)

// The test kit every workflow harness here shares: the test environment,
// what the mocked activities were called with, and how a run ended.

// Typed nils: the SDK names a method value by its method, so these mock the
// activities the workflows schedule through the same references.
var (
	regActs    *activities.Registration
	accActs    *activities.Accounts
	evtActs    *activities.Events
	ledActs    *activities.Ledger
	answerActs *activities.Answers
)

var startTime = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

// wfRun is one workflow run under test: its environment and the calls its
// mocked activities saw.
type wfRun struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	calls *calls
}

func newRun(t *testing.T, dc converter.DataConverter, start time.Time) wfRun {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	if dc != nil {
		env.SetDataConverter(dc)
	}
	env.SetStartTime(start)
	env.SetTestTimeout(10 * time.Second)
	return wfRun{t: t, env: env, calls: &calls{}}
}

// onQueues registers the regular activities and binds each one the
// workflow schedules to the task queue it must use: the registration
// queue's, the accounts queue's, and PublishEvent on the notifications
// queue. An activity scheduled on any other queue finds no worker and fails.
func (r wfRun) onQueues(registration, accounts []any) {
	r.env.RegisterActivity(&activities.Registration{})
	r.env.RegisterActivity(&activities.Accounts{})
	r.env.RegisterActivity(&activities.Events{})
	r.env.SetActivityTaskQueue(workflows.QueueRegistration, registration...)
	r.env.SetActivityTaskQueue(workflows.QueueAccounts, accounts...)
	r.env.SetActivityTaskQueue(workflows.QueueNotify, evtActs.PublishEvent)
}

// execute runs workflow (a function or a registered name) to its end.
func (r wfRun) execute(workflow any, in any) {
	r.t.Helper()
	r.env.ExecuteWorkflow(workflow, in)
	if !r.env.IsWorkflowCompleted() {
		r.t.Fatal("workflow did not complete")
	}
}

// resultOf asserts the workflow completed and returns its result.
func resultOf[T any](r wfRun) T {
	r.t.Helper()
	if err := r.env.GetWorkflowError(); err != nil {
		r.t.Fatalf("workflow failed: %v", err)
	}
	var res T
	if err := r.env.GetWorkflowResult(&res); err != nil {
		r.t.Fatal(err)
	}
	return res
}

// failure asserts the workflow failed with a non-retryable application
// error of type code, which the API reads with workflows.CodeOf, and
// returns it.
func (r wfRun) failure(code bank.Code) *temporal.ApplicationError {
	r.t.Helper()
	err := r.env.GetWorkflowError()
	if err == nil {
		r.t.Fatalf("workflow completed, want %s", code)
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		r.t.Fatalf("workflow error %v is not an application error", err)
	}
	if appErr.Type() != string(code) || !appErr.NonRetryable() {
		r.t.Errorf("application error type %q non-retryable %v, want %s non-retryable", appErr.Type(), appErr.NonRetryable(), code)
	}
	if got := workflows.CodeOf(err); got != code {
		r.t.Errorf("CodeOf(workflow error) = %q, want %s", got, code)
	}
	return appErr
}

// refusalDetail asserts the workflow failed with a final error of type
// code carrying a detail, decodes the detail into v and returns the error.
func (r wfRun) refusalDetail(code bank.Code, v any) *temporal.ApplicationError {
	r.t.Helper()
	appErr := r.failure(code)
	if !appErr.HasDetails() {
		r.t.Fatalf("refusal carries no %T detail", v)
	}
	if err := appErr.Details(v); err != nil {
		r.t.Fatalf("decoding the detail: %v", err)
	}
	return appErr
}

// event returns the event the run published, asserting that every attempt
// published the same one, that it happened at workflow time (in UTC, not
// before start), and that none of hidden shows on the wire: events pass
// through history and the broker in the clear.
func (r wfRun) event(start time.Time, hidden ...string) bank.Event {
	r.t.Helper()
	evs := r.calls.inputs("PublishEvent")
	if len(evs) == 0 {
		r.t.Fatal("no event published")
	}
	ev := evs[0].(bank.Event)
	for i, other := range evs[1:] {
		if other != ev {
			r.t.Errorf("publish attempt %d sent %+v, the first sent %+v", i+2, other, ev)
		}
	}
	if ev.OccurredAt.IsZero() || ev.OccurredAt.Location() != time.UTC || ev.OccurredAt.Before(start) {
		r.t.Errorf("event OccurredAt = %v, want workflow time in UTC", ev.OccurredAt)
	}
	wire, err := json.Marshal(ev)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, h := range hidden {
		if h != "" && strings.Contains(string(wire), h) {
			r.t.Errorf("event %s carries %q", wire, h)
		}
	}
	return ev
}

// wantEvent asserts the run published want (at whatever time: event
// checks that), with none of hidden on the wire, and returns it.
func (r wfRun) wantEvent(start time.Time, want bank.Event, hidden ...string) bank.Event {
	r.t.Helper()
	ev := r.event(start, hidden...)
	want.OccurredAt = ev.OccurredAt
	if ev != want {
		r.t.Errorf("event = %+v, want %+v", ev, want)
	}
	return ev
}

func (r wfRun) assertCalls(want ...string) {
	r.t.Helper()
	if got := r.calls.names(); !slices.Equal(got, want) {
		r.t.Errorf("activities called = %v, want %v", got, want)
	}
}

func unexpected(name string) error {
	return temporal.NewNonRetryableApplicationError(name+" must not be called on this branch", "UNEXPECTED_CALL", nil)
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

// calls records what the mocked activities received, in order. Mock
// callbacks run off the workflow goroutine, hence the lock.
type calls struct {
	mu   sync.Mutex
	list []call
}

type call struct {
	Name    string
	Attempt int32
	Input   any
}

// add records a call and returns how many calls of name there have been.
func (c *calls) add(ctx context.Context, name string, in any) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.list = append(c.list, call{Name: name, Attempt: activity.GetInfo(ctx).Attempt, Input: in})
	n := 0
	for _, cl := range c.list {
		if cl.Name == name {
			n++
		}
	}
	return n
}

// each returns what f picks from every call, in order (name "" for all).
func each[T any](c *calls, name string, f func(call) T) []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []T
	for _, cl := range c.list {
		if name == "" || cl.Name == name {
			out = append(out, f(cl))
		}
	}
	return out
}

func (c *calls) names() []string { return each(c, "", func(cl call) string { return cl.Name }) }

func (c *calls) inputs(name string) []any {
	return each(c, name, func(cl call) any { return cl.Input })
}

func (c *calls) attempts(name string) []int32 {
	return each(c, name, func(cl call) int32 { return cl.Attempt })
}
