// Package report is the system benchmark's result: the JSON file, the
// markdown section for docs/BENCHMARKS.md and the charts.
package report

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bankcore/bank/bench/internal/broker"
	"github.com/bankcore/bank/bench/internal/cpu"
	"github.com/bankcore/bank/bench/internal/loop"
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

// Phase is one load phase with its CPU use.
type Phase struct {
	Name        string          `json:"name"`
	Mode        string          `json:"mode"` // uniform | hot | empty | rate
	Concurrency int             `json:"concurrency"`
	Rate        float64         `json:"rate,omitempty"` // open loop: started per second
	Latency     loop.Summary    `json:"latency"`
	Outcomes    map[string]int  `json:"outcomes"`
	Completed   int             `json:"completed"` // every completion in the phase, warm-up included (CPU is divided by it)
	CPU         CPU             `json:"cpu"`
	Notify      *system.Latency `json:"notify,omitempty"`
}

// CPU is a phase's CPU per completed operation, in milliseconds.
type CPU struct {
	ServerMs   float64 `json:"server_ms_per_op"`
	SelfMs     float64 `json:"bench_process_ms_per_op"` // API×2 + workers + notifier + load generator + subscribers
	PostgresMs float64 `json:"postgres_ms_per_op"`
	BrokerMs   float64 `json:"rabbitmq_redis_ms_per_op"`
	BusyPct    float64 `json:"machine_busy_pct"`
	OthersPct  float64 `json:"others_pct"`
	ServerPct  float64 `json:"server_pct_of_all_cores"`
}

// FromDelta divides a phase's CPU by its completions.
func FromDelta(d cpu.Delta, n int) CPU {
	c := CPU{ServerMs: cpu.PerOp(d.Server, n), SelfMs: cpu.PerOp(d.Self, n), PostgresMs: cpu.PerOp(d.Postgres, n),
		BrokerMs: cpu.PerOp(d.Broker, n), BusyPct: d.MachineBusyPct, OthersPct: d.OthersPct}
	if d.Wall > 0 && d.Cores > 0 {
		c.ServerPct = 100 * float64(d.Server) / float64(d.Wall) / float64(d.Cores)
	}
	return c
}

// Headline is what the last line prints.
type Headline struct {
	Phase            string  `json:"phase"`
	TPS              float64 `json:"tps"`
	P99ms            float64 `json:"p99_ms"`
	VsEmpty          float64 `json:"vs_empty_workflow"`
	StoreVsPgbench   float64 `json:"store_vs_pgbench"`
	StoreVsPgbenchAt string  `json:"store_vs_pgbench_cell"`
	NotifyP99ms      float64 `json:"notify_p99_ms"`
	ServerCPUms      float64 `json:"server_cpu_ms_per_transfer"`
	Invariants       string  `json:"invariants"`
}

// Line is the last line of the output.
func (h Headline) Line() string {
	return fmt.Sprintf("bench: tps=%.1f p99_ms=%.1f vs_empty_workflow=%.2f store_vs_pgbench=%.2f notify_p99_ms=%.1f server_cpu_ms_per_transfer=%.1f invariants=%s",
		h.TPS, h.P99ms, h.VsEmpty, h.StoreVsPgbench, h.NotifyP99ms, h.ServerCPUms, h.Invariants)
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
	fmt.Fprintf(&b, "### System (%s), %s\n\n", kind, r.Started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Command: `%s` (from the repository root)\n", r.Command)
	fmt.Fprintf(&b, "- Machine: %d cores (GOMAXPROCS %d), %s, %s RAM, Linux %s; shared with other engineers' work\n", m.NProc, m.GOMAXPROCS, m.CPUModel, m.MemTotal, m.Kernel)
	fmt.Fprintf(&b, "- Load average (1/5/15 min): before `%s`, after `%s`\n", r.LoadBefore, r.LoadAfter)
	v := r.Versions
	fmt.Fprintf(&b, "- %s; Temporal CLI %s (`%s`, dev server, tuned flags of internal/temporaldev, its own process); PostgreSQL %s (synchronous_commit=%s, fsync=%s); RabbitMQ %s; Redis %s\n",
		m.GoVersion, strings.TrimPrefix(v["temporal_cli_module"], "github.com/temporalio/cli "), oneLine(v["temporal_cli"]), v["postgres"], v["postgres_synchronous_commit"], v["postgres_fsync"], v["rabbitmq"], v["redis"])
	keys := slices.Sorted(maps.Keys(r.Settings))
	var kv []string
	for _, k := range keys {
		kv = append(kv, k+"="+r.Settings[k])
	}
	fmt.Fprintf(&b, "- Bank in-process (`app.Start`): instance A = API + workers + notifier (as `bank all`; transfers go here, so eager start finds its worker), instance B = API only; subscribers alternate between A and B. Settings: %s\n", strings.Join(kv, ", "))
	fmt.Fprintf(&b, "- Every load phase: %gs warm-up + %gs measured, closed loop; latency percentiles over the measured window (bench/internal/stats, nearest rank); CPU per op = CPU used during the whole phase / operations completed in it, from /proc (server: the dev server's process; bench process: getrusage of API×2, workers, notifier, load generator and subscribers together; Postgres: backends of the run's databases + WAL writer, checkpointer, background writer; RabbitMQ+Redis: their whole processes)\n\n", r.WarmupSec, r.PhaseSec)

	b.WriteString("**POST /transfers (closed loop) next to the empty-workflow ceiling** (empty: one no-op local activity, same server, same worker options, started with ExecuteWorkflow + eager start + Get as the API does)\n\n")
	b.WriteString("| load | conc | tps | p50 ms | p95 ms | p99 ms | ×empty | server CPU ms/op | bench process CPU ms/op | Postgres CPU ms/op | RabbitMQ+Redis CPU ms/op | busy % / others % | notify p50/p99 ms | outcomes |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
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
		fmt.Fprintf(&b, "| %s | %s | %.1f | %.1f | %.1f | %.1f | %s | %.1f | %.1f | %.1f | %.1f | %.0f / %.0f | %s | %s |\n",
			load, conc, p.Latency.TPS, p.Latency.P50ms, p.Latency.P95ms, p.Latency.P99ms, x,
			p.CPU.ServerMs, p.CPU.SelfMs, p.CPU.PostgresMs, p.CPU.BrokerMs, p.CPU.BusyPct, p.CPU.OthersPct, nt, outcomes(p.Outcomes))
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
	fmt.Fprintf(&b, "\n**Setup**: %d users registered by %d callers at %.1f registrations/s (bcrypt cost %d; p50 %.0f ms, p99 %.0f ms; server CPU %.1f ms and bench process CPU %.1f ms per registration), logged in at %.1f/s, funded by operator deposits at %.1f/s.\n",
		s.Users, s.Concurrency, s.RegistrationsPS, s.BcryptCost, s.RegisterP50ms, s.RegisterP99ms, s.ServerCPUmsPerRegistration, s.SelfCPUmsPerRegistration, s.LoginsPS, s.DepositsPS)
	inv := r.Inv
	verdict := "hold"
	if !inv.OK {
		verdict = "FAILED"
	}
	fmt.Fprintf(&b, "\n**Invariants %s**: ledger audit %s (%d accounts, sum %d, %d completed transfers with both entries, %d mismatched balances); %d balances read through `GET /accounts/{n}` equal funding + what the %d answered 201s (+%d resolved afterwards through `GET /transfers/{ref}`) moved: %s (%d completed in the database); %d transfer notifications for %d completed transfers, %d transfers without exactly two, %d to the wrong party: %s; live: %d due notifications not received by a subscriber, %d duplicates.\n",
		verdict, okStr(inv.AuditOK), inv.Audit.Accounts, inv.Audit.Total, inv.Audit.CompletedPosted, len(inv.Audit.Mismatched),
		inv.BalancesChecked, inv.Answered201, inv.ResolvedMoved, okStr(inv.BalancesOK), inv.CompletedInDB,
		inv.Notifications, inv.CompletedInDB, inv.NotifyWrongCount, inv.NotifyWrongParty, okStr(inv.NotificationsOK), inv.LiveMissing, inv.LiveDups)
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

func okStr(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAILED"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func outcomes(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s×%d", k, m[k]))
	}
	return strings.Join(out, ", ")
}
