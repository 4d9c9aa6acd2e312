// Command chaos is the bank's fault run (`make chaos`): it starts a bank of
// its own (private PostgreSQL, RabbitMQ, Redis and Temporal dev server on
// free loopback ports, 2 API instances, 2 workers, 1 notifier), runs a
// Jepsen-style workload while a nemesis kills and restarts each part, lets
// the system settle, checks the invariants and prints a report ending with
// "N passed, M failed". It exits 1 when an invariant fails, 2 when the run
// itself could not be carried out, and stops everything it started in every
// case, Ctrl-C included.
//
//	go run ./cmd/chaos                       # full run: every fault twice, ~6-7 minutes
//	go run ./cmd/chaos -short                # every fault once, ~2-3 minutes
//	go run ./cmd/chaos -seed 42 -bank bin/bank
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/bankcore/bank/internal/chaos"
)

func main() {
	var opts chaos.Options
	flag.BoolVar(&opts.Short, "short", false, "one fault of each kind (~2-3 minutes) instead of two")
	flag.DurationVar(&opts.Duration, "duration", 0, "length of the fault phase (default 5m, or 70s with -short); settling comes after")
	flag.Uint64Var(&opts.Seed, "seed", 0, "seed of the workload and the fault schedule (default: from the clock)")
	flag.StringVar(&opts.BankBin, "bank", "", "bank binary to run (default: build ./cmd/bank into the run's directory)")
	flag.StringVar(&opts.Dir, "dir", "", "directory for the run's data and logs (default: a new temporary directory)")
	flag.BoolVar(&opts.Keep, "keep", false, "keep the run's directory even when every invariant holds")
	flag.Parse()

	// Ctrl-C or SIGTERM cancels the run; its deferred teardown then stops
	// every process it started. A hard bound keeps a wedged run from
	// outliving its budget.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	budget := 9*time.Minute + 30*time.Second
	if opts.Duration > 0 {
		budget = opts.Duration + 5*time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()

	res, err := chaos.Run(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos run aborted (seed %d): %v\n", res.Seed, err)
		os.Exit(2)
	}
	fmt.Printf("(seed %d, %s in all)\n", res.Seed, res.Elapsed.Round(time.Second))
	if res.Failed > 0 {
		os.Exit(1)
	}
}
