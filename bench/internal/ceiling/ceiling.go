// Package ceiling is the empty-workflow baseline: a workflow whose only step
// is one no-op local activity, on a worker with the bank's worker options,
// started exactly as POST /transfers starts a transfer (ExecuteWorkflow with
// eager start, the same id policies and search attributes, then Get). What
// it reaches on the same Temporal server is the most the transfer path can
// reach while a transfer is one workflow task.
package ceiling

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/bankcore/bank/bench/internal/loop"
	"github.com/bankcore/bank/internal/codec"
	"github.com/bankcore/bank/workflows"
)

// TaskQueue is the baseline's own queue.
const TaskQueue = "bench-empty"

// Input mirrors the size of a transfer request.
type Input struct {
	Reference, From, To string
	Amount              int64
}

// Noop is the local activity.
func Noop(_ context.Context, in Input) (Input, error) { return in, nil }

// Empty is the workflow: one local activity, as Transfer's posting.
func Empty(ctx workflow.Context, in Input) (Input, error) {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var out Input
	err := workflow.ExecuteLocalActivity(lctx, Noop, in).Get(ctx, &out)
	return out, err
}

// Runner holds a client and the worker polling the baseline's queue.
type Runner struct {
	c client.Client
	w worker.Worker
}

// Start dials the server as the bank does (same data converter) and starts
// a worker with the bank's worker options. Eager start needs the worker on
// the client that starts the workflow, as in `bank all`.
func Start(address, namespace string, workerConcurrency int, logger *slog.Logger) (*Runner, error) {
	c, err := client.Dial(client.Options{
		HostPort: address, Namespace: namespace,
		Logger:        tlog.NewStructuredLogger(logger),
		DataConverter: codec.NewDataConverter(codec.DevKeyring()),
	})
	if err != nil {
		return nil, err
	}
	w := worker.New(c, TaskQueue, worker.Options{MaxConcurrentActivityExecutionSize: workerConcurrency})
	w.RegisterWorkflow(Empty)
	w.RegisterActivity(Noop)
	if err := w.Start(); err != nil {
		c.Close()
		return nil, err
	}
	return &Runner{c: c, w: w}, nil
}

// Stop stops the worker and closes the client.
func (r *Runner) Stop() {
	r.w.Stop()
	r.c.Close()
}

// Op is one workflow, started and awaited as the API does.
func (r *Runner) Op(prefix string) loop.Op {
	return func(ctx context.Context, w, seq int) (string, bool, bool) {
		ref := prefix + "-" + strconv.Itoa(w) + "-" + strconv.Itoa(seq)
		run, err := r.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                       "empty/" + ref,
			TaskQueue:                TaskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
			EnableEagerStart:         true,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				workflows.AttrReference.ValueSet(ref),
				workflows.AttrFromAccount.ValueSet("1000000001"),
				workflows.AttrToAccount.ValueSet("1000000002"),
				workflows.AttrUserID.ValueSet("00000000-0000-0000-0000-000000000000"),
			),
		}, Empty, Input{Reference: ref, From: "1000000001", To: "1000000002", Amount: 100})
		if err != nil {
			return "start error", true, false
		}
		waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var out Input
		if err := run.Get(waitCtx, &out); err != nil {
			return "get error", true, false
		}
		return "completed", false, false
	}
}
