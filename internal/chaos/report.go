package chaos

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// eventLog prints timestamped lines as the run goes.
type eventLog struct {
	start time.Time
	mu    sync.Mutex
	out   io.Writer
}

func (l *eventLog) since() time.Duration { return time.Since(l.start) }

func (l *eventLog) printf(format string, args ...any) {
	line := fmt.Sprintf("[%6.1fs] ", l.since().Seconds()) + fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(l.out, line)
}

// maxListed bounds the offending ids printed per invariant.
const maxListed = 25

// writeReport prints what was injected, the counts and the invariants,
// ending with "N passed, M failed".
func writeReport(out io.Writer, r *Result, w *Workload) {
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	p("")
	p("== faults injected (%d) ==", len(r.Faults))
	byKind := map[FaultKind][]Fault{}
	for _, f := range r.Faults {
		byKind[f.Kind] = append(byKind[f.Kind], f)
	}
	for _, k := range FaultKinds {
		fs := byKind[k]
		var parts []string
		for _, f := range fs {
			parts = append(parts, fmt.Sprintf("%s %s at %s (down %s, answering %s later)",
				f.Mode, f.Target, f.At.Round(time.Second), f.Down.Round(100*time.Millisecond), f.Back.Round(100*time.Millisecond)))
		}
		p("  %-19s x%d  %s", k, len(fs), strings.Join(parts, "; "))
	}

	if w != nil {
		p("")
		p("== workload ==")
		type tally struct{ keys, completed, refused, unresolved, doubt, anomalies int }
		var tr, dep tally
		var byTimeout, byConn, by5xx, by202 int
		codes := map[string]int{}
		replays, replaysLost := 0, 0
		for _, k := range w.keys {
			t := &tr
			if k.Kind == "deposit" {
				t = &dep
			}
			t.keys++
			if k.inDoubt() {
				t.doubt++
			}
			byTimeout += min(k.Timeouts, 1)
			byConn += min(k.ConnErrors, 1)
			by5xx += min(k.ServerErrors, 1)
			by202 += min(k.Pending, 1)
			if len(k.Anomalies) > 0 {
				t.anomalies++
			}
			a, ok := k.final()
			switch {
			case !ok:
				t.unresolved++
			case a.Completed:
				t.completed++
			default:
				t.refused++
				codes[a.Code]++
			}
			for _, a := range k.Answers {
				if a.Deliberate {
					replays++
				}
			}
			if k.ReplayLost {
				replaysLost++
			}
		}
		var codeParts []string
		for c, n := range codes {
			codeParts = append(codeParts, fmt.Sprintf("%s %d", c, n))
		}
		sort.Strings(codeParts)
		p("  customers %d, transfer clients %d, readers %d, API instances %d", len(w.customers), w.opts.Clients, w.opts.Readers, len(w.apis))
		p("  transfer keys %d: completed %d, refused %d, unresolved %d, anomalies %d",
			tr.keys, tr.completed, tr.refused, tr.unresolved, tr.anomalies)
		p("  deposit keys  %d: completed %d, refused %d, unresolved %d, anomalies %d (%d of them initial funding)",
			dep.keys, dep.completed, dep.refused, dep.unresolved, dep.anomalies, w.opts.Customers)
		p("  refusals: %s", strings.Join(codeParts, ", "))
		p("  keys in doubt, then retried with the same key: %d (with a timeout %d, a connection error %d, a 5xx/429 %d, a 202 %d)",
			tr.doubt+dep.doubt, byTimeout, byConn, by5xx, by202)
		p("  deliberate later replays of answered keys: %d answered, %d cut short by the end of the run", replays, replaysLost)
		st := w.stats.statuses()
		var codesSeen []int
		for c := range st {
			codesSeen = append(codesSeen, c)
		}
		sort.Ints(codesSeen)
		var stParts []string
		for _, c := range codesSeen {
			stParts = append(stParts, fmt.Sprintf("%d: %d", c, st[c]))
		}
		p("  HTTP requests %d: %s; timeouts %d; connection errors %d",
			w.stats.requests.Load(), strings.Join(stParts, ", "), w.stats.timeouts.Load(), w.stats.connErrors.Load())
		p("  reads: %d balances, %d history pages (%d distinct entries), %d failed reads during faults",
			w.stats.balanceReads.Load(), w.stats.historyReads.Load(), len(w.observed), w.stats.readErrors.Load())
	}
	if r.Settle != "" {
		p("  settling: %s", r.Settle)
	}

	p("")
	p("== invariants ==")
	for i, inv := range r.Invariants {
		status := "PASS"
		if !inv.OK() {
			status = "FAIL"
		}
		p("  %s %d. %s: %s", status, i+1, inv.Name, inv.Detail)
		for j, b := range inv.Broken {
			if j == maxListed {
				p("         ... and %d more", len(inv.Broken)-maxListed)
				break
			}
			p("         %s", b)
		}
	}
	p("")
	p("%d passed, %d failed", r.Passed, r.Failed)
}

// machine describes where the run happened.
func machine() string {
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				_, cpu, _ = strings.Cut(line, ":")
				cpu = strings.TrimSpace(cpu)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(strings.SplitN(string(b), "\n", 2)[0], "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
		}
	}
	kernel := commandOutput("uname", "-sr")
	return fmt.Sprintf("%d CPUs (%s)%s, %s, %s", runtime.NumCPU(), cpu, mem, kernel, runtime.Version())
}

// commandOutput runs a short command, for the machine description.
func commandOutput(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output() // #nosec G204 -- fixed commands
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
