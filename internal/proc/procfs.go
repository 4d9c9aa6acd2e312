package proc

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"
)

// Stat is what /proc/<pid>/stat says of a process.
type Stat struct {
	Pid   int
	Comm  string        // the executable's name (at most 15 bytes)
	PPid  int           // the parent
	CPU   time.Duration // user + system time of all its threads so far
	Ticks uint64        // the same in clock ticks (USER_HZ)
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux
// everywhere we run).
const clockTick = 10 * time.Millisecond

// ReadStat reads /proc/<pid>/stat.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, err
	}
	// pid (comm) state ppid ... utime stime (fields 14 and 15); comm may
	// hold spaces and parentheses.
	open, closing := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return Stat{}, errors.New("malformed /proc stat of pid " + strconv.Itoa(pid))
	}
	f := strings.Fields(string(b[closing+1:]))
	if len(f) < 13 {
		return Stat{}, errors.New("short /proc stat of pid " + strconv.Itoa(pid))
	}
	ppid, _ := strconv.Atoi(f[1])
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return Stat{Pid: pid, Comm: string(b[open+1 : closing]), PPid: ppid, Ticks: ut + st,
		CPU: time.Duration(ut+st) * clockTick}, nil // #nosec G115 -- CPU ticks of one process fit
}

// All is the stat of every process we may read; ones that end while it
// reads are left out.
func All() []Stat {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []Stat
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, err := ReadStat(pid); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// Children lists the pids whose parent is pid. PostgreSQL's backends, for
// one, each sit in a session of their own, out of reach of a signal to the
// postmaster's group.
func Children(pid int) []int {
	var out []int
	for _, s := range All() {
		if s.PPid == pid {
			out = append(out, s.Pid)
		}
	}
	return out
}
