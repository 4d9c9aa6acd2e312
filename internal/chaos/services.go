package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/bankcore/bank/internal/localtemporal"
	"github.com/bankcore/bank/internal/proc"
	"github.com/bankcore/bank/workflows"
)

// A service is one of the run's private backing services: started on fixed
// ports chosen at the beginning of the run, so a restart comes back where the
// bank's processes expect it.
type service interface {
	name() string
	// owns tells whether p is (one of) the service's process(es).
	owns(p *proc.Proc) bool
	// start starts the process and returns once it answers.
	start(ctx context.Context) error
	// crash kills it with SIGKILL (every process of it).
	crash() error
	// stopGracefully asks it to shut down cleanly.
	stopGracefully() error
}

func cleanEnv(extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8", "LC_ALL=C.UTF-8"}
	if h := os.Getenv("HOME"); h != "" {
		env = append(env, "HOME="+h)
	}
	return append(env, extra...)
}

// ---- PostgreSQL ----

type postgresService struct {
	binDir  string
	dataDir string
	port    int
	cred    *syscall.Credential
	p       *proc.Proc
}

// findPostgres returns the directory holding initdb and postgres:
// $CHAOS_PG_BIN, the newest /usr/lib/postgresql/*/bin, or PATH.
func findPostgres() (string, error) {
	if d := os.Getenv("CHAOS_PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, postgres) found; set CHAOS_PG_BIN")
}

// postgresCredential is the user PostgreSQL runs as: it refuses root.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL needs an unprivileged user named postgres: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil // #nosec G115 -- ids from the passwd database
}

func newPostgres(dir string, port int, onExit func(*proc.Proc, error)) (*postgresService, error) {
	bin, err := findPostgres()
	if err != nil {
		return nil, err
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	s := &postgresService{binDir: bin, dataDir: filepath.Join(dir, "pgdata"), port: port, cred: cred}
	s.p = proc.New(proc.Spec{
		Name: "postgres", Dir: dir, Credential: cred, LogFile: filepath.Join(dir, "postgres.log"), OnExit: onExit,
		Env:  cleanEnv(),
		Path: filepath.Join(bin, "postgres"),
		Args: []string{"-D", s.dataDir, "-p", strconv.Itoa(port),
			"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
			"-c", "max_connections=200", "-c", "shared_buffers=64MB", "-c", "fsync=on",
			"-c", "log_min_messages=warning", "-c", "log_line_prefix=%m [%p] "},
	})
	return s, nil
}

func (s *postgresService) name() string           { return "postgres" }
func (s *postgresService) owns(p *proc.Proc) bool { return p == s.p }

func (s *postgresService) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// initdb creates the cluster: trust authentication on loopback only.
func (s *postgresService) initdb(ctx context.Context) error {
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		return err
	}
	if s.cred != nil {
		if err := os.Chown(s.dataDir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return err
		}
	}
	return proc.Run(ctx, proc.Spec{Name: "initdb", Path: filepath.Join(s.binDir, "initdb"),
		Args: []string{"-D", s.dataDir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"},
		Env:  cleanEnv(), Dir: filepath.Dir(s.dataDir), Credential: s.cred})
}

func (s *postgresService) start(ctx context.Context) error {
	// After a crash, backends of the old server may hold its shared memory
	// for a moment, and the new server refuses to start; try again.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := s.p.Start(); err != nil {
			return err
		}
		err := proc.WaitReady(ctx, 60*time.Second, func(ctx context.Context) error {
			conn, err := pgx.Connect(ctx, s.url("postgres"))
			if err != nil {
				return err
			}
			defer func() { _ = conn.Close(context.Background()) }()
			return conn.Ping(ctx)
		}, s.p)
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) || s.p.Running() {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// crash kills the postmaster and every backend at once, as an OOM killer or
// a power cut would; the next start runs crash recovery from the WAL.
func (s *postgresService) crash() error {
	var backends []int
	if s.p.Running() {
		backends = proc.Children(s.p.Pid()) // each in a session of its own
	}
	err := s.p.Stop(syscall.SIGKILL, 5*time.Second)
	for _, pid := range backends {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return err
}

// stopGracefully is a fast shutdown: sessions are cut, then a checkpoint.
func (s *postgresService) stopGracefully() error {
	return s.p.Stop(syscall.SIGINT, 30*time.Second)
}

// ---- Redis ----

type redisService struct {
	port int
	p    *proc.Proc
}

func newRedis(dir string, port int, onExit func(*proc.Proc, error)) (*redisService, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found: %w", err)
	}
	s := &redisService{port: port}
	s.p = proc.New(proc.Spec{
		Name: "redis", Dir: dir, LogFile: filepath.Join(dir, "redis.log"), OnExit: onExit, Env: cleanEnv(), Path: bin,
		Args: []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "no", "--daemonize", "no", "--logfile", "", "--dir", dir},
	})
	return s, nil
}

func (s *redisService) name() string           { return "redis" }
func (s *redisService) owns(p *proc.Proc) bool { return p == s.p }
func (s *redisService) url() string            { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

func (s *redisService) start(ctx context.Context) error {
	if err := s.p.Start(); err != nil {
		return err
	}
	return proc.WaitReady(ctx, 30*time.Second, func(ctx context.Context) error {
		rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.port)})
		defer func() { _ = rdb.Close() }()
		return rdb.Ping(ctx).Err()
	}, s.p)
}

func (s *redisService) crash() error          { return s.p.Stop(syscall.SIGKILL, 5*time.Second) }
func (s *redisService) stopGracefully() error { return s.p.Stop(syscall.SIGTERM, 15*time.Second) }

// ---- RabbitMQ ----

// rabbitService is a RabbitMQ node of the run's own next to any system one:
// its own node name, AMQP and distribution ports, data, logs, config, an
// empty plugin list, its own Erlang cookie (HOME) and its own epmd on a
// private port, so nothing of the machine's broker is touched.
type rabbitService struct {
	port     int
	epmdPort int
	node     string
	epmd     *proc.Proc
	p        *proc.Proc
}

func findRabbit() (string, error) {
	if p := os.Getenv("CHAOS_RABBITMQ_SERVER"); p != "" {
		return p, nil
	}
	// The Debian wrapper in /usr/sbin switches to the rabbitmq user; the
	// script behind it runs the node as whoever calls it.
	for _, p := range []string{"/usr/lib/rabbitmq/bin/rabbitmq-server"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("rabbitmq-server"); err == nil {
		return p, nil
	}
	return "", errors.New("rabbitmq-server not found; set CHAOS_RABBITMQ_SERVER")
}

func newRabbit(dir string, port, distPort, epmdPort int, suffix string, onExit func(*proc.Proc, error)) (*rabbitService, error) {
	server, err := findRabbit()
	if err != nil {
		return nil, err
	}
	epmdBin, err := exec.LookPath("epmd")
	if err != nil {
		matches, _ := filepath.Glob("/usr/lib/erlang/erts-*/bin/epmd")
		if len(matches) == 0 {
			return nil, fmt.Errorf("epmd not found: %w", err)
		}
		epmdBin = matches[len(matches)-1]
	}
	base := filepath.Join(dir, "rabbitmq")
	home := filepath.Join(base, "home")
	for _, d := range []string{base, home, filepath.Join(base, "mnesia"), filepath.Join(base, "log")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	conf := filepath.Join(base, "rabbitmq.conf")
	files := map[string]string{
		conf:                                     fmt.Sprintf("listeners.tcp.1 = 127.0.0.1:%d\nloopback_users.guest = true\n", port),
		filepath.Join(base, "rabbitmq-env.conf"): "",
		filepath.Join(base, "enabled_plugins"):   "[].\n",
	}
	for path, content := range files {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return nil, err
		}
	}
	s := &rabbitService{port: port, epmdPort: epmdPort, node: "chaos-" + suffix + "@localhost"}
	erlEnv := []string{"HOME=" + home, "ERL_EPMD_PORT=" + strconv.Itoa(epmdPort), "ERL_EPMD_ADDRESS=127.0.0.1"}
	s.epmd = proc.New(proc.Spec{
		Name: "epmd", Dir: base, LogFile: filepath.Join(dir, "epmd.log"), OnExit: onExit, Env: cleanEnv(erlEnv...),
		Path: epmdBin, Args: []string{"-port", strconv.Itoa(epmdPort), "-address", "127.0.0.1"},
	})
	s.p = proc.New(proc.Spec{
		Name: "rabbitmq", Dir: base, LogFile: filepath.Join(dir, "rabbitmq.log"), OnExit: onExit, Path: server,
		Env: append(cleanEnv(erlEnv...),
			"RABBITMQ_NODENAME="+s.node,
			"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
			"RABBITMQ_NODE_PORT="+strconv.Itoa(port),
			"RABBITMQ_DIST_PORT="+strconv.Itoa(distPort),
			"RABBITMQ_CONF_ENV_FILE="+filepath.Join(base, "rabbitmq-env.conf"),
			"RABBITMQ_CONFIG_FILE="+conf,
			"RABBITMQ_ADVANCED_CONFIG_FILE="+filepath.Join(base, "advanced.config"),
			"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(base, "enabled_plugins"),
			"RABBITMQ_MNESIA_BASE="+filepath.Join(base, "mnesia"),
			"RABBITMQ_LOG_BASE="+filepath.Join(base, "log"),
			"RABBITMQ_LOGS=-",
			"RABBITMQ_PID_FILE="+filepath.Join(base, "rabbitmq.pid"),
			// Makes the script exec the Erlang VM instead of running it as a
			// child behind a signal-forwarding shell: the VM is then our
			// direct child, gets the parent-death signal, and a kill -9 of
			// it is a kill -9 of the broker.
			"RUNNING_UNDER_SYSTEMD=true",
			// Distribution on loopback only, like everything else.
			"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}",
		),
	})
	return s, nil
}

func (s *rabbitService) name() string           { return "rabbitmq" }
func (s *rabbitService) owns(p *proc.Proc) bool { return p == s.p }
func (s *rabbitService) url() string            { return fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", s.port) }

func (s *rabbitService) start(ctx context.Context) error {
	if !s.epmd.Running() {
		if err := s.epmd.Start(); err != nil {
			return err
		}
		epmd := proc.Listening(net.JoinHostPort("127.0.0.1", strconv.Itoa(s.epmdPort)))
		if err := proc.WaitReady(ctx, 10*time.Second, epmd, s.epmd); err != nil {
			return err
		}
	}
	if err := s.p.Start(); err != nil {
		return err
	}
	return proc.WaitReady(ctx, 120*time.Second, func(ctx context.Context) error {
		conn, err := amqp.DialConfig(s.url(), amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
		if err != nil {
			return err
		}
		return conn.Close()
	}, s.p)
}

func (s *rabbitService) crash() error          { return s.p.Stop(syscall.SIGKILL, 5*time.Second) }
func (s *rabbitService) stopGracefully() error { return s.p.Stop(syscall.SIGTERM, 60*time.Second) }

// queueDepth is the number of ready messages in queue (passive declare).
func (s *rabbitService) queueDepth(queue string) (int, error) {
	conn, err := amqp.DialConfig(s.url(), amqp.Config{Dial: amqp.DefaultDial(3 * time.Second)})
	if err != nil {
		return 0, err
	}
	defer func() { _ = conn.Close() }()
	ch, err := conn.Channel()
	if err != nil {
		return 0, err
	}
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		return 0, err
	}
	return q.Messages, nil
}

// ---- Temporal ----

// temporalService is a Temporal server persisted to a file in the run's
// directory, restarted on the same file and port.
type temporalService struct {
	srv *localtemporal.Server
}

func newTemporal(dir string, port int, onExit func(*proc.Proc, error)) (*temporalService, error) {
	srv, err := localtemporal.New(localtemporal.Options{
		Port: port, Headless: true, DBFile: filepath.Join(dir, "temporal.db"), LogFile: filepath.Join(dir, "temporal.log"),
		SearchAttributes: workflows.SearchAttributes, OnExit: onExit, StartTimeout: 90 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	return &temporalService{srv: srv}, nil
}

func (s *temporalService) name() string                    { return "temporal" }
func (s *temporalService) owns(p *proc.Proc) bool          { return slices.Contains(s.srv.Processes(), p) }
func (s *temporalService) address() string                 { return s.srv.Address() }
func (s *temporalService) start(ctx context.Context) error { return s.srv.Start(ctx) }
func (s *temporalService) crash() error                    { return s.stop(syscall.SIGKILL, 5*time.Second) }
func (s *temporalService) stopGracefully() error           { return s.stop(syscall.SIGTERM, 15*time.Second) }

func (s *temporalService) stop(sig syscall.Signal, grace time.Duration) error {
	var errs []error
	for _, p := range s.srv.Processes() {
		errs = append(errs, p.Stop(sig, grace))
	}
	return errors.Join(errs...)
}
