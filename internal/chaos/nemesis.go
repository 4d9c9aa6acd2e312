package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"time"

	"github.com/bankcore/bank/internal/proc"
)

// FaultKind is one kind of fault the nemesis injects.
type FaultKind string

// The fault kinds, each injected at least once (short) or twice (full).
const (
	FaultWorker   FaultKind = "kill -9 worker"
	FaultAPI      FaultKind = "kill -9 API"
	FaultNotifier FaultKind = "stop notifier"
	FaultRabbitMQ FaultKind = "restart RabbitMQ"
	FaultRedis    FaultKind = "restart Redis"
	FaultPostgres FaultKind = "restart PostgreSQL"
	FaultTemporal FaultKind = "kill -9 Temporal"
)

// FaultKinds lists every kind, in report order.
var FaultKinds = []FaultKind{FaultWorker, FaultAPI, FaultNotifier, FaultRabbitMQ, FaultRedis, FaultPostgres, FaultTemporal}

// Fault is one injected fault and how the system came back.
type Fault struct {
	Kind   FaultKind
	Target string        // process name
	Mode   string        // how it was stopped
	At     time.Duration // since the run began
	Down   time.Duration // how long it was left down
	Back   time.Duration // from the kill to answering again
}

// nemesis runs a schedule of faults, one at a time: each round holds every
// kind once, in an order drawn from the seed, spread evenly over the phase.
type nemesis struct {
	c      *Cluster
	rng    *rand.Rand
	events *eventLog
	faults []Fault
}

func (n *nemesis) schedule(rounds int) []FaultKind {
	var out []FaultKind
	for range rounds {
		round := append([]FaultKind{}, FaultKinds...)
		n.rng.Shuffle(len(round), func(i, j int) { round[i], round[j] = round[j], round[i] })
		// No kind twice in a row across a round boundary.
		if len(out) > 0 && out[len(out)-1] == round[0] {
			round[0], round[len(round)-1] = round[len(round)-1], round[0]
		}
		out = append(out, round...)
	}
	return out
}

// run injects the faults of rounds rounds over phase, and returns when the
// last has recovered and phase has passed.
func (n *nemesis) run(ctx context.Context, rounds int, phase time.Duration) error {
	plan := n.schedule(rounds)
	began := time.Now()
	gap := phase / time.Duration(len(plan)+1)
	seen := map[FaultKind]int{}
	for i, kind := range plan {
		due := began.Add(gap * time.Duration(i+1))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(due)):
		}
		f, err := n.inject(ctx, kind, seen[kind])
		seen[kind]++
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		n.faults = append(n.faults, f)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(began.Add(phase))):
	}
	return nil
}

// inject performs one fault: stop the target, leave it down for a moment,
// start it again on the same ports (and data), wait until it answers.
// Services alternate between a crash (kill -9, every process) and a clean
// stop; bank processes are killed as the issue says.
func (n *nemesis) inject(ctx context.Context, kind FaultKind, nth int) (Fault, error) {
	f := Fault{Kind: kind, At: n.events.since(), Down: time.Duration(1000+n.rng.IntN(3000)) * time.Millisecond}
	crash := nth%2 == 0
	if kind != FaultWorker && kind != FaultAPI && kind != FaultNotifier {
		// Services stay down a little longer: long enough for timeouts,
		// reconnect backoffs and retries to pile up.
		f.Down += time.Duration(1000+n.rng.IntN(2000)) * time.Millisecond
	}
	var stop func() error
	var start func(context.Context) error
	bank := func(list []*bankProc, sig syscall.Signal, mode string) {
		b := list[nth%len(list)]
		f.Target, f.Mode = b.name(), mode
		stop = func() error { return b.p.Stop(sig, 15*time.Second) }
		start = func(ctx context.Context) error { return n.c.startBank(ctx, b) }
	}
	svc := func(s service) {
		f.Target = s.name()
		if crash {
			f.Mode, stop = "kill -9", s.crash
		} else {
			f.Mode, stop = "clean stop", s.stopGracefully
		}
		start = s.start
	}
	switch kind {
	case FaultWorker:
		bank(n.c.Workers, syscall.SIGKILL, "kill -9")
	case FaultAPI:
		bank(n.c.APIs, syscall.SIGKILL, "kill -9")
	case FaultNotifier:
		bank(n.c.Notifiers, syscall.SIGTERM, "SIGTERM")
	case FaultRabbitMQ:
		svc(n.c.rabbit)
	case FaultRedis:
		svc(n.c.redis)
	case FaultPostgres:
		svc(n.c.pg)
	case FaultTemporal:
		svc(n.c.temporal)
		f.Mode, stop = "kill -9", n.c.temporal.crash
	}
	began := time.Now()
	// A process that had crashed (and is being restarted) or that outlived
	// its clean stop is worth a line, not the end of the run.
	if err := stop(); errors.Is(err, proc.ErrExited) || errors.Is(err, proc.ErrKilled) {
		n.events.printf("note: %s", strings.SplitN(err.Error(), "\n", 2)[0])
	} else if err != nil {
		return f, err
	}
	n.events.printf("FAULT %-19s %s %s; down for %s", kind+":", f.Mode, f.Target, f.Down.Round(100*time.Millisecond))
	select {
	case <-ctx.Done():
		return f, ctx.Err()
	case <-time.After(f.Down):
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = start(ctx); err == nil {
			break
		}
		n.events.printf("restarting %s failed (attempt %d): %v", f.Target, attempt+1, err)
		_ = stop()
	}
	if err != nil {
		return f, err
	}
	f.Back = time.Since(began)
	n.events.printf("      %-19s %s answers again, %s after the fault", "", f.Target, f.Back.Round(100*time.Millisecond))
	return f, nil
}
