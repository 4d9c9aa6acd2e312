// Package localtemporal runs a Temporal server on this machine for `make
// run`, the tests, the benchmarks, the fault runs and the history generator,
// and prepares a server we did not start (health, search attributes).
//
// A kind of server is a plan: the processes to run and where the frontend
// answers. The one kind today is the CLI's dev server (`temporal server
// start-dev`) with our tuned flags, defined once here. A production-shaped
// cluster (issue 20: its own binary, several processes on loopback) is
// another plan behind the same Server: Start, Stop, Address, Pids and
// Processes (which a fault run kills and restarts one by one) stay as they
// are.
//
// The CLI is built from source once by `make temporal` (no prebuilt binaries
// can be downloaded here), so this package never downloads anything: it finds
// the binary, checks its version, and runs it.
package localtemporal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bankcore/bank/internal/proc"
)

// Kind is a sort of Temporal server this package can run.
type Kind string

// DevServer is the Temporal CLI's dev server: one process, SQLite, one
// history shard.
const DevServer Kind = "dev server"

// Options says how to run a server. The zero value is a usable test server:
// a dev server on 127.0.0.1, free ports, in memory, namespace "default".
type Options struct {
	Kind   Kind   // default DevServer
	CLI    string // the Temporal CLI; default FindCLI
	IP     string // address the frontend and the UI bind; default 127.0.0.1
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
	// LogFile receives the server's output, appended across restarts; Log
	// (say, a bench's log) receives it too. Without either the last lines are
	// still quoted in errors.
	LogFile string
	Log     io.Writer
	// OnExit is told of every exit of a server process that Stop did not
	// cause, so a supervisor can start it again.
	OnExit   func(p *proc.Proc, err error)
	Headless bool
	// StartTimeout bounds the wait for the health check; default 60s.
	StartTimeout time.Duration
}

// plan is how one kind of server runs: its processes, and where its frontend
// and Web UI answer.
type plan struct {
	address string
	uiPort  int
	procs   []proc.Spec
}

// Server is a Temporal server of ours, running or not.
type Server struct {
	kind      Kind
	address   string
	uiPort    int
	namespace string
	timeout   time.Duration
	procs     []*proc.Proc
}

// stopGrace is how long a server process gets after SIGTERM: the dev server
// leaves its cluster membership and flushes SQLite in well under a second.
const stopGrace = 5 * time.Second

// New resolves opts (free ports, the binary) into a server; nothing runs
// until Start.
func New(opts Options) (*Server, error) {
	if opts.Kind == "" {
		opts.Kind = DevServer
	}
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	for _, name := range opts.SearchAttributes {
		if name == "" || strings.ContainsAny(name, "= \t") {
			return nil, fmt.Errorf("temporal server: bad search attribute name %q", name)
		}
	}
	var pl plan
	var err error
	switch opts.Kind {
	case DevServer:
		pl, err = devServer(opts)
	default:
		err = fmt.Errorf("unknown kind of Temporal server %q", opts.Kind)
	}
	if err != nil {
		return nil, err
	}
	s := &Server{kind: opts.Kind, address: pl.address, uiPort: pl.uiPort, namespace: opts.Namespace, timeout: opts.StartTimeout}
	for _, spec := range pl.procs {
		spec.LogFile, spec.Output, spec.OnExit = opts.LogFile, opts.Log, opts.OnExit
		// SIGTERM, not SIGKILL, when we die: the server flushes its state and
		// frees its ports either way, more gently.
		spec.DeathSignal = syscall.SIGTERM
		s.procs = append(s.procs, proc.New(spec))
	}
	return s, nil
}

// Start runs a server and returns once its frontend answers a health check.
// On error nothing is left running.
func Start(ctx context.Context, opts Options) (*Server, error) {
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	if err := s.Start(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// Start starts every process of the server that is not running (all of them
// the first time; after a fault, the ones that died) and waits until the
// frontend answers a health check. Its state, ports and files are the same
// on every start.
func (s *Server) Start(ctx context.Context) error {
	for _, p := range s.procs {
		if p.Running() {
			continue
		}
		if err := p.Start(); err != nil {
			return err
		}
	}
	err := proc.WaitReady(ctx, s.timeout, func(ctx context.Context) error {
		return CheckHealth(ctx, s.address, s.namespace)
	}, s.procs...)
	if err != nil {
		return fmt.Errorf("temporal %s on %s: %w", s.kind, s.address, err)
	}
	return nil
}

// Stop ends every process of the server (SIGTERM, then SIGKILL after a few
// seconds). It returns an error when one had died on its own or had to be
// killed; calling it again returns nil.
func (s *Server) Stop() error {
	var errs []error
	for _, p := range s.procs {
		errs = append(errs, p.Stop(syscall.SIGTERM, stopGrace))
	}
	return errors.Join(errs...)
}

// Kind is the sort of server this is.
func (s *Server) Kind() Kind { return s.kind }

// Address is the gRPC frontend as host:port, for client.Options.HostPort.
func (s *Server) Address() string { return s.address }

// UIPort is the Web UI's port, 0 when headless.
func (s *Server) UIPort() int { return s.uiPort }

// Processes are the server's processes, for a fault run to kill and
// restart (Start brings back the ones that are down).
func (s *Server) Processes() []*proc.Proc { return s.procs }

// Pids are the server's processes' ids, for reading their CPU time.
func (s *Server) Pids() []int {
	out := make([]int, len(s.procs))
	for i, p := range s.procs {
		out[i] = p.Pid()
	}
	return out
}

// Done is closed when any process of the server has ended.
func (s *Server) Done() <-chan struct{} {
	done := make(chan struct{})
	go func() {
		cases := make(chan struct{}, len(s.procs))
		for _, p := range s.procs {
			go func(d <-chan struct{}) { <-d; cases <- struct{}{} }(p.Done())
		}
		<-cases
		close(done)
	}()
	return done
}

// Exited is nil while every process of the server runs, else how the first
// one that ended did.
func (s *Server) Exited() error {
	for _, p := range s.procs {
		if err := p.Exited(); err != nil {
			return err
		}
	}
	return nil
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

// devServer plans `temporal server start-dev` with the tuned flags.
func devServer(o Options) (plan, error) {
	cli := o.CLI
	if cli == "" {
		var err error
		if cli, err = FindCLI(); err != nil {
			return plan{}, err
		}
	}
	ports, err := proc.FreePorts(2)
	if err != nil {
		return plan{}, err
	}
	if o.Port == 0 {
		o.Port = ports[0]
	}
	if o.Headless {
		o.UIPort = 0
	} else if o.UIPort == 0 {
		o.UIPort = ports[1]
	}
	if o.DBFile != "" {
		if err := os.MkdirAll(filepath.Dir(o.DBFile), 0o750); err != nil {
			return plan{}, fmt.Errorf("temporal dev server: %w", err)
		}
	}
	return plan{
		address: net.JoinHostPort(o.IP, strconv.Itoa(o.Port)),
		uiPort:  o.UIPort,
		procs:   []proc.Spec{{Name: "temporal", Path: cli, Args: devServerArgs(o)}},
	}, nil
}

func devServerArgs(o Options) []string {
	args := []string{"server", "start-dev",
		"--ip", o.IP,
		"--port", strconv.Itoa(o.Port),
		"--log-level", "warn",
	}
	if o.Headless {
		args = append(args, "--headless")
	} else {
		args = append(args, "--ui-port", strconv.Itoa(o.UIPort))
	}
	if o.DBFile != "" {
		args = append(args, "--db-filename", o.DBFile)
	}
	if o.Namespace != "default" {
		args = append(args, "--namespace", o.Namespace)
	}
	args = append(args, tunedFlags...)
	for _, name := range o.SearchAttributes {
		args = append(args, "--search-attribute", name+"=Keyword")
	}
	if o.UICodecEndpoint != "" {
		args = append(args, "--ui-codec-endpoint", o.UICodecEndpoint)
	}
	return args
}
