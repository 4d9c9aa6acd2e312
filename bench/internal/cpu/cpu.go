// Package cpu reads the CPU time of the processes a benchmark started (from
// /proc/<pid>/stat) and of the benchmark itself (getrusage), so a phase can
// report CPU per operation: steadier than throughput on a shared machine.
package cpu

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bankcore/bank/bench/internal/sysinfo"
)

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux
// everywhere we run).
const clockTick = 10 * time.Millisecond

// Pid is the user + system CPU time of one process (all its threads) so far.
func Pid(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	st := string(b)
	i := strings.LastIndexByte(st, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(st[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	stt, _ := strconv.ParseUint(f[12], 10, 64)
	return time.Duration(ut+stt) * clockTick
}

// Self is this process's user + system CPU time so far.
func Self() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Reading is one look at every counter a phase reports.
type Reading struct {
	At       time.Time
	Server   time.Duration // the Temporal dev server we started
	Self     time.Duration // this process: API instances, workers, notifier, load generator, subscribers
	Postgres time.Duration // backends of our databases, plus WAL writer, checkpointer, background writer
	Broker   time.Duration // RabbitMQ (beam.smp) and Redis, whole processes (shared with anyone else using them)
	Machine  sysinfo.CPUTimes
}

// Probe takes Readings.
type Probe struct {
	ServerPid int
	Databases []string // database names whose backends count as ours
}

// Read takes a Reading now.
func (p Probe) Read() Reading {
	r := Reading{At: time.Now(), Self: Self()}
	if p.ServerPid > 0 {
		r.Server = Pid(p.ServerPid)
	}
	snap := sysinfo.TakeSnapshot()
	r.Machine = snap.CPU
	for _, pr := range snap.Procs {
		d := time.Duration(pr.Ticks) * clockTick
		switch {
		case pr.Comm == "beam.smp" || pr.Comm == "redis-server":
			r.Broker += d
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
	d := Delta{Wall: b.At.Sub(a.At), Server: b.Server - a.Server, Self: b.Self - a.Self,
		Postgres: max(0, b.Postgres-a.Postgres), Broker: max(0, b.Broker-a.Broker), Cores: cores}
	d.MachineBusyPct = sysinfo.BusyPercent(a.Machine, b.Machine)
	if d.Wall > 0 && cores > 0 {
		ours := 100 * float64(d.Server+d.Self+d.Postgres+d.Broker) / float64(d.Wall) / float64(cores)
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
