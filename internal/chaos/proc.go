package chaos

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one child process of the run, in a process group of its own so
// that a signal reaches everything it started, and with a parent-death
// signal so that nothing outlives a chaos run that is itself killed.
// Output goes to a log file in the run's directory, appended across
// restarts.
type proc struct {
	name    string
	argv    []string
	env     []string
	dir     string
	cred    *syscall.Credential // run as this user (PostgreSQL refuses root)
	logPath string
	// onExit is told of every exit nobody asked for (a crash).
	onExit func(p *proc, err error)

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	exitErr error
	expect  bool // an exit is expected: we are stopping it
	starts  int
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		select {
		case <-p.done:
		default:
			return fmt.Errorf("%s is already running", p.name)
		}
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer func() { _ = logf.Close() }() // the child has its own copy
	p.starts++
	fmt.Fprintf(logf, "\n=== chaos: start #%d of %s at %s: %s\n", p.starts, p.name,
		time.Now().Format(time.RFC3339Nano), strings.Join(p.argv, " "))
	cmd := exec.Command(p.argv[0], p.argv[1:]...) // #nosec G204 -- our own binaries and flags
	cmd.Env = p.env
	cmd.Dir = p.dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: p.cred}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.expect, p.exitErr = cmd, done, false, nil
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.exitErr = err
		crashed := !p.expect
		p.mu.Unlock()
		close(done)
		if crashed && p.onExit != nil {
			p.onExit(p, err)
		}
	}()
	return nil
}

// pid is the running process's id, 0 when it is not running.
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	select {
	case <-p.done:
		return 0
	default:
	}
	return p.cmd.Process.Pid
}

func (p *proc) running() bool { return p.pid() != 0 }

// lastExit is how the last run of the process ended (nil while running).
func (p *proc) lastExit() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitErr
}

// exited is closed when the current run of the process has ended.
func (p *proc) exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return p.done
}

// stop sends sig to the process group and waits up to grace for the
// process to exit, then kills the group. Extra pids (PostgreSQL's backends,
// which sit in sessions of their own) get the same signal.
func (p *proc) stop(sig syscall.Signal, grace time.Duration, extra ...int) error {
	p.mu.Lock()
	if p.cmd == nil {
		p.mu.Unlock()
		return nil
	}
	p.expect = true
	pid, done := p.cmd.Process.Pid, p.done
	p.mu.Unlock()
	select {
	case <-done:
		return nil
	default:
	}
	_ = syscall.Kill(-pid, sig)
	for _, x := range extra {
		_ = syscall.Kill(x, sig)
	}
	select {
	case <-done:
	case <-time.After(grace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		for _, x := range extra {
			_ = syscall.Kill(x, syscall.SIGKILL)
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, pid)
		}
	}
	// Anything left in the group (a grandchild that ignored the signal).
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	return nil
}

// tail returns the last n bytes of the process's log.
func (p *proc) tail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(bytes.TrimSpace(b))
}

// childrenOf lists the pids whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(b[i+1:]))
		if len(fields) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(fields[1]); err == nil && ppid == pid {
			out = append(out, child)
		}
	}
	return out
}

// exitText describes how a process ended.
func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by " + ws.Signal().String()
		}
	}
	return err.Error()
}
