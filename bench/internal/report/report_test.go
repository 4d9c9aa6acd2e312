package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bankcore/bank/bench/internal/cpu"
	"github.com/bankcore/bank/bench/internal/stats"
)

func TestHeadlineLinePrintsNAForWhatWasNotMeasured(t *testing.T) {
	h := Headline{TPS: 97, P99ms: 536.1, VsEmpty: Ptr(0.66), StoreVsPgbench: Ptr(0.9), NotifyP99ms: Ptr(0.9), ServerCPUms: Ptr(11.7), Invariants: "ok"}
	want := "bench: tps=97.0 p99_ms=536.1 vs_empty_workflow=0.66 store_vs_pgbench=0.90 notify_p99_ms=0.9 server_cpu_ms_per_transfer=11.7 invariants=ok"
	if got := h.Line(); got != want {
		t.Fatalf("Line() = %q\nwant     %q", got, want)
	}
	h = Headline{TPS: 50, P99ms: 20, Invariants: "ok-api-only"}
	want = "bench: tps=50.0 p99_ms=20.0 vs_empty_workflow=n/a store_vs_pgbench=n/a notify_p99_ms=n/a server_cpu_ms_per_transfer=n/a invariants=ok-api-only"
	if got := h.Line(); got != want {
		t.Fatalf("Line() = %q\nwant     %q", got, want)
	}
}

func TestFromDeltaLeavesUnmeasuredNil(t *testing.T) {
	d := cpu.Delta{Wall: time.Second, Server: 100 * time.Millisecond, BankA: 200 * time.Millisecond, Self: 50 * time.Millisecond, Cores: 2}
	c := FromDelta(d, cpu.Probe{Pids: cpu.Procs{Server: []int{1}, BankA: 2}}, 10)
	if c.ServerMs == nil || *c.ServerMs != 10 || c.BankAMs == nil || *c.BankAMs != 20 || c.SelfMs != 5 {
		t.Fatalf("measured parts: %+v", c)
	}
	if c.BankBMs != nil || c.NotifierMs != nil || c.PostgresMs != nil || c.BrokerMs != nil {
		t.Fatalf("unmeasured parts not nil: %+v", c)
	}
	if c.ServerPct == nil || *c.ServerPct != 5 {
		t.Fatalf("server share: %v", c.ServerPct)
	}
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"bank_b_ms_per_op":null`) {
		t.Fatalf("JSON does not show null for an unmeasured process: %s", raw)
	}
}

func TestMarkdownAndChartsOfAnExternalRun(t *testing.T) {
	probe := cpu.Probe{Pids: cpu.Procs{BankA: 7}}
	phase := func(name, mode string, n int) Phase {
		return Phase{Name: name, Mode: mode, Concurrency: n, Latency: stats.Summary{TPS: 40, P50ms: 10, P95ms: 15, P99ms: 20},
			Outcomes: map[string]int{"201": 100}, Completed: 100,
			CPU: FromDelta(cpu.Delta{Wall: time.Second, BankA: time.Second, Self: 100 * time.Millisecond, Cores: 2}, probe, 100)}
	}
	r := &Report{Started: time.Now(), Command: "go run ./bench/cmd/bench -quick", Target: TargetExternal,
		APIs:      []string{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		Processes: []Process{{Name: "Temporal server", Note: "TEMPORAL_ADDRESS not given"}, {Name: "bank A", Pid: 7, Cmdline: "bin/bank all"}},
		Skipped:   []string{"empty-workflow ceiling: needs TEMPORAL_ADDRESS"},
		System:    []Phase{phase("uniform-c1", "uniform", 1), phase("hot-c1", "hot", 1)},
		Headline:  Headline{TPS: 40, P99ms: 20, Invariants: "ok-api-only"}}
	r.Inv.OK, r.Inv.BalancesOK = true, true
	md := r.Markdown("", nil)
	for _, want := range []string{
		"against http://127.0.0.1:8080",
		"Temporal server: not measured (TEMPORAL_ADDRESS not given)",
		"bank A = pid 7 `bank all`",
		"Skipped: empty-workflow ceiling: needs TEMPORAL_ADDRESS",
		"| uniform | 1 | 40.0 | 10.0 | 15.0 | 20.0 | – | n/a | 10.0 | n/a | n/a | 1.0 | n/a | n/a |",
		"Invariants hold (API only)",
		"invariants=ok-api-only",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	dir := t.TempDir()
	paths, err := r.Charts(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 3 {
		t.Fatalf("charts: %v", paths)
	}
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("chart %s: %v", filepath.Base(p), err)
		}
	}
}
