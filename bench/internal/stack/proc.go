package stack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bankcore/bank/internal/temporaldev"
)

// Proc is one bank process the stack started: in a process group of its
// own (a Ctrl-C in the terminal reaches the bench, which then stops it in
// order), killed by the kernel if the bench dies (Pdeathsig), its output
// prefixed into the stack's log and kept in a tail for error messages.
type Proc struct {
	Name  string // "bank A"
	Args  []string
	cmd   *exec.Cmd
	tail  *temporaldev.TailBuffer
	done  chan struct{}
	err   error // valid after done
	mu    sync.Mutex
	ended bool // Stop was called
}

// startProc starts bin with args and env; output goes to log (may be nil).
func startProc(name, bin string, args, env []string, log io.Writer) (*Proc, error) {
	p := &Proc{Name: name, Args: args, tail: temporaldev.NewTailBuffer(8 << 10), done: make(chan struct{})}
	var out io.Writer = p.tail
	if log != nil {
		out = io.MultiWriter(p.tail, &prefixWriter{w: log, prefix: "[" + name + "] "})
	}
	cmd := exec.Command(bin, args...) // #nosec G204 -- the binary we built, our own arguments
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p.cmd = cmd
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited is nil while the process runs, else why it ended.
func (p *Proc) Exited() error {
	select {
	case <-p.done:
		if p.err == nil {
			return fmt.Errorf("%s (pid %d) exited with status 0; last output:\n%s", p.Name, p.Pid(), p.tail)
		}
		return fmt.Errorf("%s (pid %d) exited: %w; last output:\n%s", p.Name, p.Pid(), p.err, p.tail)
	default:
		return nil
	}
}

// waitReady polls url until it answers 200, the process exits, or timeout.
func (p *Proc) waitReady(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		last = err
		select {
		case <-p.done:
			return p.Exited()
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s (%w); last output:\n%s", p.Name, timeout, last, p.tail)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop sends SIGTERM to the process group, waits up to grace, then kills
// the group. It returns an error when the process had died on its own or
// had to be killed. Calling it again returns nil.
func (p *Proc) Stop(grace time.Duration) error {
	p.mu.Lock()
	if p.ended {
		p.mu.Unlock()
		return nil
	}
	p.ended = true
	p.mu.Unlock()
	if err := p.Exited(); err != nil {
		return err
	}
	pid := p.Pid()
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	var err error
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-p.done
		err = fmt.Errorf("%s (pid %d) did not stop within %s of SIGTERM; killed", p.Name, pid, grace)
	}
	// Anything left in its group.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	return err
}

// logMu serialises the processes' lines into the one log.
var logMu sync.Mutex

// prefixWriter writes whole lines to w, each with prefix.
type prefixWriter struct {
	w      io.Writer
	prefix string
	part   []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.part = append(p.part, b...)
	i := bytes.LastIndexByte(p.part, '\n')
	if i < 0 {
		return len(b), nil
	}
	lines := strings.SplitAfter(string(p.part[:i+1]), "\n")
	p.part = append(p.part[:0], p.part[i+1:]...)
	var out strings.Builder
	for _, l := range lines {
		if l != "" {
			out.WriteString(p.prefix + l)
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	_, _ = io.WriteString(p.w, out.String()) // best effort: never fail the child's pipe
	return len(b), nil
}
