// Package chaos is the bank's fault run (issue 7, `make chaos`): a
// Jepsen-style workload against a whole bank of its own (private PostgreSQL,
// RabbitMQ, Redis and Temporal dev server, two API instances, two workers,
// one notifier, all on free loopback ports) while a nemesis kills and
// restarts each part on a schedule; then, once the system has settled, a
// checker holds the ledger, the notifications, Temporal and the clients'
// records against the invariants of CONTRACT.md.
//
// The machine's shared services are never touched: every process the run
// starts is its own, in a process group of its own, and all of them are
// stopped when the run ends, fails or is interrupted.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/bankcore/bank/bank"
)

// Options configure a run. Zero values take the defaults of the full run
// (or of the short one with Short).
type Options struct {
	Short    bool          // one fault of each kind, ~2-3 minutes in all
	Duration time.Duration // the fault phase; default 5m (short: 70s)
	Seed     uint64        // 0: from the clock
	BankBin  string        // bin/bank to run; empty: build one into the run's directory
	Dir      string        // where data and logs go; empty: a new temporary directory
	Keep     bool          // keep the directory even when every invariant holds
	Out      io.Writer     // progress and the report; default os.Stdout
}

// Result is what a run found.
type Result struct {
	Seed       uint64
	Dir        string
	Faults     []Fault
	Invariants []Invariant
	Settle     string
	Passed     int
	Failed     int
	Elapsed    time.Duration
}

func (o *Options) defaults() {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Duration <= 0 {
		o.Duration = 5 * time.Minute
		if o.Short {
			o.Duration = 70 * time.Second
		}
	}
	if o.Seed == 0 {
		o.Seed = uint64(time.Now().UnixNano()) // #nosec G115
	}
}

// Run performs one fault run and prints its report to opts.Out. The error
// is about the run itself (a service that would not start, an interrupt);
// broken invariants are in the Result, with Failed > 0.
func Run(ctx context.Context, opts Options) (res *Result, err error) {
	opts.defaults()
	began := time.Now()
	res = &Result{Seed: opts.Seed}
	events := &eventLog{start: began, out: opts.Out}

	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "bank-chaos-"); err != nil {
			return res, err
		}
	} else if err = os.MkdirAll(dir, 0o750); err != nil {
		return res, err
	}
	// PostgreSQL runs as its own user and must reach its data directory.
	if err = os.Chmod(dir, 0o755); err != nil { // #nosec G302 -- logs and throwaway data of a test run
		return res, err
	}
	res.Dir = dir

	rounds, customers, clients := 2, 10, 8
	settleFor, drainFor := 90*time.Second, 60*time.Second
	if opts.Short {
		rounds, customers, clients = 1, 6, 6
		settleFor, drainFor = 45*time.Second, 40*time.Second
	}
	fmt.Fprintf(opts.Out, "bank chaos run: seed %d, %s, fault phase %s (%d round(s) of %d fault kinds)\n",
		opts.Seed, map[bool]string{true: "short", false: "full"}[opts.Short], opts.Duration, rounds, len(FaultKinds))
	fmt.Fprintf(opts.Out, "machine: %s\n", machine())
	fmt.Fprintf(opts.Out, "directory: %s\n", dir)

	cluster, err := startCluster(ctx, ClusterOptions{Dir: dir, BankBin: opts.BankBin, APIs: 2, Workers: 2, Notifiers: 1}, events)
	if err != nil {
		return res, fmt.Errorf("starting the cluster: %w", err)
	}
	defer func() {
		events.printf("stopping every process of the run")
		cluster.Stop()
		res.Elapsed = time.Since(began)
		if err == nil && res.Failed == 0 && !opts.Keep {
			_ = os.RemoveAll(dir)
		} else {
			fmt.Fprintf(opts.Out, "logs and data kept in %s\n", dir)
		}
	}()

	apis := make([]string, len(cluster.APIs))
	for i, a := range cluster.APIs {
		apis[i] = a.url()
	}
	w := newWorkload(WorkloadOptions{
		Customers:         customers,
		Clients:           clients,
		Readers:           2,
		InitialBalance:    bank.Money(100_000_00),
		ThinkMin:          100 * time.Millisecond,
		ThinkMax:          400 * time.Millisecond,
		DepositEvery:      2 * time.Second,
		ReplayFraction:    0.1,
		AttemptTimeouts:   [2]time.Duration{1500 * time.Millisecond, 6 * time.Second},
		ImpatientFraction: 0.2,
		ImpatientTimeouts: [2]time.Duration{2 * time.Millisecond, 60 * time.Millisecond},
	}, apis, opts.Seed, events)
	if err = w.setup(ctx); err != nil {
		return res, fmt.Errorf("workload setup: %w", err)
	}
	events.printf("registered and funded %d customers; workload and nemesis start", customers)

	wctx, cancelWork := context.WithCancel(ctx)
	defer cancelWork()
	w.start(wctx)
	// A seeded generator on purpose: a seed reproduces a schedule.
	n := &nemesis{c: cluster, rng: rand.New(rand.NewPCG(opts.Seed, 4242)), events: events} // #nosec G404
	if err = n.run(ctx, rounds, opts.Duration); err != nil {
		cancelWork()
		w.finish(time.Now())
		res.Faults = n.faults
		return res, fmt.Errorf("nemesis: %w", err)
	}
	res.Faults = n.faults

	// Settle: no new keys; clients retry what they hold until it resolves.
	events.printf("faults over (%d injected); clients finish their keys", len(n.faults))
	settleStart := time.Now()
	w.finish(time.Now().Add(settleFor))
	clientsDone := time.Since(settleStart)
	unresolved := 0
	for _, k := range w.keys {
		if _, ok := k.final(); !ok {
			unresolved++
		}
	}
	events.printf("clients done in %s (%d keys unresolved); waiting for the notifier's queue and Temporal to drain",
		clientsDone.Round(100*time.Millisecond), unresolved)
	snap, drained, err := waitDrained(ctx, cluster, w, drainFor, events)
	if err != nil {
		return res, fmt.Errorf("settling: %w", err)
	}
	res.Settle = fmt.Sprintf("clients resolved their keys in %s; queue and workflows drained in %s%s",
		clientsDone.Round(100*time.Millisecond), drained.Round(100*time.Millisecond), map[bool]string{true: "", false: " (deadline reached)"}[drained < drainFor])

	res.Invariants = check(snap, w, cluster.Crashes())
	for _, inv := range res.Invariants {
		if inv.OK() {
			res.Passed++
		} else {
			res.Failed++
		}
	}
	writeReport(opts.Out, res, w)
	return res, nil
}

// waitDrained waits until the notifier's queue is empty, no workflow is open
// and every notification the ledger calls for is stored, or until timeout;
// it returns the last snapshot, with Temporal's workflows.
func waitDrained(ctx context.Context, c *Cluster, w *Workload, timeout time.Duration, events *eventLog) (*snapshot, time.Duration, error) {
	began := time.Now()
	deadline := began.Add(timeout)
	var lastErr error
	for {
		qctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		depth, qerr := c.rabbit.queueDepth(notifierQueue)
		open, terr := openWorkflows(qctx, c.temporal.address())
		snap, serr := takeSnapshot(qctx, c.pg.url("bank"), c.temporal.address(), false)
		cancel()
		lastErr = errors.Join(qerr, terr, serr)
		if lastErr == nil && depth == 0 && open == 0 && notificationsComplete(snap) {
			break
		}
		if time.Now().After(deadline) {
			events.printf("drain deadline reached: queue %d, open workflows %d, errors %v", depth, open, lastErr)
			break
		}
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	drained := time.Since(began)
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	snap, err := takeSnapshot(sctx, c.pg.url("bank"), c.temporal.address(), true)
	if err != nil {
		return nil, drained, fmt.Errorf("final snapshot: %w", errors.Join(err, lastErr))
	}
	return snap, drained, nil
}

// notificationsComplete reports whether every completed transfer or deposit
// and every refused transfer has its notifications stored.
func notificationsComplete(s *snapshot) bool {
	have := map[string]int{}
	for _, n := range s.notifications {
		have[n.EventID]++
	}
	for _, t := range s.transfers {
		switch {
		case t.Kind == "transfer" && t.Status == "COMPLETED":
			if have["transfer_completed/"+t.ID] < 2 {
				return false
			}
		case t.Kind == "deposit" && t.Status == "COMPLETED":
			if have["deposit_completed/"+t.ID] < 1 {
				return false
			}
		case t.Kind == "transfer" && t.Status == "FAILED":
			if have["transfer_failed/"+t.ID] < 1 {
				return false
			}
		}
	}
	return true
}
