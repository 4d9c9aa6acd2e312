// Package temporaldev runs a local Temporal dev server (`temporal server
// start-dev` from the Temporal CLI) for `make run` and for integration tests,
// and prepares a server we did not start (search attributes).
//
// The CLI is built from source once by `make temporal` (no prebuilt binaries
// can be downloaded here), so this package never downloads anything: it finds
// the binary, checks its version, and runs it.
package temporaldev

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// CLIVersion is the Temporal CLI release we build and run. Later tags do not
// `go install` (their go.mod has a replace directive), see ARCHITECTURE.md.
const CLIVersion = "1.5.1"

const cliModulePath = "github.com/temporalio/cli"

const (
	defaultStartTimeout = 60 * time.Second
	// The dev server leaves its cluster membership and flushes SQLite on
	// SIGTERM; that normally takes well under a second.
	stopGrace = 5 * time.Second
	// How much of the server's output to keep for error messages.
	tailSize = 8 << 10
)

// FindCLI returns the path of a Temporal CLI of version CLIVersion:
// $TEMPORAL_CLI when set, else the `temporal` binary that `go install` puts in
// $(go env GOBIN) or $(go env GOPATH)/bin.
func FindCLI() (string, error) {
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		if err := checkCLI(p); err != nil {
			return "", fmt.Errorf("TEMPORAL_CLI=%s: %w (unset it to use the one `make temporal` builds)", p, err)
		}
		return p, nil
	}
	dir, err := goBinDir()
	if err != nil {
		return "", fmt.Errorf("locating the Temporal CLI: %w; run `make temporal`", err)
	}
	p := filepath.Join(dir, "temporal")
	if err := checkCLI(p); err != nil {
		return "", fmt.Errorf("temporal CLI %s is not usable at %s: %w; run `make temporal` to build it "+
			"(first time only, ~10 minutes on 2 cores)", CLIVersion, p, err)
	}
	return p, nil
}

// goBinDir is where `go install` puts binaries. Asking the go command honours
// go.env and `go env -w`; without it we fall back to the documented defaults.
func goBinDir() (string, error) {
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		if len(lines) == 2 {
			if lines[0] != "" {
				return lines[0], nil
			}
			if gp := firstPath(lines[1]); gp != "" {
				return filepath.Join(gp, "bin"), nil
			}
		}
	}
	if gb := os.Getenv("GOBIN"); gb != "" {
		return gb, nil
	}
	if gp := firstPath(os.Getenv("GOPATH")); gp != "" {
		return filepath.Join(gp, "bin"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "go", "bin"), nil
}

func firstPath(list string) string {
	return strings.TrimSpace(filepath.SplitList(list)[0])
}

var versionLine = regexp.MustCompile(`\bversion v?` + regexp.QuoteMeta(CLIVersion) + `\b`)

// checkCLI accepts a binary built by `go install …/cmd/temporal@vX` (its
// `--version` says 0.0.0-DEV, so we read the module version from the Go build
// info) or an official release (whose `--version` names the release).
func checkCLI(path string) error {
	st, err := os.Stat(path) // #nosec G703 -- the user names the binary to run
	if err != nil {
		return err
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	if bi, err := buildinfo.ReadFile(path); err == nil && bi.Main.Path == cliModulePath {
		switch bi.Main.Version {
		case "v" + CLIVersion:
			return nil
		case "", "(devel)":
			// Built from a checkout: only --version can tell.
		default:
			return fmt.Errorf("it is version %s, want v%s", bi.Main.Version, CLIVersion)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput() // #nosec G204 G702 -- the CLI we were told to run
	if err != nil {
		return fmt.Errorf("`%s --version` failed: %w", path, err)
	}
	if !versionLine.Match(out) {
		return fmt.Errorf("`temporal --version` says %q, want version %s", strings.TrimSpace(string(out)), CLIVersion)
	}
	return nil
}

// Options says how to run the dev server. The zero value is a usable test
// server: 127.0.0.1, free ports, in-memory, namespace "default".
type Options struct {
	IP     string // address the gRPC frontend and the UI bind; default 127.0.0.1
	Port   int    // gRPC frontend; 0 picks a free port
	UIPort int    // Web UI; 0 picks a free port; ignored when Headless
	// DBFile keeps the server's state across restarts; empty means in memory.
	DBFile string
	// Namespace is created besides "default", which always exists.
	Namespace string
	// SearchAttributes are registered as Keyword attributes in every namespace.
	SearchAttributes []string
	// UICodecEndpoint points the Web UI at our codec server so an operator
	// can read encrypted payloads.
	UICodecEndpoint string
	// Log receives the server's output; nil discards it (the last lines are
	// still quoted in start-up errors).
	Log      io.Writer
	Headless bool
	// StartTimeout bounds the wait for the health check; default 60s.
	StartTimeout time.Duration
}

// tunedFlags cut the dev server's per-hand-off queueing (one shard, slow task
// polling, one SQLite writer) by 2-6x on our workloads; measured, see
// ARCHITECTURE.md "Temporal dev server".
var tunedFlags = []string{
	"--sqlite-pragma", "journal_mode=wal",
	"--sqlite-pragma", "synchronous=normal",
	"--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000",
	"--dynamic-config-value", "history.visibilityProcessorMaxPollRPS=1000",
	"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
	"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
}

// Server is a running dev server started by Start.
type Server struct {
	cmd       *exec.Cmd
	address   string
	uiPort    int
	namespace string
	tail      *TailBuffer

	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done is closed

	stopOnce sync.Once
	stopErr  error
}

// Start runs the dev server in its own process group and returns once its
// frontend answers a health check. On error nothing is left running.
func Start(ctx context.Context, opts Options) (*Server, error) {
	cli, err := FindCLI()
	if err != nil {
		return nil, err
	}
	args, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if opts.DBFile != "" {
		if err := os.MkdirAll(filepath.Dir(opts.DBFile), 0o750); err != nil {
			return nil, fmt.Errorf("temporal dev server: %w", err)
		}
	}

	tail := NewTailBuffer(tailSize)
	var out io.Writer = tail
	if opts.Log != nil {
		out = io.MultiWriter(opts.Log, tail)
	}
	cmd := exec.Command(cli, args.argv()...) // #nosec G204 -- fixed binary, our own flags
	cmd.Stdout = out
	cmd.Stderr = out
	// Our own process group: a Ctrl-C in the terminal must not reach the
	// server before the workers using it have shut down; Stop signals it.
	cmd.SysProcAttr = sysProcAttr()
	// If the server leaves a grandchild holding the output pipe, Wait must
	// still return.
	cmd.WaitDelay = stopGrace
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cli, err)
	}

	s := &Server{
		cmd:       cmd,
		address:   net.JoinHostPort(args.ip, strconv.Itoa(args.port)),
		uiPort:    args.uiPort,
		namespace: args.namespace,
		tail:      tail,
		done:      make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()

	if err := s.waitHealthy(ctx, opts.StartTimeout); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// resolved holds Options with defaults filled in and free ports picked.
type resolved struct {
	Options
	ip        string
	port      int
	uiPort    int
	namespace string
}

func (o Options) withDefaults() (resolved, error) {
	r := resolved{Options: o, ip: o.IP, port: o.Port, uiPort: o.UIPort, namespace: o.Namespace}
	if r.ip == "" {
		r.ip = "127.0.0.1"
	}
	if r.namespace == "" {
		r.namespace = "default"
	}
	var err error
	if r.port == 0 {
		if r.port, err = FreePort(); err != nil {
			return r, err
		}
	}
	if r.Headless {
		r.uiPort = 0
	} else if r.uiPort == 0 {
		if r.uiPort, err = FreePort(); err != nil {
			return r, err
		}
	}
	for _, name := range o.SearchAttributes {
		if name == "" || strings.ContainsAny(name, "= \t") {
			return r, fmt.Errorf("temporal dev server: bad search attribute name %q", name)
		}
	}
	return r, nil
}

func (r resolved) argv() []string {
	args := []string{"server", "start-dev",
		"--ip", r.ip,
		"--port", strconv.Itoa(r.port),
		"--log-level", "warn",
	}
	if r.Headless {
		args = append(args, "--headless")
	} else {
		args = append(args, "--ui-port", strconv.Itoa(r.uiPort))
	}
	if r.DBFile != "" {
		args = append(args, "--db-filename", r.DBFile)
	}
	if r.namespace != "default" {
		args = append(args, "--namespace", r.namespace)
	}
	args = append(args, tunedFlags...)
	for _, name := range r.SearchAttributes {
		args = append(args, "--search-attribute", name+"=Keyword")
	}
	if r.UICodecEndpoint != "" {
		args = append(args, "--ui-codec-endpoint", r.UICodecEndpoint)
	}
	return args
}

func (s *Server) waitHealthy(ctx context.Context, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = defaultStartTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var lastErr error
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		lastErr = CheckHealth(attempt, s.address, s.namespace)
		cancelAttempt()
		if lastErr == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("temporal dev server exited during start-up (%w); its last output:\n%s",
				s.exitErr(), s.tail.String())
		case <-ctx.Done():
			return fmt.Errorf("temporal dev server on %s not healthy after %s: %w; its last output:\n%s",
				s.address, timeout, lastErr, s.tail.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Address is the gRPC frontend as host:port, for client.Options.HostPort.
func (s *Server) Address() string { return s.address }

// Pid is the server process's id (the leader of its process group), for
// reading its CPU time from /proc.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// UIPort is the Web UI's port, 0 when headless.
func (s *Server) UIPort() int { return s.uiPort }

// Done is closed when the server process has exited, for whatever reason.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err tells why the process exited; only meaningful after Done is closed.
func (s *Server) Err() error {
	select {
	case <-s.done:
		return s.waitErr
	default:
		return nil
	}
}

// exitErr is why the process ended, never nil: a clean exit we did not ask
// for is still a failure for a server. Only valid after done is closed.
func (s *Server) exitErr() error {
	if s.waitErr == nil {
		return errors.New("exit status 0")
	}
	return s.waitErr
}

// Stop sends SIGTERM to the server's process group, kills the group if it is
// still there after a few seconds, and waits for the process. It returns an
// error when the server had already died on its own or had to be killed.
// Calling it again returns the first result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		select {
		case <-s.done:
			s.stopErr = fmt.Errorf("temporal dev server had already exited: %w", s.exitErr())
			return
		default:
		}
		pid := s.cmd.Process.Pid
		_ = signalGroup(pid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(stopGrace):
			_ = signalGroup(pid, syscall.SIGKILL)
			<-s.done
			s.stopErr = fmt.Errorf("temporal dev server did not stop within %s of SIGTERM; killed", stopGrace)
		}
	})
	return s.stopErr
}

// signalGroup signals the whole process group led by pid (Setpgid makes the
// server its leader), falling back to the process alone.
func signalGroup(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pid, sig); err == nil {
		return nil
	}
	return syscall.Kill(pid, sig)
}

// dial connects a client that logs nothing: the SDK's default logger would
// print to stdout on every health probe.
func dial(ctx context.Context, address, namespace string) (client.Client, error) {
	if namespace == "" {
		namespace = "default"
	}
	return client.DialContext(ctx, client.Options{
		HostPort:  address,
		Namespace: namespace,
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
}

// CheckHealth dials address and runs Temporal's gRPC health check.
func CheckHealth(ctx context.Context, address, namespace string) error {
	c, err := dial(ctx, address, namespace)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

// EnsureSearchAttributes registers names as Keyword search attributes in
// namespace on a server we did not start (one from docker compose, or an
// older dev-server database). Attributes that already exist are fine; one
// that exists with another type is an error, since our queries would break.
func EnsureSearchAttributes(ctx context.Context, address, namespace string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	if namespace == "" {
		namespace = "default"
	}
	c, err := dial(ctx, address, namespace)
	if err != nil {
		return fmt.Errorf("connecting to Temporal at %s: %w", address, err)
	}
	defer c.Close()

	existing, err := c.OperatorService().ListSearchAttributes(ctx,
		&operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("listing search attributes in %q: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, name := range names {
		if t, ok := existing.GetCustomAttributes()[name]; ok {
			if t != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
				return fmt.Errorf("search attribute %s exists in %q with type %s, want Keyword", name, namespace, t)
			}
			continue
		}
		if _, ok := existing.GetSystemAttributes()[name]; ok {
			return fmt.Errorf("search attribute %s is a system attribute", name)
		}
		missing[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		SearchAttributes: missing,
		Namespace:        namespace,
	})
	if err != nil && !isAlreadyExists(err) {
		return fmt.Errorf("adding search attributes to %q: %w", namespace, err)
	}
	return nil
}

// isAlreadyExists covers a concurrent registration by someone else, whichever
// way the SDK's interceptors surface it.
func isAlreadyExists(err error) bool {
	var ae *serviceerror.AlreadyExists
	if errors.As(err, &ae) || status.Code(err) == codes.AlreadyExists {
		return true
	}
	return strings.Contains(strings.ToLower(err.Error()), "already exists")
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("unexpected listener address %v", l.Addr())
	}
	return addr.Port, nil
}

// TailBuffer keeps the last bytes written to it: a child process's output,
// quoted when the process fails. Safe for concurrent writers.
type TailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

// NewTailBuffer keeps the last limit bytes.
func NewTailBuffer(limit int) *TailBuffer { return &TailBuffer{max: limit} }

func (t *TailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *TailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := bytes.TrimSpace(t.buf)
	if len(s) == 0 {
		return "(no output)"
	}
	return string(s)
}
