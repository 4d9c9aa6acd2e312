// Package stack starts what the system benchmark runs against, all on free
// ports and under names of its own: a tuned Temporal dev server, a fresh
// database and namespace, its own exchange, queue and Redis prefix, and the
// bank built from this checkout (`go build ./cmd/bank` into a temporary
// directory) as separate processes, so /proc gives each its own CPU time:
//
//   - bank A: `bank serve api,worker`: the API and every worker in one
//     process, so the API's eager workflow start finds a local worker;
//     transfers and registrations go here;
//   - bank B: `bank api`: a second API instance (subscribers alternate
//     between A and B);
//   - notifier: `bank notifier`.
//
// Every process runs in a process group of its own and dies with the bench
// (internal/proc); Stop ends them with SIGTERM, then SIGKILL.
package stack

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/bankcore/bank/internal/config"
	"github.com/bankcore/bank/internal/localtemporal"
	"github.com/bankcore/bank/internal/postgres"
	"github.com/bankcore/bank/internal/proc"
	"github.com/bankcore/bank/internal/testsvc"
	"github.com/bankcore/bank/workflows"
)

// Options choose the settings the report names.
type Options struct {
	BcryptCost int
	Log        io.Writer         // the bank's and the server's output (nil: discarded)
	Env        map[string]string // extra settings for the bank processes
	// Binary is a bank built elsewhere (say, from an earlier commit, for a
	// before/after); empty builds ./cmd/bank of this checkout.
	Binary string
}

// Stack is a running system.
type Stack struct {
	Server    *localtemporal.Server
	A, B, N   *proc.Proc    // bank A (API + workers), bank B (API), notifier
	Config    config.Config // what the bank processes were given
	URLA      string        // API + workers
	URLB      string        // API only
	Database  string        // database name
	Namespace string
	Binary    string // the bank binary built for this run

	OperatorEmail, OperatorPassword string

	dir  string
	drop func() error
	once sync.Once
	err  error
}

// grace is how long a bank process may take to stop after SIGTERM
// (SHUTDOWN_TIMEOUT is 10 s) before it is killed.
const grace = 15 * time.Second

// Start brings everything up; on error (or ctx cancelled) nothing is left
// running.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	s := &Stack{}
	defer func() {
		if err != nil {
			_ = s.Stop()
		}
	}()
	if s.dir, err = os.MkdirTemp("", "bench-bank-"); err != nil {
		return nil, err
	}
	if s.Binary = o.Binary; s.Binary == "" {
		s.Binary = filepath.Join(s.dir, "bank")
		if err = proc.GoBuild(ctx, "./cmd/bank", s.Binary); err != nil {
			return nil, err
		}
	}
	if s.Server, err = localtemporal.Start(ctx, localtemporal.Options{
		Headless: true, SearchAttributes: workflows.SearchAttributes, Log: o.Log,
	}); err != nil {
		return nil, err
	}
	dsn, drop, err := testsvc.CreateDatabase()
	if err != nil {
		return nil, err
	}
	s.drop = drop
	s.Database = dbName(dsn)
	if s.Namespace, err = testsvc.Namespace(ctx, s.Server.Address()); err != nil {
		return nil, err
	}
	suffix := testsvc.Suffix()
	env := testsvc.StackEnv("bench", dsn, s.Server.Address(), s.Namespace)
	env["BCRYPT_COST"] = strconv.Itoa(o.BcryptCost)
	// A registration is a workflow with three regular activities; under load
	// it may take more than the default 5 s, and setup wants 201s.
	env["BANK_REGISTRATION_WAIT"] = "60s"
	// One line per request at info would cost the API CPU we measure.
	env["LOG_LEVEL"], env["SHUTDOWN_TIMEOUT"] = "warn", "10s"
	for k, v := range o.Env {
		env[k] = v
	}
	// The settings the processes see: this environment (so WORKER_CONCURRENCY=
	// and the like reach them and the report), then ours.
	merged := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			merged[k] = v
		}
	}
	for k, v := range env {
		merged[k] = v
	}
	if s.Config, err = config.FromLookup(func(k string) (string, bool) { v, ok := merged[k]; return v, ok }); err != nil {
		return nil, err
	}

	// The operator who funds the accounts, created as `make run` does.
	s.OperatorEmail, s.OperatorPassword = "operator-"+suffix+"@bank.local", "operator-password-"+suffix
	octx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := proc.Run(octx, proc.Spec{Name: "bank operator create", Path: s.Binary, Env: environ(merged),
		Args: []string{"operator", "create", "--email", s.OperatorEmail, "--password", s.OperatorPassword}}); err != nil {
		return nil, err
	}

	type spec struct {
		name string
		dst  **proc.Proc
		args []string
		api  bool
	}
	specs := []spec{
		{"bank A", &s.A, []string{"serve", "api,worker"}, true},
		{"bank B", &s.B, []string{"api"}, true},
		{"notifier", &s.N, []string{"notifier"}, false},
	}
	var wg sync.WaitGroup
	errs := make([]error, len(specs))
	urls := make([]string, len(specs))
	for i, sp := range specs {
		wg.Go(func() {
			*sp.dst, urls[i], errs[i] = startBank(ctx, sp.name, s.Binary, sp.args, merged, sp.api, o.Log)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.URLA, s.URLB = urls[0], urls[1]
	return s, nil
}

// startBank starts one bank process on free ports and waits until it is
// ready: /readyz (every dependency reachable) for an API, /metrics on
// METRICS_ADDR for the notifier. A port taken between choosing and binding
// it is retried with others.
func startBank(ctx context.Context, name, bin string, args []string, env map[string]string, api bool, log io.Writer) (*proc.Proc, string, error) {
	var last error
	for range 3 {
		ports, err := proc.FreePorts(2)
		if err != nil {
			return nil, "", err
		}
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		e["HTTP_ADDR"] = "127.0.0.1:" + strconv.Itoa(ports[0])
		e["METRICS_ADDR"] = "127.0.0.1:" + strconv.Itoa(ports[1])
		var out io.Writer
		if log != nil {
			out = &proc.PrefixWriter{W: log, Prefix: "[" + name + "] "}
		}
		p, err := proc.Start(proc.Spec{Name: name, Path: bin, Args: args, Env: environ(e), Output: out})
		if err != nil {
			return nil, "", err
		}
		base := "http://" + e["HTTP_ADDR"]
		probe := base + "/readyz"
		if !api {
			base, probe = "", "http://"+e["METRICS_ADDR"]+"/metrics"
		}
		if last = proc.WaitReady(ctx, 60*time.Second, proc.HTTPReady(probe), p); last == nil {
			return p, base, nil
		}
		_ = p.Stop(syscall.SIGTERM, grace)
		if !strings.Contains(p.Tail(8<<10), "address already in use") {
			break
		}
	}
	return nil, "", last
}

// Alive is nil while every bank process runs, else the first exit.
func (s *Stack) Alive() error {
	for _, p := range []*proc.Proc{s.A, s.B, s.N} {
		if p != nil {
			if err := p.Exited(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Stop ends the bank processes (SIGTERM, then SIGKILL after a grace),
// stops the server, drops the database and the broker objects, and removes
// the binary. Calling it again returns the first result.
func (s *Stack) Stop() error {
	s.once.Do(func() {
		var mu sync.Mutex
		var errs []error
		var wg sync.WaitGroup
		for _, p := range []*proc.Proc{s.B, s.A, s.N} {
			if p != nil {
				wg.Go(func() {
					if err := p.Stop(syscall.SIGTERM, grace); err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()
		if s.Config.EventsExchange != "" {
			testsvc.DeleteBrokerObjects(s.Config)
		}
		if s.Server != nil {
			if err := s.Server.Stop(); err != nil {
				errs = append(errs, err)
			}
		}
		if s.drop != nil {
			if err := s.drop(); err != nil {
				errs = append(errs, err)
			}
		}
		if s.dir != "" {
			if err := os.RemoveAll(s.dir); err != nil {
				errs = append(errs, err)
			}
		}
		s.err = errors.Join(errs...)
	})
	return s.err
}

func environ(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

func dbName(dsn string) string {
	rest := dsn
	if _, r, ok := strings.Cut(dsn, "://"); ok {
		rest = r
	}
	_, path, _ := strings.Cut(rest, "/")
	name, _, _ := strings.Cut(path, "?")
	return name
}

// DBName is the database name of a postgres:// URL ("" when there is none).
func DBName(dsn string) string { return dbName(dsn) }

// Versions names what ran, as far as it can be reached: the Temporal CLI
// (and the server it embeds) when the bench started it, PostgreSQL,
// RabbitMQ, Redis (each skipped when its URL is "").
func Versions(ctx context.Context, temporalCLI bool, databaseURL, rabbitURL, redisURL string) map[string]string {
	v := map[string]string{}
	if temporalCLI {
		if cli, err := localtemporal.FindCLI(); err == nil {
			if out, err := exec.CommandContext(ctx, cli, "--version").Output(); err == nil {
				v["temporal_cli"] = strings.TrimSpace(string(out))
			}
			v["temporal_cli_module"] = "github.com/temporalio/cli v" + localtemporal.CLIVersion
		}
	}
	if databaseURL != "" {
		if pool, err := postgres.Connect(ctx, databaseURL, 1); err == nil {
			var s string
			if pool.QueryRow(ctx, "SHOW server_version").Scan(&s) == nil {
				v["postgres"] = s
			}
			for _, k := range []string{"synchronous_commit", "fsync", "shared_buffers"} {
				if pool.QueryRow(ctx, "SELECT current_setting($1)", k).Scan(&s) == nil {
					v["postgres_"+k] = s
				}
			}
			pool.Close()
		}
	}
	if rabbitURL != "" {
		if conn, err := amqp.Dial(rabbitURL); err == nil {
			if s, ok := conn.Properties["version"].(string); ok {
				v["rabbitmq"] = s
			}
			_ = conn.Close()
		}
	}
	if redisURL != "" {
		if opts, err := redis.ParseURL(redisURL); err == nil {
			c := redis.NewClient(opts)
			if info, err := c.Info(ctx, "server").Result(); err == nil {
				for _, line := range strings.Split(info, "\n") {
					if k, val, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && k == "redis_version" {
						v["redis"] = val
					}
				}
			}
			_ = c.Close()
		}
	}
	return v
}
