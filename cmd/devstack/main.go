// Command devstack is what `make run` executes after building: it checks that
// PostgreSQL, RabbitMQ and Redis answer, starts a Temporal dev server when none
// answers on TEMPORAL_ADDRESS, migrates the database, makes sure an operator
// exists, and runs `bank all` in the foreground until Ctrl-C.
//
// It only orchestrates local processes; it reads the settings through
// internal/config, as `bank` itself does, so the child processes see exactly
// what devstack checked. Each step before `bank all` is one call in setup.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/bankcore/bank/internal/config"
	"github.com/bankcore/bank/internal/localtemporal"
	"github.com/bankcore/bank/internal/proc"
	"github.com/bankcore/bank/workflows"
)

// How long `bank all` gets to drain after Ctrl-C before it is killed.
const childStopTimeout = 20 * time.Second

// stack is what devstack works with: the bank's settings, the binary, and
// the directory for make run's own state (lock, Temporal's database and log).
type stack struct {
	cfg         config.Config
	bankBin     string
	cacheDir    string
	secretsFile string // the env file of this machine's secrets (useDevSecrets)
}

func load() (stack, error) {
	var s stack
	cache, err := os.UserCacheDir()
	if err != nil {
		return s, fmt.Errorf("finding a cache directory for the lock and the Temporal database: %w", err)
	}
	s.cacheDir = filepath.Join(cache, "bankcore")
	if err := os.MkdirAll(s.cacheDir, 0o750); err != nil {
		return s, err
	}
	// The machine's secrets go into the environment before the settings
	// are read, so what devstack reads is what the bank it starts reads.
	if s.secretsFile, err = useDevSecrets(s.cacheDir); err != nil {
		return s, err
	}
	if s.cfg, err = config.FromEnv(); err != nil {
		return s, err
	}
	bin := os.Getenv("BANK_BIN")
	if bin == "" {
		bin = filepath.Join("bin", "bank")
	}
	if s.bankBin, err = filepath.Abs(bin); err != nil {
		return s, err
	}
	if st, err := os.Stat(s.bankBin); err != nil || st.IsDir() || st.Mode()&0o111 == 0 { // #nosec G703 -- the user names the binary to run
		return s, fmt.Errorf("%s is missing or not executable: run `make build` first (or set BANK_BIN)", s.bankBin)
	}
	return s, nil
}

func (s stack) temporalLog() string { return filepath.Join(s.cacheDir, "temporal-dev.log") }

func main() { os.Exit(run()) }

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "devstack: "+format+"\n", args...)
}

// run returns the exit code, so that deferred clean-up runs before os.Exit.
func run() int {
	s, err := load()
	if err != nil {
		logf("%v", err)
		return 1
	}

	release, err := acquireLock(filepath.Join(s.cacheDir, "run.lock"))
	if err != nil {
		logf("%v", err)
		return 1
	}
	defer release()

	if err := checkPortFree(s.cfg.HTTPAddr); err != nil {
		logf("another `make run` (or something else) is already listening on %s; stop it first (%v)", s.cfg.HTTPAddr, err)
		return 1
	}
	if err := checkPortFree(s.cfg.MetricsAddr); err != nil {
		logf("warning: %s (METRICS_ADDR) is taken; the workers' metrics endpoint may fail to start (%v)", s.cfg.MetricsAddr, err)
	}

	// Catch signals from the start, so that Ctrl-C during set-up still stops
	// a dev server we started.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	var temporal *localtemporal.Server
	defer func() {
		if temporal != nil && temporal.Exited() == nil { // else reported where it was noticed
			logf("stopping the Temporal dev server")
			if err := temporal.Stop(); err != nil {
				logf("%v", err)
			}
		}
	}()

	setupCtx, cancelSetup := context.WithCancel(context.Background())
	interrupted := make(chan os.Signal, 1)
	watcherDone := make(chan struct{})
	go func() {
		defer close(watcherDone)
		select {
		case sig := <-sigs:
			interrupted <- sig
			cancelSetup()
		case <-setupCtx.Done():
		}
	}()
	temporal, err = setup(setupCtx, s)
	cancelSetup()
	<-watcherDone
	select {
	case sig := <-interrupted:
		logf("%v during set-up; stopping", sig)
		return 0
	default:
	}
	if err != nil {
		logf("%v", err)
		return 1
	}

	printBanner(s, temporal)
	return runForeground(s, temporal, sigs)
}

// setup does everything before `bank all`, one step a line. A dev server it
// started is returned even with an error, so the caller stops it.
func setup(ctx context.Context, s stack) (*localtemporal.Server, error) {
	if err := checkServices(ctx, s.cfg); err != nil {
		return nil, err
	}
	temporal, err := ensureTemporal(ctx, s)
	if err != nil {
		return temporal, err
	}
	if err := runStep(ctx, s, "migrate"); err != nil {
		return temporal, err
	}
	warnDefaultOperator(s.cfg)
	err = runStep(ctx, s, "operator", "create",
		"--email", s.cfg.OperatorEmail, "--password", s.cfg.OperatorPassword, "--if-missing")
	return temporal, err
}

// warnDefaultOperator names only the defaults in use: a password the user
// chose is never printed.
func warnDefaultOperator(cfg config.Config) {
	var defaults []string
	if cfg.OperatorEmail == config.DevOperatorEmail {
		defaults = append(defaults, "BANK_OPERATOR_EMAIL="+config.DevOperatorEmail)
	}
	if cfg.OperatorPassword == config.DevOperatorPassword {
		defaults = append(defaults, "BANK_OPERATOR_PASSWORD="+config.DevOperatorPassword)
	}
	if len(defaults) == 0 {
		return
	}
	bar := strings.Repeat("!", 78)
	fmt.Fprintf(os.Stderr, "%s\n!! WARNING: the operator account uses the DEV DEFAULTS %s.\n"+
		"!! Anyone who reads this repository can log in as operator and move money.\n"+
		"!! Set BANK_OPERATOR_EMAIL and BANK_OPERATOR_PASSWORD for anything but local development.\n%s\n",
		bar, strings.Join(defaults, " "), bar)
}

// runStep runs one short `bank` subcommand, its output on our terminal. On
// cancellation it gets SIGTERM, like a Ctrl-C, rather than an immediate kill.
func runStep(ctx context.Context, s stack, args ...string) error {
	logf("running bank %s", args[0])
	return proc.Run(ctx, proc.Spec{Name: "bank " + args[0], Path: s.bankBin, Args: args, Output: os.Stderr})
}

// runForeground runs `bank all` until it exits or we are told to stop, and
// returns devstack's exit code. `bank all` has a process group of its own:
// the terminal's Ctrl-C reaches only devstack, which forwards it exactly
// once (a second SIGINT often means "quit now").
func runForeground(s stack, temporal *localtemporal.Server, sigs <-chan os.Signal) int {
	bank, err := proc.Start(proc.Spec{Name: "bank all", Path: s.bankBin, Args: []string{"all"}, Output: os.Stderr})
	if err != nil {
		logf("%v", err)
		return 1
	}
	readyCtx, stopAnnouncing := context.WithCancel(context.Background())
	defer stopAnnouncing()
	go announceReady(readyCtx, localURL(s.cfg.HTTPAddr), bank)

	var temporalDone <-chan struct{}
	if temporal != nil {
		temporalDone = temporal.Done()
	}
	select {
	case <-bank.Done():
		if err := bank.ExitErr(); err != nil {
			logf("bank all exited: %s", proc.ExitText(err))
			return 1
		}
		logf("bank all exited")
		return 0

	case <-temporalDone:
		logf("the Temporal dev server exited unexpectedly; see %s. Stopping bank all.\n%v", s.temporalLog(), temporal.Exited())
		stopChild(bank, syscall.SIGTERM, sigs)
		return 1

	case sig := <-sigs:
		logf("%v: stopping bank all (up to %s; press Ctrl-C again to kill it)", sig, childStopTimeout)
		stopChild(bank, forwardable(sig), sigs)
		return 0
	}
}

// forwardable is the signal to pass on: SIGINT and SIGTERM as they came, and
// SIGTERM for a closed terminal (SIGHUP), which `bank` need not handle.
func forwardable(sig os.Signal) syscall.Signal {
	if s, ok := sig.(syscall.Signal); ok && s != syscall.SIGHUP {
		return s
	}
	return syscall.SIGTERM
}

// stopChild stops bank with sig, killing it after childStopTimeout or at
// once on a second signal.
func stopChild(bank *proc.Proc, sig syscall.Signal, sigs <-chan os.Signal) {
	stopped := make(chan error, 1)
	go func() { stopped <- bank.Stop(sig, childStopTimeout) }()
	select {
	case err := <-stopped:
		if err != nil {
			logf("%v", err)
		}
	case <-sigs:
		logf("second signal: killing bank all")
		_ = bank.Stop(syscall.SIGKILL, time.Second)
		if err := <-stopped; err != nil {
			logf("%v", err)
		}
	}
}

// announceReady prints one line when the API answers /readyz, because the
// banner has scrolled away under the start-up logs by then.
func announceReady(ctx context.Context, base string, bank *proc.Proc) {
	err := proc.WaitReady(ctx, 90*time.Second, proc.HTTPReady(base+"/readyz"), bank)
	switch {
	case err == nil:
		logf("ready: API %s (URLs in the box above)", base)
	case ctx.Err() == nil && bank.Running():
		logf("warning: %s/readyz did not answer 200 within 90s; check the log above", base)
	}
}

// acquireLock takes an exclusive flock on path, so a second `make run` fails
// fast instead of fighting the first one over ports and the dev server. The
// kernel drops the lock when we die, so a crash leaves no stale lock behind.
func acquireLock(path string) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600) // #nosec G304 -- our own cache file
	if err != nil {
		return nil, fmt.Errorf("opening lock %s: %w", path, err)
	}
	fd := int(f.Fd()) // #nosec G115 -- a file descriptor fits in an int
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := io.ReadAll(io.LimitReader(f, 32))
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another `make run` is already running (pid %s, lock %s); stop it first",
				strings.TrimSpace(string(holder)), path)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	// The pid is only for the message above; the flock is the lock.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		_ = f.Truncate(0)
		_ = syscall.Flock(fd, syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}

// checkPortFree fails when addr can't be bound or something already answers
// on it (a listener on 127.0.0.1 only does not always block binding ":port").
func checkPortFree(addr string) error {
	if c, err := net.DialTimeout("tcp", dialable(addr), 500*time.Millisecond); err == nil {
		_ = c.Close()
		return errors.New("something answers there")
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

// dialable turns a listen address such as ":8080" or "0.0.0.0:8080" into one
// we can connect to.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	switch host {
	case "", "0.0.0.0", "::", "[::]":
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// localURL is the browser address of a listen address.
func localURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	switch host {
	case "", "0.0.0.0", "::", "127.0.0.1", "::1":
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// service is one backing service that must answer before we start.
type service struct {
	name  string
	check func(ctx context.Context) (target string, err error)
	start string // how to start it on this machine
}

func checkServices(ctx context.Context, cfg config.Config) error {
	services := []service{
		{"PostgreSQL", func(ctx context.Context) (string, error) { return checkPostgres(ctx, cfg.DatabaseURL) },
			`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`},
		{"RabbitMQ", func(ctx context.Context) (string, error) { return checkRabbitMQ(ctx, cfg.RabbitMQURL) },
			`rabbitmq-server -detached`},
		{"Redis", func(ctx context.Context) (string, error) { return checkRedis(ctx, cfg.RedisURL) },
			`redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no`},
	}
	failed := 0
	for _, svc := range services {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		target, err := svc.check(cctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			continue
		}
		failed++
		logf("%s is not reachable at %s: %v\n    start it with:  %s", svc.name, target, err, svc.start)
	}
	if failed > 0 {
		return errors.New("start the services above (Docker users: `docker compose up -d postgres rabbitmq redis`), then `make run` again")
	}
	return nil
}

// checkPostgres connects to the maintenance database "postgres" on the
// server of DATABASE_URL: the bank database may not exist yet (migrate
// creates it), but the server and the credentials must work.
func checkPostgres(ctx context.Context, dsn string) (string, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "DATABASE_URL", fmt.Errorf("bad DATABASE_URL: %w", err)
	}
	target := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return target, err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	var one int
	return target, conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// rabbitHost is the broker's host:port from RABBITMQ_URL.
func rabbitHost(raw string) (string, error) {
	u, err := amqp.ParseURI(raw)
	if err != nil {
		return "RABBITMQ_URL", fmt.Errorf("bad RABBITMQ_URL: %w", err)
	}
	return net.JoinHostPort(u.Host, strconv.Itoa(u.Port)), nil
}

// checkRabbitMQ only dials: that tells "not running" apart from everything
// else, and the bank reports protocol or credential problems itself.
func checkRabbitMQ(ctx context.Context, raw string) (string, error) {
	target, err := rabbitHost(raw)
	if err != nil {
		return target, err
	}
	return target, proc.Listening(target)(ctx)
}

// checkRedis pings the server as the bank will reach it (credentials, TLS
// and database from REDIS_URL).
func checkRedis(ctx context.Context, raw string) (string, error) {
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return "REDIS_URL", fmt.Errorf("bad REDIS_URL: %w", err)
	}
	opts.MaxRetries, opts.DialerRetries = -1, 1 // one answer, now: the bank retries on its own
	c := redis.NewClient(opts)
	defer func() { _ = c.Close() }()
	return opts.Addr, c.Ping(ctx).Err()
}

// ensureTemporal uses the Temporal server on TEMPORAL_ADDRESS when one
// answers (docker compose, or one started by hand), and otherwise starts a
// dev server that keeps its state in the cache directory.
func ensureTemporal(ctx context.Context, s stack) (*localtemporal.Server, error) {
	addr, namespace := s.cfg.TemporalAddress, s.cfg.TemporalNamespace
	if answers(ctx, addr) {
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := localtemporal.CheckHealth(hctx, addr, namespace); err != nil {
			return nil, fmt.Errorf("something answers on TEMPORAL_ADDRESS=%s but is not a healthy Temporal server: %w", addr, err)
		}
		if err := localtemporal.EnsureSearchAttributes(hctx, addr, namespace, workflows.SearchAttributes); err != nil {
			return nil, err
		}
		logf("using the Temporal server already running at %s", addr)
		return nil, nil
	}

	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("bad TEMPORAL_ADDRESS %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("bad TEMPORAL_ADDRESS %q: %w", addr, err)
	}
	if host == "localhost" {
		host = "127.0.0.1" // the dev server wants an IP
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("nothing answers on TEMPORAL_ADDRESS=%s, and devstack starts a dev server "+
			"only on a loopback address (unset TEMPORAL_ADDRESS to use 127.0.0.1:7233)", addr)
	}
	srv, err := localtemporal.New(localtemporal.Options{
		IP:               host,
		Port:             port,
		UIPort:           port + 1000, // the CLI's own convention: 7233 -> 8233
		DBFile:           filepath.Join(s.cacheDir, "temporal-dev.db"),
		Namespace:        namespace,
		SearchAttributes: workflows.SearchAttributes,
		UICodecEndpoint:  localURL(s.cfg.HTTPAddr) + "/codec",
		LogFile:          s.temporalLog(),
	})
	if err != nil {
		return nil, err
	}
	logf("starting a Temporal dev server on %s (log: %s)", addr, s.temporalLog())
	if err := srv.Start(ctx); err != nil {
		return srv, err
	}
	// A database made by an older devstack may predate an attribute; the
	// start-dev flag registers attributes only when it creates a namespace.
	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return srv, localtemporal.EnsureSearchAttributes(ectx, srv.Address(), namespace, workflows.SearchAttributes)
}

func answers(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return proc.Listening(addr)(ctx) == nil
}

// httpAnswers tells whether a web UI answers, to list only the URLs that work.
func httpAnswers(u string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return proc.HTTPReady(u)(ctx) == nil
}

func printBanner(s stack, temporal *localtemporal.Server) {
	api := localURL(s.cfg.HTTPAddr)
	rows := [][2]string{
		{"API", api},
		{"Console", api + "/console/"},
		{"GraphQL", api + "/graphql"},
	}

	temporalUI := ""
	if temporal != nil {
		if temporal.UIPort() != 0 {
			temporalUI = fmt.Sprintf("http://localhost:%d", temporal.UIPort())
		}
	} else if host, port, err := net.SplitHostPort(s.cfg.TemporalAddress); err == nil {
		// Someone else's server: its UI is usually on port+1000 (the CLI's
		// and our docker-compose's convention); list it only if it answers.
		if p, err := strconv.Atoi(port); err == nil {
			u := localURL(net.JoinHostPort(host, strconv.Itoa(p+1000)))
			if httpAnswers(u) {
				temporalUI = u
			}
		}
	}
	if temporalUI != "" {
		rows = append(rows, [2]string{"Temporal Web UI", temporalUI})
	}

	if target, err := rabbitHost(s.cfg.RabbitMQURL); err == nil {
		host, _, _ := net.SplitHostPort(target)
		if u := localURL(net.JoinHostPort(host, "15672")); httpAnswers(u) {
			rows = append(rows, [2]string{"RabbitMQ management", u})
		}
	}
	rows = append(rows,
		[2]string{"Metrics", localURL(s.cfg.MetricsAddr) + "/metrics"},
		[2]string{"Operator login", s.cfg.OperatorEmail},
	)
	if temporal != nil {
		rows = append(rows, [2]string{"Temporal log", s.temporalLog()})
	}
	rows = append(rows, [2]string{"Secrets", s.secretsFile})

	lines := []string{"bankcore dev stack", ""}
	for _, r := range rows {
		lines = append(lines, fmt.Sprintf("%-20s %s", r[0], r[1]))
	}
	width := 0
	for _, l := range lines {
		width = max(width, utf8.RuneCountInString(l))
	}
	var b strings.Builder
	b.WriteString("┌" + strings.Repeat("─", width+2) + "┐\n")
	for _, l := range lines {
		b.WriteString("│ " + l + strings.Repeat(" ", width-utf8.RuneCountInString(l)) + " │\n")
	}
	b.WriteString("└" + strings.Repeat("─", width+2) + "┘\n")

	fmt.Fprintf(&b, "Other shells get this machine's secrets with:  . %s\n"+
		"Local state: %s (secrets, Temporal's database) and the PostgreSQL database of DATABASE_URL; README.md says how to reset.\n"+
		"Try it: README.md, \"Try it\" (Ctrl-C stops everything). For a first look:\n"+
		"  curl -s %s/readyz\n", s.secretsFile, s.cacheDir, api)
	fmt.Print(b.String())
}
