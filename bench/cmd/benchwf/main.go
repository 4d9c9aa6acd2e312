// Command benchwf measures what each choice in a transfer's workflow shape
// costs the Temporal server: the empty-workflow ceiling (eager start, one
// no-op local activity, four search attributes, start + Get, as the API
// starts transfers) next to variants that change one thing each. On 2
// cores the server's CPU per workflow bounds throughput, so "server CPU
// ms/wf" is the figure to read; throughput moves with other people's load.
//
//	go run ./bench/cmd/benchwf                       # every shape, c=8, 3 rounds
//	go run ./bench/cmd/benchwf -conc 1,8 -rounds 5 -duration 10s
//
// Shapes run interleaved (round by round) on one dev server with the tuned
// flags of `make run`, so drift hits all alike; each cell is the median
// over rounds. It prints a markdown section and appends it to -doc.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bankcore/bank/bench/internal/ceiling"
	"github.com/bankcore/bank/bench/internal/cpu"
	"github.com/bankcore/bank/bench/internal/loop"
	"github.com/bankcore/bank/bench/internal/report"
	"github.com/bankcore/bank/bench/internal/stats"
	"github.com/bankcore/bank/bench/internal/sysinfo"
	"github.com/bankcore/bank/internal/localtemporal"
	"github.com/bankcore/bank/internal/testsvc"
	"github.com/bankcore/bank/workflows"
)

var shapes = []ceiling.Shape{
	{Name: "empty (eager, 1 local activity, 4 search attributes, start + Get)"},
	{Name: "+ a second local activity", Steps: 2},
	{Name: "− search attributes", NoSearchAttrs: true},
	{Name: "− eager start (first task through matching)", NoEager: true},
	{Name: "answered in-process by the local activity (no Get)", HandOff: true},
	{Name: "local activity takes 10 ms, start + Get", Sleep: 10 * time.Millisecond},
	{Name: "local activity takes 10 ms, answered in-process (no Get)", Sleep: 10 * time.Millisecond, HandOff: true},
	{Name: "gRPC requests uncompressed (the SDK gzips them by default)", Compression: "none"},
	{Name: "Update-with-Start instead of start + Get (no eager: the SDK cannot)", UpdateWithStart: true},
}

type cell struct {
	tps, p50, p99, serverMs, selfMs, others []float64
	errors                                  int
}

func main() {
	concFlag := flag.String("conc", "8", "closed-loop concurrencies")
	rounds := flag.Int("rounds", 3, "rounds; shapes interleave within a round")
	duration := flag.Duration("duration", 8*time.Second, "measured time per run")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured start of each run")
	only := flag.String("shapes", "", "comma-separated shape numbers to run (1-based; default all)")
	doc := flag.String("doc", "docs/BENCHMARKS.md", "markdown file the section is appended to (empty: none)")
	flag.Parse()
	concs, err := loop.ParseConcurrencies(*concFlag)
	if err != nil {
		fatal(fmt.Errorf("-conc: %w", err))
	}
	run := shapes
	if *only != "" {
		run = nil
		for _, s := range strings.Split(*only, ",") {
			i, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || i < 1 || i > len(shapes) {
				fatal(fmt.Errorf("-shapes: %q", s))
			}
			run = append(run, shapes[i-1])
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	loadBefore := sysinfo.LoadAvg()
	srv, err := localtemporal.Start(ctx, localtemporal.Options{Headless: true, SearchAttributes: workflows.SearchAttributes})
	if err != nil {
		fatal(err)
	}
	defer func() { _ = srv.Stop() }()
	ns, err := testsvc.Namespace(ctx, srv.Address())
	if err != nil {
		fatal(err)
	}
	r, err := ceiling.Start(srv.Address(), ns, 64, logger)
	if err != nil {
		fatal(err)
	}
	defer r.Stop()
	cores := runtime.NumCPU()
	cells := map[string]*cell{}
	key := func(s ceiling.Shape, n int) string { return s.Name + "/" + strconv.Itoa(n) }
	total := *rounds * len(run) * len(concs)
	done := 0
	for round := range *rounds {
		for _, n := range concs {
			for i, s := range run {
				// Alternate the order per round so no shape always follows
				// the same neighbour.
				if round%2 == 1 {
					s = run[len(run)-1-i]
				}
				done++
				name := fmt.Sprintf("r%d-c%d-%d", round, n, i)
				fmt.Fprintf(os.Stderr, "benchwf: [%d/%d] %s, c=%d, %s (about %s left)\n", done, total, s.Name, n,
					*warmup+*duration, time.Duration(total-done+1)*(*warmup+*duration+time.Second))
				s0, m0, c0 := cpu.Pids(srv.Pids()...), cpu.Self(), sysinfo.ReadCPU()
				res := loop.Closed(ctx, n, *warmup+*duration, r.ShapeOp(name, s))
				s1, m1, c1 := cpu.Pids(srv.Pids()...), cpu.Self(), sysinfo.ReadCPU()
				if ctx.Err() != nil {
					fatal(ctx.Err())
				}
				sum := stats.Summarize(res.Samples, *warmup, *duration)
				ops := 0
				for _, x := range res.Samples {
					if !x.Failed {
						ops++
					}
				}
				c := cells[key(s, n)]
				if c == nil {
					c = &cell{}
					cells[key(s, n)] = c
				}
				wall := res.Ended.Sub(res.Started)
				ours := 100 * float64((s1-s0)+(m1-m0)) / float64(wall) / float64(cores)
				c.tps = append(c.tps, sum.TPS)
				c.p50 = append(c.p50, sum.P50ms)
				c.p99 = append(c.p99, sum.P99ms)
				c.serverMs = append(c.serverMs, cpu.PerOp(s1-s0, ops))
				c.selfMs = append(c.selfMs, cpu.PerOp(m1-m0, ops))
				c.others = append(c.others, max(0, sysinfo.BusyPercent(c0, c1)-ours))
				c.errors += sum.Errors
				fmt.Fprintf(os.Stderr, "benchwf:   %.1f wf/s, p50 %.1f ms, p99 %.1f ms, server %.2f ms/wf, client %.2f ms/wf, errors %d\n",
					sum.TPS, sum.P50ms, sum.P99ms, cpu.PerOp(s1-s0, ops), cpu.PerOp(m1-m0, ops), sum.Errors)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n### Workflow shapes, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- Command: `go run ./bench/cmd/benchwf %s`\n", strings.Join(os.Args[1:], " "))
	h := sysinfo.Host()
	fmt.Fprintf(&b, "- Machine: %d cores, %s; load average before `%s`, after `%s`\n", cores, h.CPUModel, loadBefore, sysinfo.LoadAvg())
	fmt.Fprintf(&b, "- %s; Temporal dev server with the tuned flags; %d rounds of %s + %s per cell, shapes interleaved; medians over rounds\n\n",
		runtime.Version(), *rounds, *warmup, *duration)
	b.WriteString("| shape | conc | wf/s | p50 ms | p99 ms | server CPU ms/wf | ×empty server CPU | client CPU ms/wf | others % | errors |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, n := range concs {
		base := median(cells[key(run[0], n)].serverMs)
		for _, s := range run {
			c := cells[key(s, n)]
			fmt.Fprintf(&b, "| %s | %d | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | %.0f | %d |\n", s.Name, n,
				median(c.tps), median(c.p50), median(c.p99), median(c.serverMs), median(c.serverMs)/base,
				median(c.selfMs), median(c.others), c.errors)
		}
	}
	fmt.Print(b.String())
	if *doc != "" {
		if err := report.AppendDoc(*doc, b.String()); err != nil {
			fatal(err)
		}
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchwf:", err)
	os.Exit(1)
}
