package proc

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// eventually polls cond every 20 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("after %s: %s", timeout, what)
		case <-tick.C:
		}
	}
}

// gone tells whether pid has been reaped (a zombie still has /proc/<pid>)
// or is a zombie waiting for init.
func gone(pid int) bool {
	s, err := ReadStat(pid)
	if err != nil {
		return true
	}
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return s.Pid == pid && bytes.Contains(b, []byte(") Z "))
}

func TestStopEndsTheProcessWithSIGTERM(t *testing.T) {
	p, err := Start(Spec{Name: "sleeper", Path: "sleep", Args: []string{"30"}})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Running() || p.Exited() != nil {
		t.Fatalf("running %v, exited %v", p.Running(), p.Exited())
	}
	if err := p.Stop(syscall.SIGTERM, 5*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !gone(p.Pid()) {
		t.Fatalf("pid %d still there", p.Pid())
	}
	if err := p.Exited(); err == nil || !strings.Contains(err.Error(), "killed by terminated") {
		t.Errorf("Exited after SIGTERM = %v", err)
	}
	if err := p.Stop(syscall.SIGTERM, time.Second); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestStopKillsAStubbornProcessWithItsGroup(t *testing.T) {
	// The shell ignores TERM and has a child of its own in its group.
	p, err := Start(Spec{Name: "stubborn", Path: "sh", Args: []string{"-c", `trap "" TERM; sleep 30 & echo $!; wait`}})
	if err != nil {
		t.Fatal(err)
	}
	var child int
	eventually(t, 5*time.Second, "the shell printed its child's pid", func() bool {
		child, _ = strconv.Atoi(strings.TrimSpace(p.Tail(100)))
		return child != 0
	})
	err = p.Stop(syscall.SIGTERM, 300*time.Millisecond)
	if !errors.Is(err, ErrKilled) {
		t.Fatalf("Stop = %v, want ErrKilled", err)
	}
	if !gone(p.Pid()) {
		t.Fatalf("pid %d still there", p.Pid())
	}
	eventually(t, 5*time.Second, "the group's other process died with it", func() bool { return gone(child) })
}

func TestRestartAndOnExit(t *testing.T) {
	var crashes atomic.Int32
	var how atomic.Value
	log := filepath.Join(t.TempDir(), "sleeper.log")
	p := New(Spec{Name: "sleeper", Path: "sh", Args: []string{"-c", "echo up; exec sleep 30"}, LogFile: log,
		OnExit: func(_ *Proc, err error) { how.Store(ExitText(err)); crashes.Add(1) }})
	if err := p.Stop(syscall.SIGTERM, time.Second); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second Start while running: %v", err)
	}
	eventually(t, 5*time.Second, "the first run printed", func() bool { return strings.Count(p.Tail(100), "up") == 1 })
	first := p.Pid()
	if err := p.Stop(syscall.SIGTERM, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("start again: %v", err)
	}
	if p.Pid() == first || !p.Running() {
		t.Fatalf("restart: pid %d (was %d), running %v", p.Pid(), first, p.Running())
	}
	eventually(t, 5*time.Second, "the second run printed", func() bool { return strings.Count(p.Tail(100), "up") == 2 })
	// A crash (as kill -9 from outside) is reported; the Stop before was not.
	if err := syscall.Kill(p.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "OnExit told of the crash", func() bool { return crashes.Load() == 1 })
	if got := how.Load(); got != "killed by killed" {
		t.Errorf("crash described as %q", got)
	}
	if err := p.Stop(syscall.SIGTERM, time.Second); !errors.Is(err, ErrExited) {
		t.Errorf("Stop after a crash = %v, want ErrExited", err)
	}
	if err := p.Stop(syscall.SIGTERM, time.Second); err != nil {
		t.Errorf("Stop again = %v, want nil (reported once)", err)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "=== "); n != 2 || strings.Count(string(b), "\nup\n") != 2 ||
		!strings.Contains(string(b), "start #2 of sleeper") {
		t.Errorf("log across two starts:\n%s", b)
	}
	if crashes.Load() != 1 {
		t.Errorf("OnExit called %d times, want once (for the crash only)", crashes.Load())
	}
}

func TestWaitReadyReportsAnEarlyExit(t *testing.T) {
	p, err := Start(Spec{Name: "crasher", Path: "sh", Args: []string{"-c", "echo listen: address already in use; exit 3"}})
	if err != nil {
		t.Fatal(err)
	}
	err = WaitReady(context.Background(), 10*time.Second, HTTPReady("http://127.0.0.1:1/readyz"), p)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("WaitReady = %v, want the exit and the last output", err)
	}
	if err := p.Stop(syscall.SIGTERM, time.Second); !errors.Is(err, ErrExited) {
		t.Fatalf("Stop of a process that had died on its own = %v, want ErrExited", err)
	}
}

func TestWaitReadySucceedsAndTimesOut(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	// Python is not everywhere; a shell loop that accepts is not portable
	// either, so the listener is ours and the process just waits.
	p, err := Start(Spec{Name: "waiter", Path: "sleep", Args: []string{"30"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Stop(syscall.SIGKILL, time.Second) }()
	err = WaitReady(context.Background(), 500*time.Millisecond, Listening(addr), p)
	if err == nil || !strings.Contains(err.Error(), "not ready after") {
		t.Fatalf("WaitReady on a closed port = %v", err)
	}
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	if err := WaitReady(context.Background(), 5*time.Second, Listening(addr), p); err != nil {
		t.Fatalf("WaitReady on a listening port: %v", err)
	}
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	if err := Run(ctx, Spec{Name: "ok", Path: "true"}); err != nil {
		t.Fatalf("true: %v", err)
	}
	err := Run(ctx, Spec{Name: "failing step", Path: "sh", Args: []string{"-c", "echo boom >&2; exit 3"}})
	if err == nil || !strings.Contains(err.Error(), "failing step") || !strings.Contains(err.Error(), "exit status 3") ||
		!strings.Contains(err.Error(), "boom") {
		t.Fatalf("failing Run = %v, want its name, exit and output", err)
	}
	var out bytes.Buffer
	if err := Run(ctx, Spec{Name: "echo", Path: "echo", Args: []string{"to", "the", "terminal"}, Output: &out}); err != nil ||
		out.String() != "to the terminal\n" {
		t.Fatalf("Run with Output: %v, %q", err, out.String())
	}
	// A cancelled context ends the process (SIGTERM) and Run at once.
	cctx, cancel := context.WithCancel(ctx)
	p := make(chan error, 1)
	go func() { p <- Run(cctx, Spec{Name: "long", Path: "sleep", Args: []string{"30"}}) }()
	cancel()
	select {
	case err := <-p:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

func TestGoBuild(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "hello")
	if err := GoBuild(ctx, "./internal/proc/testdata/hello", bin); err != nil {
		t.Fatalf("GoBuild: %v", err)
	}
	var out bytes.Buffer
	if err := Run(ctx, Spec{Name: "hello", Path: bin, Args: []string{"the test"}, Output: &out}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "hello from the test\n" {
		t.Errorf("built program says %q", out.String())
	}
	err := GoBuild(ctx, "./internal/proc/testdata/missing", bin)
	if err == nil || !strings.Contains(err.Error(), "go build ./internal/proc/testdata/missing") {
		t.Errorf("GoBuild of a missing package = %v", err)
	}
}

func TestFreePortsAreDistinct(t *testing.T) {
	ports, err := FreePorts(20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("ports %v", ports)
		}
		seen[p] = true
	}
}

func TestChildrenAndStat(t *testing.T) {
	p, err := Start(Spec{Name: "parent", Path: "sh", Args: []string{"-c", "sleep 30 & echo $!; wait"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Stop(syscall.SIGKILL, time.Second) }()
	var child int
	eventually(t, 5*time.Second, "the shell printed its child's pid", func() bool {
		child, _ = strconv.Atoi(strings.TrimSpace(p.Tail(100)))
		return child != 0
	})
	if got := Children(p.Pid()); len(got) != 1 || got[0] != child {
		t.Errorf("Children(%d) = %v, want [%d]", p.Pid(), got, child)
	}
	s, err := ReadStat(child)
	if err != nil || s.Comm != "sleep" || s.PPid != p.Pid() {
		t.Errorf("ReadStat(%d) = %+v, %v", child, s, err)
	}
	self, err := ReadStat(os.Getpid())
	if err != nil || self.Ticks == 0 && self.CPU != 0 {
		t.Errorf("ReadStat(self) = %+v, %v", self, err)
	}
}

func TestPrefixWriterWritesWholeLines(t *testing.T) {
	var buf bytes.Buffer
	w := &PrefixWriter{W: &buf, Prefix: "[x] "}
	for _, s := range []string{"one\ntw", "o\n", "three", "\nfour\nfive\n"} {
		if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if want := "[x] one\n[x] two\n[x] three\n[x] four\n[x] five\n"; buf.String() != want {
		t.Fatalf("got %q, want %q", buf.String(), want)
	}
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	tb := NewTailBuffer(16)
	if tb.String() != "(no output)" {
		t.Errorf("empty: %q", tb.String())
	}
	_, _ = tb.Write([]byte("first line\nsecond\nthird\n"))
	if got := tb.String(); got != "ne\nsecond\nthird" {
		t.Errorf("String = %q, want the last 16 bytes, trimmed", got)
	}
	if got := tb.Last(13); got != "second\nthird" {
		t.Errorf("Last(13) = %q, want the last whole lines", got)
	}
	if got := tb.Last(6); got != "third" {
		t.Errorf("Last(6) = %q", got)
	}
}
