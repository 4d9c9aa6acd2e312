package chaos

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/bankcore/bank/internal/proc"
	"github.com/bankcore/bank/internal/testsvc"
)

// bankProc is one process of the bank (bin/bank api|worker|notifier).
type bankProc struct {
	role        string // api, worker, notifier
	index       int
	httpPort    int // api only
	metricsPort int
	p           *proc.Proc
}

func (b *bankProc) name() string { return fmt.Sprintf("%s-%d", b.role, b.index+1) }

func (b *bankProc) url() string { return fmt.Sprintf("http://127.0.0.1:%d", b.httpPort) }

// Cluster is everything a run starts: private PostgreSQL, Redis, RabbitMQ
// and Temporal, and the bank's processes, on free loopback ports.
type Cluster struct {
	Dir     string
	BankBin string

	pg       *postgresService
	redis    *redisService
	rabbit   *rabbitService
	temporal *temporalService

	APIs      []*bankProc
	Workers   []*bankProc
	Notifiers []*bankProc

	env    []string // the bank's configuration
	events *eventLog

	mu       sync.Mutex
	stopping bool
	crashes  []crash
}

// crash is a process exit nobody asked for.
type crash struct {
	At      time.Duration
	Process string
	How     string
	LogTail string
}

// ClusterOptions size a cluster.
type ClusterOptions struct {
	Dir       string // the run's directory (logs, data)
	BankBin   string // bin/bank; empty: build it into Dir
	APIs      int
	Workers   int
	Notifiers int
}

// startCluster starts everything and returns once every process answers.
// On error, everything started so far is stopped.
func startCluster(ctx context.Context, opts ClusterOptions, events *eventLog) (_ *Cluster, err error) {
	c := &Cluster{Dir: opts.Dir, BankBin: opts.BankBin, events: events}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	ports, err := proc.FreePorts(8 + 2*opts.APIs + opts.Workers + opts.Notifiers)
	if err != nil {
		return nil, err
	}
	next := func() int { p := ports[0]; ports = ports[1:]; return p }

	onExit := c.onCrash
	if c.pg, err = newPostgres(c.Dir, next(), onExit); err != nil {
		return nil, err
	}
	if c.redis, err = newRedis(c.Dir, next(), onExit); err != nil {
		return nil, err
	}
	if c.rabbit, err = newRabbit(c.Dir, next(), next(), next(), testsvc.Suffix(), onExit); err != nil {
		return nil, err
	}
	if c.temporal, err = newTemporal(c.Dir, next(), onExit); err != nil {
		return nil, err
	}

	// Everything that takes a while, at once: the build and the four
	// services.
	type job struct {
		name string
		run  func(context.Context) error
	}
	jobs := []job{
		{"build bin/bank", c.build},
		{"postgres", func(ctx context.Context) error {
			if err := c.pg.initdb(ctx); err != nil {
				return err
			}
			return c.pg.start(ctx)
		}},
		{"redis", c.redis.start},
		{"rabbitmq", c.rabbit.start},
		{"temporal", c.temporal.start},
	}
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			began := time.Now()
			if errs[i] = j.run(ctx); errs[i] == nil {
				events.printf("started %s in %s", j.name, time.Since(began).Round(100*time.Millisecond))
			}
		}()
	}
	wg.Wait()
	for i, e := range errs {
		if e != nil {
			return nil, fmt.Errorf("%s: %w", jobs[i].name, e)
		}
	}

	c.env = cleanEnv(
		"DATABASE_URL="+c.pg.url("bank"),
		"RABBITMQ_URL="+c.rabbit.url(),
		"BANK_EVENTS_EXCHANGE=bank.events",
		"BANK_NOTIFIER_QUEUE="+notifierQueue,
		"REDIS_URL="+c.redis.url(),
		"BANK_REDIS_PREFIX=chaos:",
		"TEMPORAL_ADDRESS="+c.temporal.address(),
		"TEMPORAL_NAMESPACE=default",
		"JWT_SECRET="+testsvc.RandomKey(),
		"IDENTITY_KEY="+testsvc.RandomKey(),
		"PAYLOAD_KEY=chaos:"+testsvc.RandomKey(),
		"BCRYPT_COST=4",
		"BANK_RATE_REGISTER=0",
		"BANK_RATE_LOGIN_FAILURES=0",
		"KYC_TIMEOUT=500ms",
		// Shorter than the default 5s, so that outages show clients 202s
		// (which they resolve by retrying the key) and not only timeouts.
		"BANK_TRANSFER_WAIT=3s",
		"DATABASE_MAX_CONNS=10",
		"SHUTDOWN_TIMEOUT=5s",
	)
	if err := c.runBank(ctx, "migrate"); err != nil {
		return nil, err
	}
	if err := c.runBank(ctx, "operator", "create", "--email", operatorEmail, "--password", operatorPassword); err != nil {
		return nil, err
	}

	add := func(role string, n int, list *[]*bankProc) {
		for i := range n {
			b := &bankProc{role: role, index: i, metricsPort: next()}
			if role == "api" {
				b.httpPort = next()
			}
			env := append([]string{}, c.env...)
			env = append(env, fmt.Sprintf("METRICS_ADDR=127.0.0.1:%d", b.metricsPort))
			if b.httpPort != 0 {
				env = append(env, fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", b.httpPort))
			} else {
				// Unused by workers and notifiers; never the default :8080.
				env = append(env, fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", b.metricsPort))
			}
			b.p = proc.New(proc.Spec{Name: b.name(), Dir: c.Dir, Env: env, OnExit: onExit,
				LogFile: filepath.Join(c.Dir, b.name()+".log"), Path: c.BankBin, Args: []string{role}})
			*list = append(*list, b)
		}
	}
	add("worker", opts.Workers, &c.Workers)
	add("notifier", opts.Notifiers, &c.Notifiers)
	add("api", opts.APIs, &c.APIs)
	for _, b := range c.bankProcs() {
		if err := c.startBank(ctx, b); err != nil {
			return nil, err
		}
	}
	events.printf("started %d API, %d worker and %d notifier processes", len(c.APIs), len(c.Workers), len(c.Notifiers))
	return c, nil
}

const (
	notifierQueue    = "bank.notifier"
	operatorEmail    = "chaos-operator@bank.local"
	operatorPassword = "chaos-operator-password"
)

func (c *Cluster) bankProcs() []*bankProc {
	out := append([]*bankProc{}, c.Workers...)
	out = append(out, c.Notifiers...)
	return append(out, c.APIs...)
}

func (c *Cluster) services() []service {
	return []service{c.pg, c.redis, c.rabbit, c.temporal}
}

// build compiles bin/bank into the run's directory unless one was given.
func (c *Cluster) build(ctx context.Context) error {
	if c.BankBin != "" {
		abs, err := filepath.Abs(c.BankBin)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("bank binary: %w", err)
		}
		c.BankBin = abs
		return nil
	}
	c.BankBin = filepath.Join(c.Dir, "bank")
	return proc.GoBuild(ctx, "./cmd/bank", c.BankBin)
}

// runBank runs a one-shot bank command (migrate, operator create).
func (c *Cluster) runBank(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return proc.Run(ctx, proc.Spec{Name: "bank " + args[0], Path: c.BankBin, Args: args, Env: c.env})
}

// startBank starts one bank process and waits until it answers: /healthz
// for an API, the metrics listener (bound last) for the others.
func (c *Cluster) startBank(ctx context.Context, b *bankProc) error {
	if err := b.p.Start(); err != nil {
		return err
	}
	ready := proc.Listening(net.JoinHostPort("127.0.0.1", strconv.Itoa(b.metricsPort)))
	if b.role == "api" {
		ready = proc.HTTPReady(b.url() + "/healthz")
	}
	return proc.WaitReady(ctx, 60*time.Second, ready, b.p)
}

// onCrash records an exit nobody asked for and starts the process again
// after a second, as a supervisor (systemd, Kubernetes) would.
func (c *Cluster) onCrash(p *proc.Proc, err error) {
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		return
	}
	cr := crash{At: c.events.since(), Process: p.Name(), How: proc.ExitText(err), LogTail: p.Tail(2000)}
	c.crashes = append(c.crashes, cr)
	c.mu.Unlock()
	c.events.printf("UNEXPECTED: %s exited on its own (%s); restarting it", p.Name(), cr.How)
	go func() {
		time.Sleep(time.Second)
		for attempt := 0; attempt < 30; attempt++ {
			c.mu.Lock()
			stopping := c.stopping
			c.mu.Unlock()
			if stopping || p.Running() {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			var err error
			if b := c.bankByProc(p); b != nil {
				err = c.startBank(ctx, b)
			} else if s := c.serviceByProc(p); s != nil {
				err = s.start(ctx)
			} else {
				err = p.Start()
			}
			cancel()
			if err == nil {
				c.events.printf("%s is back after its unexpected exit", p.Name())
				return
			}
			time.Sleep(2 * time.Second)
		}
	}()
}

func (c *Cluster) bankByProc(p *proc.Proc) *bankProc {
	for _, b := range c.bankProcs() {
		if b.p == p {
			return b
		}
	}
	return nil
}

func (c *Cluster) serviceByProc(p *proc.Proc) service {
	for _, s := range c.services() {
		if s != nil && s.owns(p) {
			return s
		}
	}
	return nil
}

// Crashes are the exits nobody asked for.
func (c *Cluster) Crashes() []crash {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]crash{}, c.crashes...)
}

// Stop ends every process of the run: the bank's first (SIGTERM, then
// SIGKILL), then the services. It is safe to call more than once and on a
// half-started cluster.
func (c *Cluster) Stop() {
	c.mu.Lock()
	c.stopping = true
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, b := range c.bankProcs() {
		wg.Add(1)
		go func() { defer wg.Done(); _ = b.p.Stop(syscall.SIGTERM, 8*time.Second) }()
	}
	wg.Wait()
	stops := map[*proc.Proc]syscall.Signal{}
	if c.pg != nil {
		stops[c.pg.p] = syscall.SIGQUIT // immediate: the data is thrown away
	}
	if c.redis != nil {
		stops[c.redis.p] = syscall.SIGKILL
	}
	if c.temporal != nil {
		for _, p := range c.temporal.srv.Processes() {
			stops[p] = syscall.SIGKILL
		}
	}
	if c.rabbit != nil {
		stops[c.rabbit.p] = syscall.SIGKILL
	}
	for p, sig := range stops {
		wg.Add(1)
		go func() { defer wg.Done(); _ = p.Stop(sig, 15*time.Second) }()
	}
	wg.Wait()
	if c.rabbit != nil {
		_ = c.rabbit.epmd.Stop(syscall.SIGKILL, 5*time.Second)
	}
}
