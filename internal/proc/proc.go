// Package proc runs and supervises the child processes of our tooling (`make
// run`, the tests' stacks, the benchmarks, the fault runs, the history
// generator): each in a process group of its own, killed by the kernel when
// we die, stopped with a signal and a grace period, restartable on the same
// command (a chaos run kills and restarts them), its output kept in a tail for
// error messages and, when asked, appended to a log file or a writer. It also
// holds what those tools need around processes: free ports, readiness
// probes, `go build`, and the process table in /proc.
package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Spec says how to run one process.
type Spec struct {
	Name string   // in messages: "temporal", "bank A"
	Path string   // the executable
	Args []string // without the executable
	Env  []string // nil: this process's environment
	Dir  string
	// Credential runs it as another user (PostgreSQL refuses to run as root).
	Credential *syscall.Credential
	// LogFile, when set, receives the output, appended across restarts, each
	// start marked with a line of its own.
	LogFile string
	// Output, when set, receives the output too (a terminal, a shared log).
	Output io.Writer
	// DeathSignal is what the kernel sends the process when ours dies, so
	// nothing outlives a run that is itself killed; default SIGKILL.
	DeathSignal syscall.Signal
	// OnExit is told, from a goroutine of its own, of every exit that Stop did
	// not cause: a crash, which a supervisor may answer by starting it again.
	OnExit func(p *Proc, err error)
}

// tailSize is how much output a Proc keeps for error messages.
const tailSize = 8 << 10

// waitDelay bounds Wait once the process is gone but a grandchild that
// escaped its group still holds the output pipe.
const waitDelay = 5 * time.Second

// ErrExited and ErrKilled are what Stop reports besides success: the process
// had exited on its own before Stop, or it outlived the grace period and was
// killed.
var (
	ErrExited = errors.New("had exited on its own")
	ErrKilled = errors.New("did not stop in time and was killed")
)

// Proc is a process that can be started, stopped and started again.
type Proc struct {
	spec Spec
	tail *TailBuffer

	mu     sync.Mutex
	pid    int
	done   chan struct{} // closed when the current run has ended
	err    error         // why the last run ended; valid once done is closed
	asked  bool          // Stop was called for the current run
	starts int
}

// New prepares a process; nothing runs until Start.
func New(s Spec) *Proc {
	if s.DeathSignal == 0 {
		s.DeathSignal = syscall.SIGKILL
	}
	return &Proc{spec: s, tail: NewTailBuffer(tailSize)}
}

// Start runs s at once (New, then Start).
func Start(s Spec) (*Proc, error) {
	p := New(s)
	return p, p.Start()
}

// Name is the Spec's name.
func (p *Proc) Name() string { return p.spec.Name }

// Spec is how the process runs.
func (p *Proc) Spec() Spec { return p.spec }

// Start starts the process, or starts it again after it has ended.
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil && !isClosed(p.done) {
		return fmt.Errorf("%s is already running (pid %d)", p.spec.Name, p.pid)
	}
	p.starts++
	var out io.Writer = p.tail
	var logFile *os.File
	if p.spec.LogFile != "" {
		f, err := os.OpenFile(p.spec.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("%s: %w", p.spec.Name, err)
		}
		fmt.Fprintf(f, "\n=== %s: start #%d of %s: %s %s\n", time.Now().Format(time.RFC3339Nano), p.starts,
			p.spec.Name, p.spec.Path, strings.Join(p.spec.Args, " "))
		logFile = f
		out = io.MultiWriter(out, f)
	}
	if p.spec.Output != nil {
		out = io.MultiWriter(out, p.spec.Output)
	}
	cmd := exec.Command(p.spec.Path, p.spec.Args...) // #nosec G204 -- our own tools' binaries and flags
	cmd.Env, cmd.Dir = p.spec.Env, p.spec.Dir
	cmd.Stdout, cmd.Stderr = out, out
	// Stdin stays /dev/null: a process outside the terminal's foreground
	// group that read from it would be stopped by SIGTTIN.
	cmd.SysProcAttr = sysProcAttr(p.spec.DeathSignal, p.spec.Credential)
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		if logFile != nil {
			_ = logFile.Close()
		}
		return fmt.Errorf("start %s: %w", p.spec.Name, err)
	}
	done := make(chan struct{})
	p.pid, p.done, p.err, p.asked = cmd.Process.Pid, done, nil, false
	go func() {
		err := cmd.Wait()
		if logFile != nil {
			_ = logFile.Close()
		}
		p.mu.Lock()
		p.err = err
		crashed := !p.asked
		p.mu.Unlock()
		close(done)
		if crashed && p.spec.OnExit != nil {
			p.spec.OnExit(p, err)
		}
	}()
	return nil
}

// Pid is the id of the current or last run (0 before the first start); the
// leader of the run's process group.
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pid
}

// Running tells whether the process has started and not yet ended.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done != nil && !isClosed(p.done)
}

// Done is closed when the current run has ended (at once before any start).
func (p *Proc) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return p.done
}

// Exited is nil while the process runs (or before it ever started), and
// once it has ended says how, with its last output.
func (p *Proc) Exited() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil || !isClosed(p.done) {
		return nil
	}
	return fmt.Errorf("%s (pid %d) exited: %s; its last output:\n%s", p.spec.Name, p.pid, ExitText(p.err), p.tail)
}

// Tail is the last n bytes of the process's output (all runs), from the
// start of a line.
func (p *Proc) Tail(n int) string { return p.tail.Last(n) }

// Stop asks the process to end: sig to its whole group, then SIGKILL to the
// group if it is still there after grace. It waits for the process, and
// kills whatever is left in the group (a grandchild that ignored sig). Stop
// on a process that is not running returns nil, or ErrExited once for a run
// that ended on its own; a process that had to be killed after grace gives
// ErrKilled. OnExit is not told of an exit Stop caused. Concurrent calls are
// fine: a second Stop(SIGKILL) cuts a first one's grace short.
func (p *Proc) Stop(sig syscall.Signal, grace time.Duration) error {
	p.mu.Lock()
	pid, done := p.pid, p.done
	if done == nil {
		p.mu.Unlock()
		return nil
	}
	if isClosed(done) {
		unasked := !p.asked
		p.asked = true
		err := p.err
		p.mu.Unlock()
		if unasked {
			return fmt.Errorf("%s (pid %d) %w: %s; its last output:\n%s", p.spec.Name, pid, ErrExited, ExitText(err), p.tail)
		}
		return nil
	}
	p.asked = true
	p.mu.Unlock()

	signalGroup(pid, sig)
	var err error
	select {
	case <-done:
	case <-time.After(grace):
		signalGroup(pid, syscall.SIGKILL)
		select {
		case <-done:
		case <-time.After(waitDelay + 5*time.Second):
			return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.spec.Name, pid)
		}
		if sig != syscall.SIGKILL {
			err = fmt.Errorf("%s (pid %d) %w within %s of %s", p.spec.Name, pid, ErrKilled, grace, sig)
		}
	}
	signalGroup(pid, syscall.SIGKILL)
	return err
}

// signalGroup signals the process group led by pid (every process runs as
// the leader of its own), or the process alone if it has no group.
func signalGroup(pid int, sig syscall.Signal) {
	if err := syscall.Kill(-pid, sig); err != nil {
		_ = syscall.Kill(pid, sig)
	}
}

// Run runs s to its end and returns nil if it exited with status 0, else an
// error with its last output. When ctx ends first the process gets SIGTERM,
// like a Ctrl-C, and SIGKILL 10 s later.
func Run(ctx context.Context, s Spec) error {
	p, err := Start(s)
	if err != nil {
		return err
	}
	select {
	case <-p.Done():
	case <-ctx.Done():
		_ = p.Stop(syscall.SIGTERM, 10*time.Second)
		return fmt.Errorf("%s: %w", s.Name, ctx.Err())
	}
	if p.ExitErr() != nil {
		return p.Exited()
	}
	return nil
}

// ExitErr is how the last run ended as exec reports it: nil for status 0 or
// while running.
func (p *Proc) ExitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil || !isClosed(p.done) {
		return nil
	}
	return p.err
}

// ExitText describes how a process ended: "exit status 3", "killed by
// SIGKILL".
func ExitText(err error) string {
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

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
