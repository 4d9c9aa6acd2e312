// Package storepair is a short store-vs-pgbench pair inside the system
// benchmark's run: the ledger's posting transaction (Ledger.Post called
// directly) next to pgbench replaying the same statements in the same
// round trips with the checked-in script (bench/pgbench/post.sql), on a
// database of its own, with the same fixture and percentiles as
// bench/cmd/benchstore (which has the longer, repeated runs).
package storepair

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/bench/internal/fixture"
	"github.com/bankcore/bank/bench/internal/loop"
	"github.com/bankcore/bank/bench/internal/stats"
	"github.com/bankcore/bank/bench/pgbench"
	"github.com/bankcore/bank/internal/postgres"
)

// Cell is one mode at one concurrency.
type Cell struct {
	Mode        string        `json:"mode"`
	Concurrency int           `json:"concurrency"`
	Store       stats.Summary `json:"store"`
	Pgbench     stats.Summary `json:"pgbench"`
	Ratio       float64       `json:"store_over_pgbench"`
	Command     string        `json:"pgbench_command"`
}

// Fixture is a seeded, funded database.
type Fixture struct {
	DSN, Name string
	Accounts  []fixture.Account
}

// Setup creates the database (bank_bench_<random>) with n funded TIER_3 accounts.
func Setup(ctx context.Context, baseDSN string, n int) (*Fixture, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dsn, name, err := fixture.CreateDatabase(ctx, baseDSN, quiet)
	if err != nil {
		return nil, err
	}
	f := &Fixture{DSN: dsn, Name: name}
	pool, err := postgres.Connect(ctx, dsn, 8)
	if err != nil {
		_ = f.Drop()
		return nil, err
	}
	defer pool.Close()
	if f.Accounts, err = fixture.SeedAccounts(ctx, pool, n); err != nil {
		_ = f.Drop()
		return nil, err
	}
	if err := fixture.Fund(ctx, postgres.NewLedger(pool), f.Accounts, 10_000_000_000_00, 8, nil); err != nil {
		_ = f.Drop()
		return nil, err
	}
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE ledger.accounts, ledger.transfers, ledger.entries"); err != nil {
		_ = f.Drop()
		return nil, err
	}
	return f, nil
}

// Drop drops the database.
func (f *Fixture) Drop() error { return postgres.DropDatabase(context.Background(), f.DSN) }

// Run measures the store then pgbench (alternating who goes first by runID)
// for warmup + duration each.
func (f *Fixture) Run(ctx context.Context, pgbenchBin, mode string, n, runID int, warmup, duration time.Duration) (Cell, error) {
	cell := Cell{Mode: mode, Concurrency: n}
	store := func() error {
		pool, err := postgres.Connect(ctx, f.DSN, int32(n))
		if err != nil {
			return err
		}
		defer pool.Close()
		ledger := postgres.NewLedger(pool)
		accts := f.Accounts
		r := loop.Closed(ctx, n, warmup+duration, func(ctx context.Context, w, seq int) (string, bool, bool) {
			from := 0
			if mode == "uniform" {
				from = rand.IntN(len(accts))
			}
			to := (from + 1 + rand.IntN(len(accts)-1)) % len(accts)
			t, err := ledger.Post(ctx, bank.TransferRequest{
				Kind: bank.KindTransfer, KeyOwner: accts[from].Owner,
				Reference:   fmt.Sprintf("q%d-%03d-%09d", runID, w, seq),
				FromAccount: accts[from].Number, ToAccount: accts[to].Number,
				Amount: bank.Money(1 + rand.Int64N(10_000)), CreatedBy: accts[from].Owner,
			})
			if err != nil {
				return "error", true, false
			}
			return string(t.Status), false, t.Status == bank.StatusFailed
		})
		cell.Store = stats.Summarize(r.Samples, warmup, duration)
		return nil
	}
	pg := func() error {
		dir, err := os.MkdirTemp("", "bench-pgbench-")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(dir) }()
		vars, err := pgbench.PostVars(mode, len(f.Accounts), runID)
		if err != nil {
			return err
		}
		res, err := pgbench.Run(ctx, pgbench.Options{
			Binary: pgbenchBin, Conn: fixture.Libpq(f.DSN), Script: pgbench.PostScript, Clients: n,
			Duration: warmup + duration, WorkDir: dir, Vars: vars,
		})
		cell.Command = res.Display
		cell.Pgbench = stats.Summarize(res.Samples, warmup, duration)
		return err
	}
	order := []func() error{store, pg}
	if runID%2 == 1 {
		order = []func() error{pg, store}
	}
	for _, f := range order {
		if err := f(); err != nil {
			return cell, err
		}
	}
	if cell.Pgbench.TPS > 0 {
		cell.Ratio = cell.Store.TPS / cell.Pgbench.TPS
	}
	return cell, nil
}
