// Package cpu reads the CPU time of the processes a benchmark measures (from
// /proc/<pid>/stat) and of the benchmark itself (getrusage), so a phase can
// report CPU per operation: steadier than throughput on a shared machine.
package cpu

import (
	"strings"
	"syscall"
	"time"

	"github.com/bankcore/bank/bench/internal/sysinfo"
	"github.com/bankcore/bank/internal/proc"
)

// Pids is the user + system CPU time of processes (all their threads) so
// far.
func Pids(pids ...int) time.Duration {
	var d time.Duration
	for _, pid := range pids {
		if s, err := proc.ReadStat(pid); err == nil {
			d += s.CPU
		}
	}
	return d
}

// Self is this process's user + system CPU time so far.
func Self() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Procs are the processes a run measures one by one; 0 is one not measured
// (not found, or the same process as another one already counted).
type Procs struct {
	Server   []int // the Temporal server's processes (none: not measured)
	BankA    int   // bank instance A: API + workers (+ notifier when it is `bank all`)
	BankB    int   // bank instance B: API only
	Notifier int   // the notifier on its own
}

// None tells whether no process is measured.
func (p Procs) None() bool {
	return len(p.Server) == 0 && p.BankA == 0 && p.BankB == 0 && p.Notifier == 0
}

// Reading is one look at every counter a phase reports.
type Reading struct {
	At       time.Time
	Server   time.Duration
	BankA    time.Duration
	BankB    time.Duration
	Notifier time.Duration
	Self     time.Duration // this process: the load generator, subscribers (and the empty workflow's client and worker)
	Postgres time.Duration // backends of our databases, plus WAL writer, checkpointer, background writer
	Broker   time.Duration // RabbitMQ (beam.smp) and Redis, whole processes (shared with anyone else using them)
	Machine  sysinfo.CPUTimes
}

// Probe takes Readings.
type Probe struct {
	Pids      Procs
	Databases []string // database names whose backends count as ours
	Postgres  bool     // read PostgreSQL's processes (they run on this machine)
	Broker    bool     // read RabbitMQ's and Redis's processes (they run on this machine)
}

// Read takes a Reading now.
func (p Probe) Read() Reading {
	r := Reading{At: time.Now(), Self: Self()}
	snap := sysinfo.TakeSnapshot()
	r.Machine = snap.CPU
	ticks := func(pids ...int) time.Duration {
		var d time.Duration
		for _, pid := range pids {
			if pid > 0 {
				d += snap.Procs[pid].CPU
			}
		}
		return d
	}
	r.Server, r.BankA, r.BankB, r.Notifier = ticks(p.Pids.Server...), ticks(p.Pids.BankA), ticks(p.Pids.BankB), ticks(p.Pids.Notifier)
	for _, pr := range snap.Procs {
		d := pr.CPU
		switch {
		case pr.Comm == "beam.smp" || pr.Comm == "redis-server":
			if p.Broker {
				r.Broker += d
			}
		case !p.Postgres:
		case strings.HasPrefix(pr.Cmdline, "postgres:") && (strings.HasSuffix(pr.Cmdline, ": walwriter") ||
			strings.HasSuffix(pr.Cmdline, ": checkpointer") || strings.HasSuffix(pr.Cmdline, ": background writer")):
			r.Postgres += d
		case strings.HasPrefix(pr.Cmdline, "postgres:"):
			for _, db := range p.Databases {
				if db != "" && strings.Contains(pr.Cmdline, " "+db+" ") {
					r.Postgres += d
					break
				}
			}
		}
	}
	return r
}

// Delta is what a phase used between two Readings.
type Delta struct {
	Wall           time.Duration
	Server         time.Duration
	BankA          time.Duration
	BankB          time.Duration
	Notifier       time.Duration
	Self           time.Duration
	Postgres       time.Duration
	Broker         time.Duration
	MachineBusyPct float64 // all cores' busy share over the phase, 100 = every core busy
	OthersPct      float64 // the part of it not used by the above (other people's work, kernel)
	Cores          int
}

// Since is the usage from a to b. Postgres backends that ended between the
// readings are lost, ones that started count from zero: fine for pools that
// stay open through a phase.
func Since(a, b Reading, cores int) Delta {
	pos := func(x, y time.Duration) time.Duration { return max(0, y-x) }
	d := Delta{Wall: b.At.Sub(a.At), Server: pos(a.Server, b.Server), BankA: pos(a.BankA, b.BankA), BankB: pos(a.BankB, b.BankB),
		Notifier: pos(a.Notifier, b.Notifier), Self: b.Self - a.Self, Postgres: pos(a.Postgres, b.Postgres), Broker: pos(a.Broker, b.Broker), Cores: cores}
	d.MachineBusyPct = sysinfo.BusyPercent(a.Machine, b.Machine)
	if d.Wall > 0 && cores > 0 {
		used := d.Server + d.BankA + d.BankB + d.Notifier + d.Self + d.Postgres + d.Broker
		ours := 100 * float64(used) / float64(d.Wall) / float64(cores)
		d.OthersPct = max(0, d.MachineBusyPct-ours)
	}
	return d
}

// PerOp is CPU milliseconds per operation.
func PerOp(d time.Duration, n int) float64 {
	if n <= 0 {
		return 0
	}
	return float64(d) / float64(time.Millisecond) / float64(n)
}
