// Command devstack is what `make run` executes after building: it checks that
// PostgreSQL, RabbitMQ and Redis answer, starts a Temporal dev server when none
// answers on TEMPORAL_ADDRESS, migrates the database, makes sure an operator
// exists, and runs `bank all` in the foreground until Ctrl-C.
//
// It only orchestrates local processes; everything it configures is read from
// the same environment variables (and defaults) as `bank` itself, so the child
// processes see exactly what devstack checked.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/bankcore/bank/internal/temporaldev"
	"github.com/bankcore/bank/workflows"
)

// searchAttributes are the Keyword search attributes operators use to find
// workflows in the Web UI.
var searchAttributes = workflows.SearchAttributes

const (
	devOperatorEmail    = "operator@bank.local"
	devOperatorPassword = "operator-dev-password" // #nosec G101 -- the documented dev default, warned about loudly

	// How long `bank all` gets to drain after Ctrl-C before it is killed.
	childStopTimeout = 20 * time.Second
)

// settings mirrors the variables and defaults of internal/config, limited to
// what devstack itself needs.
type settings struct {
	databaseURL       string
	rabbitURL         string
	redisURL          string
	temporalAddress   string
	temporalNamespace string
	httpAddr          string
	metricsAddr       string
	bankBin           string
	operatorEmail     string
	operatorPassword  string
	defaultOperator   bool
	cacheDir          string
	secretsFile       string // the env file of this machine's secrets (useDevSecrets)
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func loadSettings() (settings, error) {
	s := settings{
		databaseURL:       env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bank?sslmode=disable"),
		rabbitURL:         env("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/"),
		redisURL:          env("REDIS_URL", "redis://127.0.0.1:6379/0"),
		temporalAddress:   env("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		temporalNamespace: env("TEMPORAL_NAMESPACE", "default"),
		httpAddr:          env("HTTP_ADDR", ":8080"),
		metricsAddr:       env("METRICS_ADDR", ":9090"),
		operatorEmail:     env("BANK_OPERATOR_EMAIL", devOperatorEmail),
		operatorPassword:  env("BANK_OPERATOR_PASSWORD", devOperatorPassword),
	}
	s.defaultOperator = s.operatorEmail == devOperatorEmail || s.operatorPassword == devOperatorPassword

	bin, err := filepath.Abs(env("BANK_BIN", filepath.Join("bin", "bank")))
	if err != nil {
		return s, err
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return s, fmt.Errorf("%s is missing or not executable: run `make build` first (or set BANK_BIN)", bin)
	}
	s.bankBin = bin

	cache, err := os.UserCacheDir()
	if err != nil {
		return s, fmt.Errorf("finding a cache directory for the lock and the Temporal database: %w", err)
	}
	s.cacheDir = filepath.Join(cache, "bankcore")
	if err := os.MkdirAll(s.cacheDir, 0o750); err != nil {
		return s, err
	}
	return s, nil
}

func main() { os.Exit(run()) }

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "devstack: "+format+"\n", args...)
}

// run returns the exit code, so that deferred clean-up runs before os.Exit.
func run() int {
	s, err := loadSettings()
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

	if s.secretsFile, err = useDevSecrets(s.cacheDir); err != nil {
		logf("%v", err)
		return 1
	}

	if err := checkPortFree(s.httpAddr); err != nil {
		logf("another `make run` (or something else) is already listening on %s; stop it first (%v)", s.httpAddr, err)
		return 1
	}
	if err := checkPortFree(s.metricsAddr); err != nil {
		logf("warning: %s (METRICS_ADDR) is taken; the workers' metrics endpoint may fail to start (%v)", s.metricsAddr, err)
	}

	// Catch signals from the start, so that Ctrl-C during set-up still stops
	// a dev server we started.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	var temporal *temporaldev.Server
	var temporalLog *os.File
	defer func() {
		if temporal != nil {
			select {
			case <-temporal.Done(): // already reported where it was noticed
			default:
				logf("stopping the Temporal dev server")
				if err := temporal.Stop(); err != nil {
					logf("%v", err)
				}
			}
		}
		if temporalLog != nil {
			_ = temporalLog.Close()
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
	temporal, temporalLog, err = setup(setupCtx, s)
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

// setup does everything before `bank all`. A dev server it started is
// returned even with an error, so the caller stops it.
func setup(ctx context.Context, s settings) (*temporaldev.Server, *os.File, error) {
	if err := checkServices(ctx, s); err != nil {
		return nil, nil, err
	}
	temporal, temporalLog, err := ensureTemporal(ctx, s)
	if err != nil {
		return temporal, temporalLog, err
	}
	if err := runStep(ctx, s.bankBin, "migrate"); err != nil {
		return temporal, temporalLog, err
	}
	if s.defaultOperator {
		warnDefaultOperator(s)
	}
	err = runStep(ctx, s.bankBin, "operator", "create",
		"--email", s.operatorEmail, "--password", s.operatorPassword, "--if-missing")
	return temporal, temporalLog, err
}

// warnDefaultOperator names only the defaults in use: a password the user
// chose is never printed.
func warnDefaultOperator(s settings) {
	var defaults []string
	if s.operatorEmail == devOperatorEmail {
		defaults = append(defaults, "BANK_OPERATOR_EMAIL="+devOperatorEmail)
	}
	if s.operatorPassword == devOperatorPassword {
		defaults = append(defaults, "BANK_OPERATOR_PASSWORD="+devOperatorPassword)
	}
	bar := strings.Repeat("!", 78)
	fmt.Fprintf(os.Stderr, "%s\n!! WARNING: the operator account uses the DEV DEFAULTS %s.\n"+
		"!! Anyone who reads this repository can log in as operator and move money.\n"+
		"!! Set BANK_OPERATOR_EMAIL and BANK_OPERATOR_PASSWORD for anything but local development.\n%s\n",
		bar, strings.Join(defaults, " "), bar)
}

// runStep runs one short `bank` subcommand with our stdio. On cancellation it
// gets SIGTERM, like a Ctrl-C, rather than an immediate kill.
func runStep(ctx context.Context, bin string, args ...string) error {
	logf("running bank %s", args[0])
	cmd := exec.CommandContext(ctx, bin, args...) // #nosec G204 -- our own binary
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("`%s %s` failed: %w", filepath.Base(bin), strings.Join(args[:min(2, len(args))], " "), err)
	}
	return nil
}

// runForeground runs `bank all` until it exits or we are told to stop, and
// returns devstack's exit code.
func runForeground(s settings, temporal *temporaldev.Server, sigs <-chan os.Signal) int {
	cmd := exec.Command(s.bankBin, "all") // #nosec G204 -- our own binary
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	// Stdin stays /dev/null: a process outside the terminal's foreground
	// group that read from it would be stopped by SIGTTIN.
	//
	// Own process group: the terminal's Ctrl-C reaches only devstack, which
	// forwards it exactly once (a second SIGINT often means "quit now").
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf("starting bank all: %v", err)
		return 1
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	readyCtx, stopAnnouncing := context.WithCancel(context.Background())
	defer stopAnnouncing()
	go announceReady(readyCtx, s.httpAddr)

	var temporalDone <-chan struct{}
	if temporal != nil {
		temporalDone = temporal.Done()
	}

	select {
	case err := <-exited:
		if err != nil {
			logf("bank all exited: %v", err)
			return 1
		}
		logf("bank all exited")
		return 0

	case <-temporalDone:
		logf("the Temporal dev server exited unexpectedly (%v); see %s. Stopping bank all.",
			temporal.Err(), filepath.Join(s.cacheDir, "temporal-dev.log"))
		stopChild(pid, syscall.SIGTERM, exited, sigs)
		return 1

	case sig := <-sigs:
		logf("%v: stopping bank all (up to %s; press Ctrl-C again to kill it)", sig, childStopTimeout)
		stopChild(pid, forwardable(sig), exited, sigs)
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

// stopChild signals the child's process group and waits for it, killing it
// after childStopTimeout or on a second signal.
func stopChild(pid int, sig syscall.Signal, exited <-chan error, sigs <-chan os.Signal) {
	_ = syscall.Kill(-pid, sig)
	select {
	case err := <-exited:
		if err != nil {
			logf("bank all stopped: %v", err)
		}
		// Anything it left behind in its group (helpers that ignored the
		// signal) would otherwise outlive `make run`.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		return
	case <-sigs:
		logf("second signal: killing bank all")
	case <-time.After(childStopTimeout):
		logf("bank all did not stop within %s: killing it", childStopTimeout)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	if err := <-exited; err != nil {
		logf("bank all: %v", err)
	}
}

// announceReady prints one line when the API answers /readyz, because the
// banner has scrolled away under the start-up logs by then.
func announceReady(ctx context.Context, httpAddr string) {
	base := localURL(httpAddr)
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	hc := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				logf("warning: %s/readyz did not answer 200 within 90s; check the log above", base)
			}
			return
		case <-time.After(500 * time.Millisecond):
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return
		}
		resp, err := hc.Do(req)
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			logf("ready: API %s (URLs in the box above)", base)
			return
		}
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

func checkServices(ctx context.Context, s settings) error {
	services := []service{
		{"PostgreSQL", func(ctx context.Context) (string, error) { return checkPostgres(ctx, s.databaseURL) },
			`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`},
		{"RabbitMQ", func(ctx context.Context) (string, error) { return checkRabbitMQ(ctx, s.rabbitURL) },
			`rabbitmq-server -detached`},
		{"Redis", func(ctx context.Context) (string, error) { return checkRedis(ctx, s.redisURL) },
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

// hostPort is the host:port of a service URL, with the scheme's default port.
func hostPort(raw string, defaults map[string]string) (string, *url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return raw, nil, err
	}
	port, ok := defaults[u.Scheme]
	if !ok {
		return raw, nil, fmt.Errorf("unsupported scheme %q", u.Scheme)
	}
	if p := u.Port(); p != "" {
		port = p
	}
	host := u.Hostname()
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), u, nil
}

func dialContext(ctx context.Context, target string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", target)
}

// checkRabbitMQ only dials: that tells "not running" apart from everything
// else, and the bank reports protocol or credential problems itself.
func checkRabbitMQ(ctx context.Context, raw string) (string, error) {
	target, _, err := hostPort(raw, map[string]string{"amqp": "5672", "amqps": "5671"})
	if err != nil {
		return target, fmt.Errorf("bad RABBITMQ_URL: %w", err)
	}
	c, err := dialContext(ctx, target)
	if err != nil {
		return target, err
	}
	return target, c.Close()
}

// checkRedis sends a raw PING (after AUTH when the URL has credentials).
func checkRedis(ctx context.Context, raw string) (string, error) {
	target, u, err := hostPort(raw, map[string]string{"redis": "6379", "rediss": "6379"})
	if err != nil {
		return target, fmt.Errorf("bad REDIS_URL: %w", err)
	}
	c, err := dialContext(ctx, target)
	if err != nil {
		return target, err
	}
	defer func() { _ = c.Close() }()
	if u.Scheme == "rediss" {
		return target, nil // TLS: the dial is all we check
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	r := bufio.NewReader(c)
	if pass, ok := u.User.Password(); ok {
		args := []string{"AUTH", pass}
		if name := u.User.Username(); name != "" {
			args = []string{"AUTH", name, pass}
		}
		if err := redisCommand(c, r, args...); err != nil {
			return target, err
		}
	}
	return target, redisCommand(c, r, "PING")
}

func redisCommand(w io.Writer, r *bufio.Reader, args ...string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimSpace(line); strings.HasPrefix(line, "-") {
		return fmt.Errorf("%s answered %q", args[0], line)
	}
	return nil
}

// ensureTemporal uses the Temporal server on TEMPORAL_ADDRESS when one
// answers (docker compose, or one started by hand), and otherwise starts a
// dev server that keeps its state in the cache directory.
func ensureTemporal(ctx context.Context, s settings) (*temporaldev.Server, *os.File, error) {
	addr := s.temporalAddress
	if answers(ctx, addr) {
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := temporaldev.CheckHealth(hctx, addr, s.temporalNamespace); err != nil {
			return nil, nil, fmt.Errorf("something answers on TEMPORAL_ADDRESS=%s but is not a healthy Temporal server: %w", addr, err)
		}
		if err := temporaldev.EnsureSearchAttributes(hctx, addr, s.temporalNamespace, searchAttributes); err != nil {
			return nil, nil, err
		}
		logf("using the Temporal server already running at %s", addr)
		return nil, nil, nil
	}

	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("bad TEMPORAL_ADDRESS %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, nil, fmt.Errorf("bad TEMPORAL_ADDRESS %q: %w", addr, err)
	}
	if host == "localhost" {
		host = "127.0.0.1" // the dev server wants an IP
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, nil, fmt.Errorf("nothing answers on TEMPORAL_ADDRESS=%s, and devstack starts a dev server "+
			"only on a loopback address (unset TEMPORAL_ADDRESS to use 127.0.0.1:7233)", addr)
	}
	if _, err := temporaldev.FindCLI(); err != nil {
		return nil, nil, err
	}

	logPath := filepath.Join(s.cacheDir, "temporal-dev.log")
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600) // #nosec G304 -- our own cache file
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(logFile, "\n=== %s devstack (pid %d) starts the dev server on %s\n",
		time.Now().Format(time.RFC3339), os.Getpid(), addr)
	logf("starting a Temporal dev server on %s (log: %s)", addr, logPath)
	srv, err := temporaldev.Start(ctx, temporaldev.Options{
		IP:               host,
		Port:             port,
		UIPort:           port + 1000, // the CLI's own convention: 7233 -> 8233
		DBFile:           filepath.Join(s.cacheDir, "temporal-dev.db"),
		Namespace:        s.temporalNamespace,
		SearchAttributes: searchAttributes,
		UICodecEndpoint:  localURL(s.httpAddr) + "/codec",
		Log:              logFile,
	})
	if err != nil {
		return nil, logFile, err
	}
	// A database made by an older devstack may predate an attribute; the
	// start-dev flag registers attributes only when it creates a namespace.
	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := temporaldev.EnsureSearchAttributes(ectx, srv.Address(), s.temporalNamespace, searchAttributes); err != nil {
		return srv, logFile, err
	}
	return srv, logFile, nil
}

func answers(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := dialContext(ctx, addr)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// httpAnswers tells whether a web UI answers, to list only the URLs that work.
func httpAnswers(u string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	return resp.StatusCode < 500
}

func printBanner(s settings, temporal *temporaldev.Server) {
	api := localURL(s.httpAddr)
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
	} else if host, port, err := net.SplitHostPort(s.temporalAddress); err == nil {
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

	if target, _, err := hostPort(s.rabbitURL, map[string]string{"amqp": "5672", "amqps": "5671"}); err == nil {
		host, _, _ := net.SplitHostPort(target)
		if u := localURL(net.JoinHostPort(host, "15672")); httpAnswers(u) {
			rows = append(rows, [2]string{"RabbitMQ management", u})
		}
	}
	rows = append(rows,
		[2]string{"Metrics", localURL(s.metricsAddr) + "/metrics"},
		[2]string{"Operator login", s.operatorEmail},
	)
	if temporal != nil {
		rows = append(rows, [2]string{"Temporal log", filepath.Join(s.cacheDir, "temporal-dev.log")})
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
