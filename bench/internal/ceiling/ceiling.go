// Package ceiling is the empty-workflow baseline: a workflow whose only step
// is one no-op local activity, on a worker with the bank's worker options,
// started as POST /transfers starts a transfer (ExecuteWorkflow with eager
// start, the same id policies and search attributes), its result read with
// Get: the API instead takes the outcome handed over in-process and asks Get
// only after api's handOffGrace, 250 ms (the HandOff shape; benchwf puts the
// two side by side). What it reaches on the same Temporal server is the most
// the transfer path can reach while a transfer is one workflow task.
//
// Shapes vary one thing at a time (a second local activity, no search
// attributes, no eager start, Update-with-Start instead of start + Get), so
// bench/cmd/benchwf can say what each costs the server.
package ceiling

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
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

// UpdateName is the update the Update-with-Start shape sends.
const UpdateName = "run"

// Input mirrors the size of a transfer request.
type Input struct {
	Reference, From, To string
	Amount              int64
	// Steps is how many no-op local activities run (0 means 1).
	Steps int
	// Sleep is how long each local activity takes (a posting takes a few
	// milliseconds: the workflow is still running when the caller asks).
	Sleep time.Duration
	// Versioned calls workflow.GetVersion first, as the Transfer workflow
	// does since it answers its caller: a version marker and an upsert of
	// the TemporalChangeVersion search attribute.
	Versioned bool
}

// Noop is the local activity. It hands its result to a caller waiting in
// this process, if any (the HandOff shape).
func Noop(_ context.Context, in Input) (Input, error) {
	if in.Sleep > 0 {
		time.Sleep(in.Sleep)
	}
	waitersMu.Lock()
	ch := waiters[in.Reference]
	delete(waiters, in.Reference)
	waitersMu.Unlock()
	if ch != nil {
		ch <- in
	}
	return in, nil
}

var (
	waitersMu sync.Mutex
	waiters   = map[string]chan Input{}
)

func localOpts(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
}

func steps(ctx workflow.Context, in Input, n int) (Input, error) {
	out := in
	for range n {
		if err := workflow.ExecuteLocalActivity(localOpts(ctx), Noop, in).Get(ctx, &out); err != nil {
			return out, err
		}
	}
	return out, nil
}

// Empty is the workflow: one local activity, as Transfer's posting (more
// when in.Steps says so).
func Empty(ctx workflow.Context, in Input) (Input, error) {
	if in.Versioned {
		workflow.GetVersion(ctx, "bench-shape", workflow.DefaultVersion, 1)
	}
	return steps(ctx, in, max(1, in.Steps))
}

// EmptyUpdate is the Update-with-Start shape: the first local activity runs
// in the update's handler, whose result is the caller's answer; the rest
// run after it in the workflow.
func EmptyUpdate(ctx workflow.Context, in Input) (Input, error) {
	done := false
	var out Input
	if err := workflow.SetUpdateHandler(ctx, UpdateName, func(ctx workflow.Context) (Input, error) {
		defer func() { done = true }()
		var err error
		out, err = steps(ctx, in, 1)
		return out, err
	}); err != nil {
		return out, err
	}
	if err := workflow.Await(ctx, func() bool { return done }); err != nil {
		return out, err
	}
	if _, err := steps(ctx, in, max(1, in.Steps)-1); err != nil {
		return out, err
	}
	return out, nil
}

// Shape is how a workflow of the baseline is built and started.
type Shape struct {
	Name            string
	Steps           int    // local activities (0 means 1)
	NoSearchAttrs   bool   // start without the four search attributes
	NoEager         bool   // leave the first task to matching and the poller
	UpdateWithStart bool   // start + update in one call, answered by the update
	HandOff         bool   // answered in-process by the local activity, no Get
	Compression     string // gRPC compression: "" the SDK's default (gzip), "none"
	Sleep           time.Duration
	Versioned       bool // workflow.GetVersion first (Input.Versioned)
}

// Default is the ceiling as the bench reports it.
var Default = Shape{Name: "empty"}

// Runner holds a client and the worker polling the baseline's queue, and
// another pair per gRPC compression a shape asks for.
type Runner struct {
	address, namespace string
	concurrency        int
	logger             *slog.Logger

	mu    sync.Mutex
	conns map[string]*conn // by Shape.Compression
}

type conn struct {
	c client.Client
	w worker.Worker
}

// Start dials the server as the bank does (same data converter) and starts
// a worker with the bank's worker options. Eager start needs the worker on
// the client that starts the workflow, as in `bank all`.
func Start(address, namespace string, workerConcurrency int, logger *slog.Logger) (*Runner, error) {
	r := &Runner{address: address, namespace: namespace, concurrency: workerConcurrency, logger: logger, conns: map[string]*conn{}}
	if _, err := r.conn(""); err != nil {
		return nil, err
	}
	return r, nil
}

// conn is the client and worker for a compression: "" the SDK's default
// (gzip), "none" uncompressed.
func (r *Runner) conn(compression string) (*conn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.conns[compression]; c != nil {
		return c, nil
	}
	opts := client.Options{
		HostPort: r.address, Namespace: r.namespace,
		Logger:        tlog.NewStructuredLogger(r.logger),
		DataConverter: codec.NewDataConverter(codec.DevKeyring()),
	}
	if compression == "none" {
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, err
	}
	w := worker.New(c, TaskQueue, worker.Options{MaxConcurrentActivityExecutionSize: r.concurrency})
	w.RegisterWorkflow(Empty)
	w.RegisterWorkflow(EmptyUpdate)
	w.RegisterActivity(Noop)
	if err := w.Start(); err != nil {
		c.Close()
		return nil, err
	}
	cn := &conn{c: c, w: w}
	r.conns[compression] = cn
	return cn, nil
}

// Stop stops the workers and closes the clients.
func (r *Runner) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, cn := range r.conns {
		cn.w.Stop()
		cn.c.Close()
	}
}

// Op is one workflow of the default shape, started and awaited as the API
// does.
func (r *Runner) Op(prefix string) loop.Op { return r.ShapeOp(prefix, Default) }

// ShapeOp is one workflow of shape s.
func (r *Runner) ShapeOp(prefix string, s Shape) loop.Op {
	cn, err := r.conn(s.Compression)
	return func(ctx context.Context, w, seq int) (string, bool, bool) {
		if err != nil {
			return "dial error", true, false
		}
		ref := prefix + "-" + strconv.Itoa(w) + "-" + strconv.Itoa(seq)
		opts := client.StartWorkflowOptions{
			ID:                       "empty/" + ref,
			TaskQueue:                TaskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
			EnableEagerStart:         !s.NoEager && !s.UpdateWithStart,
		}
		if !s.NoSearchAttrs {
			opts.TypedSearchAttributes = temporal.NewSearchAttributes(
				workflows.AttrReference.ValueSet(ref),
				workflows.AttrFromAccount.ValueSet("1000000001"),
				workflows.AttrToAccount.ValueSet("1000000002"),
				workflows.AttrUserID.ValueSet("00000000-0000-0000-0000-000000000000"),
			)
		}
		in := Input{Reference: ref, From: "1000000001", To: "1000000002", Amount: 100, Steps: s.Steps, Sleep: s.Sleep,
			Versioned: s.Versioned}
		waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var out Input
		if s.UpdateWithStart {
			op := cn.c.NewWithStartWorkflowOperation(opts, EmptyUpdate, in)
			h, err := cn.c.UpdateWithStartWorkflow(waitCtx, client.UpdateWithStartWorkflowOptions{
				StartWorkflowOperation: op,
				UpdateOptions: client.UpdateWorkflowOptions{
					UpdateID: ref, UpdateName: UpdateName, WaitForStage: client.WorkflowUpdateStageCompleted,
				},
			})
			if err != nil {
				return "start error", true, false
			}
			if err := h.Get(waitCtx, &out); err != nil {
				return "get error", true, false
			}
			return "completed", false, false
		}
		var handed chan Input
		if s.HandOff {
			handed = make(chan Input, 1)
			waitersMu.Lock()
			waiters[ref] = handed
			waitersMu.Unlock()
		}
		run, err := cn.c.ExecuteWorkflow(ctx, opts, Empty, in)
		if err != nil {
			return "start error", true, false
		}
		if s.HandOff {
			select {
			case out = <-handed:
				return "completed", false, false
			case <-waitCtx.Done():
				return "get error", true, false
			}
		}
		if err := run.Get(waitCtx, &out); err != nil {
			return "get error", true, false
		}
		return "completed", false, false
	}
}
