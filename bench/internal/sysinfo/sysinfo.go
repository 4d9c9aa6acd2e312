// Package sysinfo records what a benchmark ran on: cores, CPU model, load,
// and how busy the whole machine was during a run (other people's work
// shows up here, so a figure can be judged against it).
package sysinfo

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/bankcore/bank/internal/proc"
)

// Machine describes the host.
type Machine struct {
	NProc      int    `json:"nproc"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model"`
	Kernel     string `json:"kernel"`
	GoVersion  string `json:"go_version"`
	MemTotal   string `json:"mem_total"`
}

// Host reads the machine description (Linux; fields stay empty elsewhere).
func Host() Machine {
	m := Machine{NProc: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version()}
	m.CPUModel = firstField("/proc/cpuinfo", "model name")
	if kb, err := strconv.ParseFloat(strings.TrimSuffix(firstField("/proc/meminfo", "MemTotal"), " kB"), 64); err == nil {
		m.MemTotal = strconv.FormatFloat(kb/(1<<20), 'f', 1, 64) + " GiB"
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

func firstField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// LoadAvg is the 1, 5 and 15 minute load average as /proc/loadavg shows it.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// CPUTimes is a reading of the machine-wide CPU counters.
type CPUTimes struct{ busy, total uint64 }

// ReadCPU reads the aggregate line of /proc/stat.
func ReadCPU() CPUTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return CPUTimes{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return CPUTimes{}
	}
	var t CPUTimes
	for i, s := range f[1:] {
		v, _ := strconv.ParseUint(s, 10, 64)
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		t.total += v
		if i != 3 && i != 4 { // idle, iowait
			t.busy += v
		}
	}
	return t
}

// BusyPercent is the share of all cores' time spent busy between two
// readings: 100 means every core was busy the whole time.
func BusyPercent(from, to CPUTimes) float64 {
	if to.total <= from.total {
		return 0
	}
	return 100 * float64(to.busy-from.busy) / float64(to.total-from.total)
}

// Proc is one process's CPU time at a reading.
type Proc struct {
	proc.Stat
	Cmdline string // with the process title PostgreSQL sets
}

// Snapshot is every process's CPU time and the machine counters at once.
type Snapshot struct {
	CPU   CPUTimes
	Procs map[int]Proc
}

// TakeSnapshot reads /proc/<pid>/stat and cmdline of every process.
func TakeSnapshot() Snapshot {
	s := Snapshot{CPU: ReadCPU(), Procs: map[int]Proc{}}
	for _, st := range proc.All() {
		cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/cmdline")
		s.Procs[st.Pid] = Proc{Stat: st, Cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))}
	}
	return s
}

// Share splits the machine's busy time between two snapshots: busy is all
// cores' busy share (100 = every core busy throughout), ours the part used
// by processes alive at both readings that ours selects; the rest (busy -
// ours) is everyone else, short-lived processes included.
func Share(from, to Snapshot, ours func(Proc) bool) (busy, mine float64) {
	busy = BusyPercent(from.CPU, to.CPU)
	total := to.CPU.total - from.CPU.total
	if total == 0 {
		return busy, 0
	}
	var ticks uint64
	for pid, p := range to.Procs {
		q, ok := from.Procs[pid]
		if !ok || q.Comm != p.Comm || !ours(p) || p.Ticks < q.Ticks {
			continue
		}
		ticks += p.Ticks - q.Ticks
	}
	// /proc/stat counts in the same USER_HZ ticks, summed over all cores.
	return busy, min(busy, 100*float64(ticks)/float64(total))
}
