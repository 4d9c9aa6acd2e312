package stack

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPrefixWriterWritesWholeLines(t *testing.T) {
	var buf bytes.Buffer
	w := &prefixWriter{w: &buf, prefix: "[x] "}
	for _, s := range []string{"one\ntw", "o\n", "three", "\nfour\nfive\n"} {
		if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if want := "[x] one\n[x] two\n[x] three\n[x] four\n[x] five\n"; buf.String() != want {
		t.Fatalf("got %q, want %q", buf.String(), want)
	}
}

func gone(pid int) bool {
	// A zombie still has /proc/<pid>; Wait has reaped ours, so it must be absent.
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return os.IsNotExist(err)
}

func TestProcStopsWithSIGTERM(t *testing.T) {
	p, err := startProc("sleeper", "sleep", []string{"30"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(5 * time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !gone(p.Pid()) {
		t.Fatalf("pid %d still there", p.Pid())
	}
	if err := p.Stop(time.Second); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestProcIgnoringSIGTERMIsKilledWithItsGroup(t *testing.T) {
	// The shell ignores TERM and has a child of its own in its group.
	p, err := startProc("stubborn", "sh", []string{"-c", `trap "" TERM; sleep 30 & echo $!; wait`}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var child int
	for deadline := time.Now().Add(5 * time.Second); child == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		child, _ = strconv.Atoi(strings.TrimSpace(p.tail.String()))
	}
	if child == 0 {
		t.Fatalf("no child pid printed: %q", p.tail.String())
	}
	err = p.Stop(300 * time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("Stop = %v, want an error saying it was killed", err)
	}
	if !gone(p.Pid()) {
		t.Fatalf("pid %d still there", p.Pid())
	}
	// The grandchild got SIGKILL with the group (dead, or a zombie until
	// init reaps it).
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(child) + "/stat")
		if err != nil {
			return
		}
		if i := bytes.LastIndexByte(b, ')'); i > 0 && len(b) > i+2 && b[i+2] == 'Z' {
			return
		}
	}
	t.Fatalf("child %d of the group survived", child)
}

func TestWaitReadyReportsAnEarlyExit(t *testing.T) {
	p, err := startProc("crasher", "sh", []string{"-c", "echo listen: address already in use; exit 3"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = p.waitReady(context.Background(), "http://127.0.0.1:1/readyz", 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("waitReady = %v, want the exit and the last output", err)
	}
	if err := p.Stop(time.Second); err == nil {
		t.Fatal("Stop of a process that had died on its own: no error")
	}
}
