// Command bench measures the whole bank in one run, next to its baselines
// on the same machine: the ledger store vs pgbench, the empty-workflow
// ceiling on the same Temporal server, raw RabbitMQ; then the system through
// its API (registrations, POST /transfers closed loop at several
// concurrencies, uniform and hot sender; notification latency with idle
// subscribers on two API instances; the notifier's sustained rate) and the
// invariants after it.
//
// By default it starts everything it measures itself, on free ports and
// under names of its own: a Temporal dev server process, a database, a
// namespace, an exchange, a queue, a Redis prefix, and the bank built from
// this checkout (`go build ./cmd/bank` into a temporary directory) as three
// processes: bank A `bank serve api,worker` (API and workers together, so
// the API's eager start finds a local worker), bank B `bank api`, and
// `bank notifier`. It reads each one's CPU from /proc and stops them all
// (SIGTERM, then SIGKILL) at the end, on an error or on Ctrl-C.
//
//	go run ./bench/cmd/bench          # full (make bench)
//	go run ./bench/cmd/bench -quick   # under 3 minutes (make bench-quick)
//
// With BANK_API_URL it starts nothing of the bank and measures the API it
// is given ("A" or "A,B": setup and transfers go to A, subscribers
// alternate between A and B; one URL serves as both). Setup logs in as the
// operator BANK_OPERATOR_EMAIL / BANK_OPERATOR_PASSWORD (default: the dev
// operator `make run` creates); the API must not rate-limit registrations
// (BANK_RATE_REGISTER=0). It runs setup, the transfer phases, notification
// latency over GraphQL and the invariants the API can show (every balance
// explained by the 201s). What needs more is skipped with its reason printed
// and in the report, unless given:
//
//   - DATABASE_URL: the ledger audit and stored-notification checks, and
//     store vs pgbench (on its own database on that server);
//   - TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE, default "default"): the
//     empty-workflow ceiling on that server;
//   - RABBITMQ_URL: the raw RabbitMQ baseline;
//   - CPU per process: found for URLs on this machine from the process
//     listening on the port (API, Temporal), or given with
//     -pids temporal=PID,a=PID,b=PID,notifier=PID.
//
// The notifier's sustained-rate phase (synthetic events) runs only on a
// stack of its own.
//
//	BANK_RATE_REGISTER=0 make run   # in another terminal: prints its URLs and the operator
//	BANK_API_URL=http://localhost:8080 go run ./bench/cmd/bench -quick -users 50
//
// It writes bench/results/bench-<time>.json, appends a section to
// docs/BENCHMARKS.md, draws docs/img/bench-*.png, and prints as its last
// line (n/a for what was not measured; invariants=ok-api-only when the
// database was not checked)
//
//	bench: tps=<n> p99_ms=<n> vs_empty_workflow=<ratio> store_vs_pgbench=<ratio> notify_p99_ms=<n> server_cpu_ms_per_transfer=<n> invariants=ok
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bankcore/bank/bench/internal/broker"
	"github.com/bankcore/bank/bench/internal/ceiling"
	"github.com/bankcore/bank/bench/internal/cpu"
	"github.com/bankcore/bank/bench/internal/loop"
	"github.com/bankcore/bank/bench/internal/report"
	"github.com/bankcore/bank/bench/internal/stack"
	"github.com/bankcore/bank/bench/internal/stats"
	"github.com/bankcore/bank/bench/internal/storepair"
	"github.com/bankcore/bank/bench/internal/sysinfo"
	"github.com/bankcore/bank/bench/internal/system"
	"github.com/bankcore/bank/bench/pgbench"
	"github.com/bankcore/bank/internal/postgres"
	"github.com/bankcore/bank/internal/testsvc"
)

type config struct {
	quick          bool
	warmup, phase  time.Duration
	conc           []int
	modes          []string
	users          int
	subscribers    int
	bcryptCost     int
	setupConc      int
	notifyRate     float64
	notifyPhase    time.Duration
	storeConc      []int
	storeModes     []string
	storePhase     time.Duration
	storeAccounts  int
	notifierEvents int
	pgbenchBin     string
	bankBin        string
	outDir, doc    string
	imgDir         string
	pids           string
	set            map[string]bool // flags given on the command line
}

func main() {
	var c config
	var conc, storeConc string
	flag.BoolVar(&c.quick, "quick", false, "short phases (5 s), concurrency 1/8/32, 200 users and subscribers: under 3 minutes")
	flag.DurationVar(&c.phase, "duration", 15*time.Second, "measured time of each load phase")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured start of each load phase")
	flag.StringVar(&conc, "conc", "1,8,32,64", "closed-loop concurrencies for POST /transfers and the empty workflow")
	flag.IntVar(&c.users, "users", 1000, "users registered (accounts the uniform load spreads over)")
	flag.IntVar(&c.subscribers, "subscribers", 1000, "idle GraphQL subscribers (one per user, alternating between the two API instances)")
	flag.IntVar(&c.bcryptCost, "bcrypt-cost", 10, "BCRYPT_COST of the bank it starts (registration and login are bcrypt-bound)")
	flag.IntVar(&c.setupConc, "setup-conc", 16, "parallel callers registering, logging in and funding")
	flag.Float64Var(&c.notifyRate, "notify-rate", 50, "transfers/s of the notification-latency phase (open loop)")
	flag.DurationVar(&c.notifyPhase, "notify-duration", 20*time.Second, "measured time of the notification-latency phase")
	flag.StringVar(&storeConc, "store-conc", "1,8,32", "concurrencies of the store-vs-pgbench pair")
	flag.DurationVar(&c.storePhase, "store-duration", 5*time.Second, "measured time of each store and pgbench run")
	flag.IntVar(&c.storeAccounts, "store-accounts", 10000, "accounts of the store-vs-pgbench fixture")
	flag.IntVar(&c.notifierEvents, "notifier-events", 5000, "events of the notifier's sustained-rate burst")
	flag.StringVar(&c.pgbenchBin, "pgbench", "pgbench", "pgbench executable")
	flag.StringVar(&c.bankBin, "bank-bin", "", "bank executable to measure (say, built from an earlier commit for a before/after); default: build ./cmd/bank of this checkout")
	flag.StringVar(&c.outDir, "out", "bench/results", "directory for the JSON result and the log (empty: none)")
	flag.StringVar(&c.doc, "doc", "docs/BENCHMARKS.md", "markdown file the section is appended to (empty: none)")
	flag.StringVar(&c.imgDir, "img", "docs/img", "directory for the charts (empty: none)")
	flag.StringVar(&c.pids, "pids", "", "with BANK_API_URL: processes to read CPU from, as temporal=PID,a=PID,b=PID,notifier=PID (default: found from the ports of local URLs)")
	flag.Parse()
	c.set = map[string]bool{}
	flag.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	if c.quick {
		def := func(name string, apply func()) {
			if !c.set[name] {
				apply()
			}
		}
		def("duration", func() { c.phase = 5 * time.Second })
		def("warmup", func() { c.warmup = time.Second })
		def("conc", func() { conc = "1,8,32" })
		def("users", func() { c.users = 200 })
		def("subscribers", func() { c.subscribers = 200 })
		def("bcrypt-cost", func() { c.bcryptCost = 6 })
		def("notify-duration", func() { c.notifyPhase = 8 * time.Second })
		def("store-conc", func() { storeConc = "8" })
		def("store-duration", func() { c.storePhase = 3 * time.Second })
		def("store-accounts", func() { c.storeAccounts = 1000 })
		def("notifier-events", func() { c.notifierEvents = 1000 })
	}
	var err error
	if c.conc, err = loop.ParseConcurrencies(conc); err != nil {
		fatal(fmt.Errorf("-conc: %w", err))
	}
	if c.storeConc, err = loop.ParseConcurrencies(storeConc); err != nil {
		fatal(fmt.Errorf("-store-conc: %w", err))
	}
	c.modes = []string{"uniform", "hot"}
	c.storeModes = []string{"uniform", "hot"}
	if c.users < 2 || c.users > 99_999 {
		fatal(errors.New("-users: between 2 and 99999"))
	}
	var ext *external
	if os.Getenv("BANK_API_URL") != "" {
		if ext, err = externalFromEnv(os.Getenv, c.pids); err != nil {
			fatal(err)
		}
	} else if c.pids != "" {
		fatal(errors.New("-pids: only with BANK_API_URL (the bench knows the processes it starts)"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := "go run ./bench/cmd/bench"
	if len(os.Args) > 1 {
		cmd += " " + pgbench.ShellJoin(os.Args[1:])
	}
	if ext != nil {
		cmd = "BANK_API_URL=" + os.Getenv("BANK_API_URL") + " " + cmd
	}
	rep, err := run(ctx, c, cmd, ext)
	if rep != nil {
		if err != nil {
			headline(rep) // what was measured before the error
		}
		fmt.Println(rep.Headline.Line())
	}
	if err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

var t0 = time.Now()

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench %6s  %s\n", time.Since(t0).Truncate(time.Second), fmt.Sprintf(format, args...))
}

// target is what a run measures: the stack it started, or an API it was
// given. Empty strings are what it may not use.
type target struct {
	st                  *stack.Stack // nil with BANK_API_URL
	urlA, urlB          string
	operator, password  string
	databaseURL         string // the bank's database ("": no database checks)
	storeBaseURL        string // server for the store-vs-pgbench database ("": skipped)
	temporal, namespace string // for the empty-workflow ceiling ("": skipped)
	workerConcurrency   int
	rabbitURL           string // raw RabbitMQ baseline ("": skipped)
	probe               cpu.Probe
	processes           []report.Process
}

// alive is nil while every process the bench started still runs.
func (t *target) alive() error {
	if t.st == nil {
		return nil
	}
	return t.st.Alive()
}

func run(ctx context.Context, c config, command string, ext *external) (*report.Report, error) {
	rep := &report.Report{Started: time.Now().UTC(), Command: command, Quick: c.quick, Machine: sysinfo.Host(),
		LoadBefore: sysinfo.LoadAvg(), WarmupSec: c.warmup.Seconds(), PhaseSec: c.phase.Seconds(), Target: report.TargetOwn}
	rep.Headline.Invariants = "FAILED"
	cores := runtime.NumCPU()
	stamp := rep.Started.Format("20060102-150405")
	skip := func(what, why string) {
		say("skip %s: %s", what, why)
		rep.Skipped = append(rep.Skipped, what+": "+why)
	}

	logFile := io.Discard
	var bankLog io.Writer // the bank processes' output (nil: kept only for error messages)
	if c.outDir != "" {
		if err := os.MkdirAll(c.outDir, 0o755); err != nil {
			return nil, err
		}
		f, err := os.Create(filepath.Join(c.outDir, "bench-"+stamp+".log"))
		if err != nil {
			return nil, err
		}
		defer func() { _ = f.Close() }()
		logFile, bankLog = f, f
	}
	logger := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelWarn}))

	t := &target{storeBaseURL: testsvc.PostgresURL}
	if ext != nil {
		rep.Target = report.TargetExternal
		t = ext.target()
		if c.set["bcrypt-cost"] {
			say("-bcrypt-cost is ignored with BANK_API_URL: the API has its own")
		}
	}

	// 1a. Ledger store vs pgbench, before anything else loads Postgres.
	if t.storeBaseURL == "" {
		skip("store vs pgbench", "needs DATABASE_URL (the PostgreSQL server to create its own fixture database on)")
	} else {
		say("phase store-vs-pgbench: seeding %d accounts", c.storeAccounts)
		fx, err := storepair.Setup(ctx, t.storeBaseURL, c.storeAccounts)
		if err != nil {
			return rep, fmt.Errorf("store-vs-pgbench setup: %w", err)
		}
		runID := 0
		for _, mode := range c.storeModes {
			for _, n := range c.storeConc {
				runID++
				cell, err := fx.Run(ctx, c.pgbenchBin, mode, n, runID, time.Second, c.storePhase)
				if err != nil {
					_ = fx.Drop()
					return rep, fmt.Errorf("store-vs-pgbench %s c=%d: %w", mode, n, err)
				}
				rep.StorePair = append(rep.StorePair, cell)
				say("phase store-vs-pgbench %s c=%d: store %.0f tps, pgbench %.0f tps, ratio %.2f", mode, n, cell.Store.TPS, cell.Pgbench.TPS, cell.Ratio)
			}
		}
		if err := fx.Drop(); err != nil {
			rep.Errors = append(rep.Errors, "drop store fixture: "+err.Error())
		}
	}

	// The stack.
	if ext == nil {
		say("starting the stack: build ./cmd/bank, Temporal dev server, database, namespace, bank A (api+worker), bank B (api), notifier (bcrypt cost %d)", c.bcryptCost)
		st, err := stack.Start(ctx, stack.Options{BcryptCost: c.bcryptCost, Log: bankLog, Binary: c.bankBin})
		if err != nil {
			return rep, err
		}
		defer func() {
			say("stopping the stack")
			if err := st.Stop(); err != nil {
				say("stop: %v", err)
			}
		}()
		t = ownTarget(st)
		cfg := st.Config
		rep.Versions = stack.Versions(ctx, true, cfg.DatabaseURL, cfg.RabbitMQURL, cfg.RedisURL)
		rep.Settings = map[string]string{
			"BCRYPT_COST": strconv.Itoa(cfg.BcryptCost), "BANK_RATE_REGISTER": "0", "BANK_RATE_LOGIN_FAILURES": "0",
			"BANK_TRANSFER_WAIT": cfg.TransferWait.String(), "BANK_MAX_INFLIGHT": strconv.Itoa(cfg.MaxInFlight),
			"DATABASE_MAX_CONNS": strconv.Itoa(int(cfg.DatabaseMaxConns)), "WORKER_CONCURRENCY": strconv.Itoa(cfg.WorkerConcurrency),
			"LOG_LEVEL": "warn", "users": strconv.Itoa(c.users),
		}
		say("stack up: Temporal %s (pid %d), bank A %s (pid %d), bank B %s (pid %d), notifier (pid %d), database %s",
			st.Server.Address(), st.Server.Pids(), st.URLA, st.A.Pid(), st.URLB, st.B.Pid(), st.N.Pid(), st.Database)
	} else {
		say("BANK_API_URL: instance A %s, instance B %s; starting nothing of the bank", t.urlA, t.urlB)
		if err := ext.check(ctx, t); err != nil {
			return rep, err
		}
		rep.Versions = stack.Versions(ctx, false, t.databaseURL, t.rabbitURL, os.Getenv("REDIS_URL"))
		rep.Settings = map[string]string{"users": strconv.Itoa(c.users), "operator": t.operator}
		for _, p := range t.processes {
			if p.Pid > 0 {
				say("measuring %s: pid %d (%s)", p.Name, p.Pid, p.Cmdline)
			}
		}
		if t.probe.Pids.None() {
			skip("CPU per process", "no process of the bank or of Temporal found on this machine (give -pids temporal=PID,a=PID,...)")
		}
	}
	rep.APIs = []string{t.urlA, t.urlB}
	rep.Processes = t.processes
	probe := t.probe

	// 1c. Raw RabbitMQ.
	if t.rabbitURL == "" {
		skip("raw RabbitMQ baseline", "needs RABBITMQ_URL")
	} else {
		say("phase rabbitmq-raw: publish with confirms (32 publishers) + consume, %s", c.warmup+c.phase/2)
		raw, err := broker.RunRaw(ctx, t.rabbitURL, testsvc.Suffix(), 32, c.warmup, c.phase/2)
		if err != nil {
			rep.Errors = append(rep.Errors, "rabbitmq raw: "+err.Error())
		} else {
			rep.Raw = &raw
			say("phase rabbitmq-raw: %.0f confirmed publishes/s, consumed %.0f/s, e2e p99 %.1f ms", raw.Publish.TPS, raw.ConsumeRate, raw.EndToEndP99ms)
		}
	}

	// 2. Setup.
	hc := system.NewClient(max(64, slices.Max(c.conc)) + c.setupConc)
	run := testsvc.Suffix()[:6]
	cost := strconv.Itoa(c.bcryptCost)
	if ext != nil {
		cost = "the API's"
	}
	say("phase setup: registering %d users on %s (%d callers, bcrypt cost %s)", c.users, t.urlA, c.setupConc, cost)
	r0 := probe.Read()
	tReg := time.Now()
	users, regLat, err := system.Register(ctx, hc, t.urlA, run, c.users, c.setupConc)
	if err != nil {
		return rep, errors.Join(err, t.alive())
	}
	regDelta := report.FromDelta(cpu.Since(r0, probe.Read(), cores), probe, c.users)
	s := &rep.Setup
	s.Users, s.Concurrency = c.users, c.setupConc
	if ext == nil {
		s.BcryptCost = c.bcryptCost
	}
	s.RegisterSec = time.Since(tReg).Seconds()
	s.RegistrationsPS = float64(c.users) / s.RegisterSec
	slices.Sort(regLat)
	s.RegisterP50ms, s.RegisterP99ms = float64(stats.Percentile(regLat, .5).Milliseconds()), float64(stats.Percentile(regLat, .99).Milliseconds())
	s.ServerCPUmsPerRegistration, s.BankACPUmsPerRegistration, s.SelfCPUmsPerRegistration = regDelta.ServerMs, regDelta.BankAMs, regDelta.SelfMs
	say("phase setup: %.1f registrations/s (CPU per registration: Temporal server %s ms, bank A %s ms); logging in", s.RegistrationsPS,
		report.Opt(s.ServerCPUmsPerRegistration, "%.1f"), report.Opt(s.BankACPUmsPerRegistration, "%.1f"))
	tl := time.Now()
	if err := system.LoginAll(ctx, hc, t.urlA, users, c.setupConc); err != nil {
		return rep, errors.Join(err, t.alive())
	}
	s.LoginSec = time.Since(tl).Seconds()
	s.LoginsPS = float64(c.users) / s.LoginSec
	opToken, err := system.Login(ctx, hc, t.urlA, t.operator, t.password)
	if err != nil {
		if ext != nil {
			err = fmt.Errorf("%w (the operator comes from BANK_OPERATOR_EMAIL and BANK_OPERATOR_PASSWORD, default the dev operator of make run)", err)
		}
		return rep, err
	}
	say("phase setup: %.1f logins/s; funding every account", s.LoginsPS)
	td := time.Now()
	if err := system.Fund(ctx, hc, t.urlA, opToken, run, users, 200_000_00, c.setupConc); err != nil {
		return rep, errors.Join(err, t.alive())
	}
	s.DepositSec = time.Since(td).Seconds()
	s.DepositsPS = float64(c.users) / s.DepositSec

	say("phase subscribers: connecting %d GraphQL subscribers across two API instances", min(c.subscribers, c.users))
	subs, err := system.Subscribe(ctx, []string{t.urlA, t.urlB}, users, c.subscribers, 32)
	if err != nil {
		return rep, err
	}
	defer subs.Close()
	rep.Subs = len(subs.By)

	// 1b and 2: the empty-workflow ceiling and the system, interleaved by
	// concurrency so that drift in other people's load hits both alike.
	var ceil *ceiling.Runner
	if t.temporal == "" {
		skip("empty-workflow ceiling", "needs TEMPORAL_ADDRESS (the Temporal server the bank uses)")
	} else if ceil, err = ceiling.Start(t.temporal, t.namespace, t.workerConcurrency, logger.With("component", "ceiling")); err != nil {
		return rep, fmt.Errorf("ceiling worker: %w", err)
	}
	tr := &system.Tracker{}
	for _, n := range c.conc {
		if ceil != nil {
			name := fmt.Sprintf("empty-c%d", n)
			say("phase %s: empty workflow, closed loop, %s", name, c.warmup+c.phase)
			// The run's token keeps workflow ids apart from earlier runs' on a server the bench did not start.
			p := measure(ctx, probe, cores, name, "empty", n, c, ceil.Op(name+"-"+run))
			rep.Empty = append(rep.Empty, p)
			say("phase %s: %.1f wf/s, p50 %.1f ms, p99 %.1f ms, server CPU %s ms/wf", name, p.Latency.TPS, p.Latency.P50ms, p.Latency.P99ms, report.Opt(p.CPU.ServerMs, "%.1f"))
		}
		for _, mode := range c.modes {
			name := fmt.Sprintf("%s-c%d", mode, n)
			say("phase %s: POST /transfers, closed loop, %s", name, c.warmup+c.phase)
			p := measure(ctx, probe, cores, name, mode, n, c, system.Transfers(hc, t.urlA, users, mode, name, tr))
			settle(subs)
			l := subs.Latency(tr.Completed(), name)
			p.Notify = &l
			rep.System = append(rep.System, p)
			say("phase %s: %.1f tps, p50 %.1f ms, p99 %.1f ms, CPU ms/transfer: server %s, bank A %s, bank B %s, notifier %s, load generator %.1f; notify p99 %.1f ms",
				name, p.Latency.TPS, p.Latency.P50ms, p.Latency.P99ms, report.Opt(p.CPU.ServerMs, "%.1f"), report.Opt(p.CPU.BankAMs, "%.1f"),
				report.Opt(p.CPU.BankBMs, "%.1f"), report.Opt(p.CPU.NotifierMs, "%.1f"), p.CPU.SelfMs, l.P99ms)
			if err := t.alive(); err != nil {
				return rep, err
			}
		}
	}
	if ceil != nil {
		ceil.Stop()
	}
	slices.SortStableFunc(rep.System, func(a, b report.Phase) int { return strings.Compare(b.Mode, a.Mode) }) // uniform first

	// Notification latency at a fixed rate (issue 4).
	name := fmt.Sprintf("notify-%.0fps", c.notifyRate)
	say("phase %s: %.0f transfers/s open loop with %d idle subscribers, %s", name, c.notifyRate, rep.Subs, c.warmup+c.notifyPhase)
	{
		op := system.Transfers(hc, t.urlA, users, "uniform", name, tr)
		r0 := probe.Read()
		res := loop.Open(ctx, c.notifyRate, c.warmup+c.notifyPhase, op)
		d := cpu.Since(r0, probe.Read(), cores)
		p := report.Phase{Name: name, Mode: "rate", Rate: c.notifyRate, Latency: stats.Summarize(res.Samples, c.warmup, c.notifyPhase),
			Outcomes: res.Outcomes, Completed: completed(res.Outcomes)}
		p.CPU = report.FromDelta(d, probe, p.Completed)
		settle(subs)
		l := subs.Latency(tr.Completed(), name)
		p.Notify = &l
		rep.Notify = &p
		say("phase %s: notify p50 %.1f ms, p99 %.1f ms (%d received, %d missing); HTTP p99 %.1f ms", name, l.P50ms, l.P99ms, l.Received, l.Missing, p.Latency.P99ms)
	}
	rep.SubsLost = subs.Dropped()
	if err := t.alive(); err != nil {
		return rep, err
	}

	// 3. Invariants.
	var pool *pgxpool.Pool
	if t.databaseURL == "" {
		skip("ledger audit and stored notifications", "need DATABASE_URL; checking what the API shows only")
		say("phase invariants: balances through the API")
	} else {
		say("phase invariants: ledger audit, balances through the API, notifications")
		if pool, err = postgres.Connect(ctx, t.databaseURL, 4); err != nil {
			return rep, err
		}
		defer pool.Close()
	}
	inv, err := system.Check(ctx, hc, t.urlA, pool, users, tr, subs)
	if err != nil {
		rep.Errors = append(rep.Errors, "invariants: "+err.Error())
	}
	rep.Inv = inv
	if inv.DBChecked {
		say("phase invariants: ok=%v (audit %v, balances %v, notifications %v)", inv.OK, inv.AuditOK, inv.BalancesOK, inv.NotificationsOK)
	} else {
		say("phase invariants: ok=%v (balances through the API %v; live notifications missing %d)", inv.OK, inv.BalancesOK, inv.LiveMissing)
	}

	// Issue 4: the notifier's sustained rate (after the invariants: its
	// synthetic events are not transfers).
	if t.st == nil {
		skip("notifier sustained rate", "publishes synthetic events into the bank's exchange: only on a stack the bench started")
	} else {
		say("phase notifier: %d events through rabbitmq.Publisher, drained by the notifier", c.notifierEvents)
		parties := make([]broker.Party, len(users))
		for i, u := range users {
			parties[i] = broker.Party{UserID: u.ID, Account: u.Account}
		}
		cfg := t.st.Config
		nres, nerr := broker.RunNotifier(ctx, cfg.RabbitMQURL, cfg.EventsExchange, pool, parties, c.notifierEvents, 32, logger)
		if nerr != nil {
			rep.Errors = append(rep.Errors, "notifier: "+nerr.Error())
		}
		rep.Notifier = &nres
		say("phase notifier: published %.0f/s, notifier %.0f events/s", nres.PublishRate, nres.EventsPerSec)
	}

	// Headline.
	headline(rep)
	h := &rep.Headline
	if inv.OK && err == nil {
		h.Invariants = "ok"
		if !inv.DBChecked {
			h.Invariants = "ok-api-only"
		}
	}
	rep.LoadAfter = sysinfo.LoadAvg()
	rep.Finished = time.Now().UTC()

	var charts []string
	if c.imgDir != "" {
		if err := os.MkdirAll(c.imgDir, 0o755); err == nil {
			if charts, err = rep.Charts(c.imgDir); err != nil {
				rep.Errors = append(rep.Errors, "charts: "+err.Error())
			}
		}
	}
	var jsonPath string
	if c.outDir != "" {
		jsonPath = filepath.Join(c.outDir, "bench-"+stamp+".json")
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(jsonPath, append(b, '\n'), 0o644); err != nil {
			return rep, err
		}
		say("wrote %s", jsonPath)
	}
	md := rep.Markdown(jsonPath, charts)
	if c.doc != "" {
		if err := report.AppendDoc(c.doc, md); err != nil {
			return rep, err
		}
		say("appended to %s", c.doc)
	}
	fmt.Print(md)
	if !inv.OK {
		return rep, fmt.Errorf("invariants failed: %+v", inv)
	}
	return rep, nil
}

// headline fills the summary line from what was measured so far (also
// after an error: the line still prints).
func headline(rep *report.Report) {
	h := &rep.Headline
	for _, p := range rep.System {
		if p.Mode == "uniform" && p.Latency.TPS > h.TPS {
			h.Phase, h.TPS, h.P99ms, h.ServerCPUms = p.Name, p.Latency.TPS, p.Latency.P99ms, p.CPU.ServerMs
			h.VsEmpty = nil
			if e := rep.EmptyAt(p.Concurrency); e != nil && e.Latency.TPS > 0 {
				h.VsEmpty = report.Ptr(p.Latency.TPS / e.Latency.TPS)
			}
		}
	}
	for _, cell := range rep.StorePair {
		if cell.Mode == "uniform" && (h.StoreVsPgbenchAt == "" || cell.Concurrency == 8) {
			h.StoreVsPgbench, h.StoreVsPgbenchAt = report.Ptr(cell.Ratio), fmt.Sprintf("uniform c=%d", cell.Concurrency)
		}
	}
	if rep.Notify != nil && rep.Notify.Notify != nil && rep.Notify.Notify.Received > 0 {
		h.NotifyP99ms = report.Ptr(rep.Notify.Notify.P99ms)
	}
}

// ownTarget is the stack the bench started: every process known.
func ownTarget(st *stack.Stack) *target {
	cfg := st.Config
	t := &target{st: st, urlA: st.URLA, urlB: st.URLB, operator: st.OperatorEmail, password: st.OperatorPassword,
		databaseURL: cfg.DatabaseURL, temporal: st.Server.Address(), namespace: st.Namespace,
		workerConcurrency: cfg.WorkerConcurrency, rabbitURL: cfg.RabbitMQURL}
	t.probe = cpu.Probe{Pids: cpu.Procs{Server: st.Server.Pids(), BankA: st.A.Pid(), BankB: st.B.Pid(), Notifier: st.N.Pid()},
		Databases: []string{st.Database}, Postgres: true, Broker: true}
	proc := func(name string, pid int) report.Process {
		return report.Process{Name: name, Pid: pid, Cmdline: cpu.Cmdline(pid)}
	}
	for _, p := range st.Server.Processes() {
		name := "Temporal server"
		if len(st.Server.Processes()) > 1 {
			name += " " + p.Name()
		}
		t.processes = append(t.processes, proc(name, p.Pid()))
	}
	t.processes = append(t.processes,
		proc("bank A", st.A.Pid()),
		proc("bank B", st.B.Pid()),
		proc("notifier", st.N.Pid()),
		proc("load generator", os.Getpid()),
	)
	return t
}

// measure runs one closed-loop phase and reads the CPU around it.
func measure(ctx context.Context, probe cpu.Probe, cores int, name, mode string, n int, c config, op loop.Op) report.Phase {
	r0 := probe.Read()
	res := loop.Closed(ctx, n, c.warmup+c.phase, op)
	d := cpu.Since(r0, probe.Read(), cores)
	p := report.Phase{Name: name, Mode: mode, Concurrency: n, Latency: stats.Summarize(res.Samples, c.warmup, c.phase),
		Outcomes: res.Outcomes, Completed: completed(res.Outcomes)}
	p.CPU = report.FromDelta(d, probe, p.Completed)
	return p
}

// completed counts what finished: 201s, stored refusals (they ran the
// workflow too) and completed empty workflows.
func completed(out map[string]int) int {
	n := 0
	for k, v := range out {
		if k == "201" || k == "completed" || strings.HasPrefix(k, "422 ") {
			n += v
		}
	}
	return n
}

// settle waits until the subscribers have received nothing new for 300 ms
// (at most 5 s), so a phase's late notifications are counted with it.
func settle(s *system.Subscribers) {
	deadline := time.Now().Add(5 * time.Second)
	last := s.Received.Load()
	for time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond)
		now := s.Received.Load()
		if now == last {
			return
		}
		last = now
	}
}
