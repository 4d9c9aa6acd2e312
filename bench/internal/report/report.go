// Package report is the system benchmark's result: the JSON file, the
// markdown section for docs/BENCHMARKS.md and the charts.
package report

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bankcore/bank/bench/internal/broker"
	"github.com/bankcore/bank/bench/internal/cpu"
	"github.com/bankcore/bank/bench/internal/stats"
	"github.com/bankcore/bank/bench/internal/storepair"
	"github.com/bankcore/bank/bench/internal/sysinfo"
	"github.com/bankcore/bank/bench/internal/system"
)

// Report is the JSON file of one run.
type Report struct {
	Started    time.Time         `json:"started"`
	Finished   time.Time         `json:"finished"`
	Command    string            `json:"command"`
	Quick      bool              `json:"quick"`
	Machine    sysinfo.Machine   `json:"machine"`
	LoadBefore string            `json:"load_before"`
	LoadAfter  string            `json:"load_after"`
	Versions   map[string]string `json:"versions"`
	Settings   map[string]string `json:"settings"`
	WarmupSec  float64           `json:"warmup_sec"`
	PhaseSec   float64           `json:"phase_sec"`
	// Target is "own stack" (everything started by the bench) or
	// "BANK_API_URL" (an API it did not start).
	Target    string    `json:"target"`
	APIs      []string  `json:"api_urls"`
	Processes []Process `json:"processes"`
	Skipped   []string  `json:"skipped,omitempty"` // what was not measured, and why

	StorePair []storepair.Cell  `json:"store_vs_pgbench"`
	Raw       *broker.Raw       `json:"rabbitmq_raw,omitempty"`
	Empty     []Phase           `json:"empty_workflow"`
	Setup     system.Setup      `json:"setup"`
	Subs      int               `json:"subscribers"`
	SubsLost  int               `json:"subscribers_dropped"`
	System    []Phase           `json:"system"`
	Notify    *Phase            `json:"notify_phase,omitempty"`
	Notifier  *broker.Notifier  `json:"notifier,omitempty"`
	Inv       system.Invariants `json:"invariants"`
	Headline  Headline          `json:"headline"`
	Errors    []string          `json:"errors,omitempty"`
}

// Process is one process whose CPU the report gives on its own; Pid 0 is
// one not measured, and Note says why.
type Process struct {
	Name    string `json:"name"`
	Pid     int    `json:"pid"`
	Cmdline string `json:"cmdline,omitempty"`
	Note    string `json:"note,omitempty"`
}

// Phase is one load phase with its CPU use.
type Phase struct {
	Name        string          `json:"name"`
	Mode        string          `json:"mode"` // uniform | hot | empty | rate
	Concurrency int             `json:"concurrency"`
	Rate        float64         `json:"rate,omitempty"` // open loop: started per second
	Latency     stats.Summary   `json:"latency"`
	Outcomes    map[string]int  `json:"outcomes"`
	Completed   int             `json:"completed"` // every completion in the phase, warm-up included (CPU is divided by it)
	CPU         CPU             `json:"cpu"`
	Notify      *system.Latency `json:"notify,omitempty"`
}

// CPU is a phase's CPU per completed operation, in milliseconds, by
// process; nil is a process not measured.
type CPU struct {
	ServerMs   *float64 `json:"server_ms_per_op"`        // Temporal server
	BankAMs    *float64 `json:"bank_a_ms_per_op"`        // bank A: API + workers
	BankBMs    *float64 `json:"bank_b_ms_per_op"`        // bank B: API only
	NotifierMs *float64 `json:"notifier_ms_per_op"`      // the notifier process
	SelfMs     float64  `json:"bench_process_ms_per_op"` // the load generator and subscribers (and the empty workflow's client and worker)
	PostgresMs *float64 `json:"postgres_ms_per_op"`
	BrokerMs   *float64 `json:"rabbitmq_redis_ms_per_op"`
	BusyPct    float64  `json:"machine_busy_pct"`
	OthersPct  float64  `json:"others_pct"`
	ServerPct  *float64 `json:"server_pct_of_all_cores"`
}

// FromDelta divides a phase's CPU by its completions; what p did not
// measure stays nil.
func FromDelta(d cpu.Delta, p cpu.Probe, n int) CPU {
	per := func(ok bool, v time.Duration) *float64 {
		if !ok {
			return nil
		}
		x := cpu.PerOp(v, n)
		return &x
	}
	c := CPU{ServerMs: per(len(p.Pids.Server) > 0, d.Server), BankAMs: per(p.Pids.BankA > 0, d.BankA), BankBMs: per(p.Pids.BankB > 0, d.BankB),
		NotifierMs: per(p.Pids.Notifier > 0, d.Notifier), SelfMs: cpu.PerOp(d.Self, n), PostgresMs: per(p.Postgres, d.Postgres),
		BrokerMs: per(p.Broker, d.Broker), BusyPct: d.MachineBusyPct, OthersPct: d.OthersPct}
	if len(p.Pids.Server) > 0 && d.Wall > 0 && d.Cores > 0 {
		x := 100 * float64(d.Server) / float64(d.Wall) / float64(d.Cores)
		c.ServerPct = &x
	}
	return c
}

// Ptr is a measured value.
func Ptr(v float64) *float64 { return &v }

// Opt formats a value that may not have been measured ("n/a").
func Opt(v *float64, format string) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf(format, *v)
}

// Headline is what the last line prints; nil is not measured ("n/a").
type Headline struct {
	Phase            string   `json:"phase"`
	TPS              float64  `json:"tps"`
	P99ms            float64  `json:"p99_ms"`
	VsEmpty          *float64 `json:"vs_empty_workflow"`
	StoreVsPgbench   *float64 `json:"store_vs_pgbench"`
	StoreVsPgbenchAt string   `json:"store_vs_pgbench_cell"`
	NotifyP99ms      *float64 `json:"notify_p99_ms"`
	ServerCPUms      *float64 `json:"server_cpu_ms_per_transfer"`
	// ok, FAILED, or ok-api-only: what the API shows holds, the database
	// was not checked (no DATABASE_URL).
	Invariants string `json:"invariants"`
}

// Line is the last line of the output.
func (h Headline) Line() string {
	return fmt.Sprintf("bench: tps=%.1f p99_ms=%.1f vs_empty_workflow=%s store_vs_pgbench=%s notify_p99_ms=%s server_cpu_ms_per_transfer=%s invariants=%s",
		h.TPS, h.P99ms, Opt(h.VsEmpty, "%.2f"), Opt(h.StoreVsPgbench, "%.2f"), Opt(h.NotifyP99ms, "%.1f"), Opt(h.ServerCPUms, "%.1f"), h.Invariants)
}

// EmptyAt is the empty-workflow phase at concurrency n.
func (r *Report) EmptyAt(n int) *Phase {
	for i := range r.Empty {
		if r.Empty[i].Concurrency == n {
			return &r.Empty[i]
		}
	}
	return nil
}

// Markdown is the section appended to docs/BENCHMARKS.md.
func (r *Report) Markdown(jsonPath string, charts []string) string {
	var b strings.Builder
	m := r.Machine
	kind := "full"
	if r.Quick {
		kind = "quick"
	}
	target := ""
	if r.Target != TargetOwn {
		target = ", against " + strings.Join(r.APIs, " and ")
	}
	fmt.Fprintf(&b, "### System (%s%s), %s\n\n", kind, target, r.Started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Command: `%s` (from the repository root)\n", r.Command)
	fmt.Fprintf(&b, "- Machine: %d cores (GOMAXPROCS %d), %s, %s RAM, Linux %s; shared with other engineers' work\n", m.NProc, m.GOMAXPROCS, m.CPUModel, m.MemTotal, m.Kernel)
	fmt.Fprintf(&b, "- Load average (1/5/15 min): before `%s`, after `%s`\n", r.LoadBefore, r.LoadAfter)
	v := r.Versions
	temporal := "Temporal: not started by the bench"
	if v["temporal_cli_module"] != "" {
		temporal = fmt.Sprintf("Temporal CLI %s (`%s`, dev server, tuned flags of internal/localtemporal, its own process)",
			strings.TrimPrefix(v["temporal_cli_module"], "github.com/temporalio/cli "), oneLine(v["temporal_cli"]))
	}
	fmt.Fprintf(&b, "- %s; %s; PostgreSQL %s (synchronous_commit=%s, fsync=%s); RabbitMQ %s; Redis %s\n",
		m.GoVersion, temporal, orNA(v["postgres"]), orNA(v["postgres_synchronous_commit"]), orNA(v["postgres_fsync"]), orNA(v["rabbitmq"]), orNA(v["redis"]))
	keys := slices.Sorted(maps.Keys(r.Settings))
	var kv []string
	for _, k := range keys {
		kv = append(kv, k+"="+r.Settings[k])
	}
	if r.Target == TargetOwn {
		fmt.Fprintf(&b, "- Bank built from this checkout and run as separate processes: bank A = `bank serve api,worker` (API + every worker: transfers and registrations go here, so eager start finds its worker), bank B = `bank api` (API only), `bank notifier`; subscribers alternate between A and B. Settings: %s\n", strings.Join(kv, ", "))
	} else {
		fmt.Fprintf(&b, "- Bank not started by the bench: instance A %s (setup, transfers), instance B %s (half the subscribers). Settings: %s\n", r.APIs[0], r.APIs[len(r.APIs)-1], strings.Join(kv, ", "))
	}
	var procs []string
	for _, p := range r.Processes {
		if p.Pid > 0 {
			procs = append(procs, fmt.Sprintf("%s = pid %d `%s`", p.Name, p.Pid, short(p.Cmdline)))
		} else {
			procs = append(procs, fmt.Sprintf("%s: not measured (%s)", p.Name, p.Note))
		}
	}
	fmt.Fprintf(&b, "- Processes measured from /proc: %s\n", strings.Join(procs, "; "))
	fmt.Fprintf(&b, "- Every load phase: %gs warm-up + %gs measured, closed loop; latency percentiles over the measured window (bench/internal/stats, nearest rank); CPU per op = CPU used during the whole phase / operations completed in it, from /proc/<pid>/stat of each process above (load generator: getrusage of the bench process: HTTP clients, subscribers, and in the empty-workflow rows its client and worker; Postgres: backends of the run's databases + WAL writer, checkpointer, background writer; RabbitMQ+Redis: their whole processes); n/a = not measured\n", r.WarmupSec, r.PhaseSec)
	for _, sk := range r.Skipped {
		fmt.Fprintf(&b, "- Skipped: %s\n", sk)
	}
	b.WriteString("\n")

	// 250 ms is api.handOffGrace (unexported; the bench does not import the API).
	b.WriteString("**POST /transfers (closed loop) next to the empty-workflow ceiling** (empty: one no-op local activity, same server, same worker options, started as the API starts a transfer: ExecuteWorkflow with eager start and the same id policies and search attributes; its result read with Get, where the API takes the outcome handed over in-process and asks Get only after 250 ms). CPU columns: ms of CPU per completed operation.\n\n")
	b.WriteString("| load | conc | tps | p50 ms | p95 ms | p99 ms | ×empty | Temporal server | bank A (API+workers) | bank B (API) | notifier | load generator | Postgres | RabbitMQ+Redis | busy % / others % | notify p50/p99 ms | outcomes |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	row := func(p Phase) {
		x := "–"
		if e := r.EmptyAt(p.Concurrency); e != nil && p.Mode != "empty" && e.Latency.TPS > 0 {
			x = fmt.Sprintf("%.2f", p.Latency.TPS/e.Latency.TPS)
		}
		nt := "–"
		if p.Notify != nil && p.Notify.Received > 0 {
			nt = fmt.Sprintf("%.1f / %.1f", p.Notify.P50ms, p.Notify.P99ms)
			if p.Notify.Missing > 0 {
				nt += fmt.Sprintf(" (%d missing)", p.Notify.Missing)
			}
		}
		load := p.Mode
		if p.Mode == "empty" {
			load = "empty workflow"
		}
		conc := fmt.Sprint(p.Concurrency)
		if p.Rate > 0 {
			load, conc = fmt.Sprintf("uniform, open loop %.0f/s", p.Rate), "–"
		}
		c := p.CPU
		fmt.Fprintf(&b, "| %s | %s | %.1f | %.1f | %.1f | %.1f | %s | %s | %s | %s | %s | %.1f | %s | %s | %.0f / %.0f | %s | %s |\n",
			load, conc, p.Latency.TPS, p.Latency.P50ms, p.Latency.P95ms, p.Latency.P99ms, x,
			Opt(c.ServerMs, "%.1f"), Opt(c.BankAMs, "%.1f"), Opt(c.BankBMs, "%.1f"), Opt(c.NotifierMs, "%.1f"), c.SelfMs,
			Opt(c.PostgresMs, "%.1f"), Opt(c.BrokerMs, "%.1f"), c.BusyPct, c.OthersPct, nt, outcomes(p.Outcomes))
	}
	for _, p := range r.Empty {
		row(p)
	}
	for _, p := range r.System {
		row(p)
	}
	if r.Notify != nil {
		row(*r.Notify)
	}
	b.WriteString("\n")

	if r.Notify != nil && r.Notify.Notify != nil {
		n := r.Notify.Notify
		fmt.Fprintf(&b, "**Notification latency** (HTTP 201 → the subscriber's receipt over GraphQL, %d idle subscribers on two instances, %.0f transfers/s): p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms over %d notifications (%d missing; %d arrived before the client had read the 201: those are negative, signed percentiles; from the request's start: p50 %.1f, p99 %.1f ms). Goal (issue 4): p99 < 50 ms.\n\n",
			r.Subs, r.Notify.Rate, n.P50ms, n.P95ms, n.P99ms, n.MaxMs, n.Received, n.Missing, n.Early, n.FromStartP50ms, n.FromStartP99ms)
	}
	if len(r.StorePair) > 0 {
		b.WriteString("**Baseline: ledger store vs pgbench** (same checked-in scripts and fixture as `bench/cmd/benchstore`, short runs in this run; benchstore's own section above has longer repeated runs)\n\n")
		b.WriteString("| mode | conc | store tps | p50 ms | p99 ms | pgbench tps | p50 ms | p99 ms | store/pgbench |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, c := range r.StorePair {
			fmt.Fprintf(&b, "| %s | %d | %.0f | %.2f | %.2f | %.0f | %.2f | %.2f | %.2f |\n", c.Mode, c.Concurrency, c.Store.TPS, c.Store.P50ms, c.Store.P99ms,
				c.Pgbench.TPS, c.Pgbench.P50ms, c.Pgbench.P99ms, c.Ratio)
		}
		b.WriteString("\n")
	}
	if raw := r.Raw; raw != nil {
		fmt.Fprintf(&b, "**Baseline: raw RabbitMQ** (%d publishers on one confirm channel, persistent %d-byte messages, one consumer with manual ack, prefetch %d): %.0f confirmed publishes/s (confirm p50 %.2f ms, p99 %.2f ms), consumed %d of %d at %.0f/s, publish→consume p50 %.2f ms, p99 %.2f ms.\n",
			raw.Publishers, raw.BodyBytes, raw.Prefetch, raw.Publish.TPS, raw.Publish.P50ms, raw.Publish.P99ms, raw.Consumed, raw.Published, raw.ConsumeRate, raw.EndToEndP50ms, raw.EndToEndP99ms)
	}
	if n := r.Notifier; n != nil {
		fmt.Fprintf(&b, "**Notifier, sustained** (%d transfer_completed events published through `rabbitmq.Publisher` with confirms by %d goroutines, then drained): published %.0f/s; the notifier stored and announced both parties' notifications of all of them at **%.0f events/s** (complete: %v).\n",
			n.Events, n.Publishers, n.PublishRate, n.EventsPerSec, n.Complete)
	}
	s := r.Setup
	cost := "unknown: the API's own setting"
	if s.BcryptCost > 0 {
		cost = fmt.Sprint(s.BcryptCost)
	}
	fmt.Fprintf(&b, "\n**Setup**: %d users registered by %d callers at %.1f registrations/s (bcrypt cost %s; p50 %.0f ms, p99 %.0f ms; CPU per registration: Temporal server %s ms, bank A %s ms, load generator %.1f ms), logged in at %.1f/s, funded by operator deposits at %.1f/s.\n",
		s.Users, s.Concurrency, s.RegistrationsPS, cost, s.RegisterP50ms, s.RegisterP99ms, Opt(s.ServerCPUmsPerRegistration, "%.1f"),
		Opt(s.BankACPUmsPerRegistration, "%.1f"), s.SelfCPUmsPerRegistration, s.LoginsPS, s.DepositsPS)
	inv := r.Inv
	verdict := "hold"
	if !inv.OK {
		verdict = "FAILED"
	}
	if inv.DBChecked {
		fmt.Fprintf(&b, "\n**Invariants %s**: ledger audit %s (%d accounts, sum %d, %d completed transfers with both entries, %d mismatched balances); %d balances read through `GET /accounts/{n}` equal funding + what the %d answered 201s (+%d resolved afterwards through `GET /transfers/{ref}`) moved: %s (%d completed in the database); %d transfer notifications for %d completed transfers, %d transfers without exactly two, %d to the wrong party: %s; live: %d due notifications not received by a subscriber, %d duplicates.\n",
			verdict, okStr(inv.AuditOK), inv.Audit.Accounts, inv.Audit.Total, inv.Audit.CompletedPosted, len(inv.Audit.Mismatched),
			inv.BalancesChecked, inv.Answered201, inv.ResolvedMoved, okStr(inv.BalancesOK), inv.CompletedInDB,
			inv.Notifications, inv.CompletedInDB, inv.NotifyWrongCount, inv.NotifyWrongParty, okStr(inv.NotificationsOK), inv.LiveMissing, inv.LiveDups)
	} else {
		fmt.Fprintf(&b, "\n**Invariants %s (API only)**: %d balances read through `GET /accounts/{n}` equal funding + what the %d answered 201s (+%d resolved afterwards through `GET /transfers/{ref}`) moved: %s; live: %d due notifications not received by a subscriber, %d duplicates. Not checked without DATABASE_URL: the ledger audit, stored notifications.\n",
			verdict, inv.BalancesChecked, inv.Answered201, inv.ResolvedMoved, okStr(inv.BalancesOK), inv.LiveMissing, inv.LiveDups)
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(&b, "\nErrors: %s\n", strings.Join(r.Errors, "; "))
	}
	b.WriteString("\n")
	for _, c := range charts {
		fmt.Fprintf(&b, "![%s](%s) ", strings.TrimSuffix(filepath.Base(c), ".png"), "img/"+filepath.Base(c))
	}
	if len(charts) > 0 {
		b.WriteString("\n\n")
	}
	fmt.Fprintf(&b, "Last line: `%s`\n", r.Headline.Line())
	if jsonPath != "" {
		fmt.Fprintf(&b, "Raw result: `%s` (not committed).\n", filepath.ToSlash(jsonPath))
	}
	return b.String()
}

// Targets.
const (
	TargetOwn      = "own stack"
	TargetExternal = "BANK_API_URL"
)

func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}

func okStr(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAILED"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// short is a command line cut for the report: the executable's base name
// and the first arguments (the JSON has it whole).
func short(cmdline string) string {
	f := strings.Fields(cmdline)
	if len(f) == 0 {
		return ""
	}
	f[0] = filepath.Base(f[0])
	s := strings.Join(f, " ")
	if r := []rune(s); len(r) > 60 {
		s = string(r[:60]) + "…"
	}
	return s
}

func outcomes(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s×%d", k, m[k]))
	}
	return strings.Join(out, ", ")
}

// AppendDoc appends md to path (re-read at the last moment: others append
// to the same file).
func AppendDoc(path, md string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		md = "# Benchmarks\n\n" + md
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString("\n" + md); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
