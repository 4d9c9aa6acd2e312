// Package stack starts what the system benchmark runs against, all on free
// ports and under names of its own: a tuned Temporal dev server in its own
// process (so its CPU can be read from /proc), a fresh database and
// namespace, its own exchange, queue and Redis prefix, and the bank
// in-process: instance A (API + workers + notifier, like `bank all`, so the
// API's eager start finds a local worker) and instance B (API only), both
// serving notifications.
package stack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/bankcore/bank/internal/app"
	"github.com/bankcore/bank/internal/config"
	"github.com/bankcore/bank/internal/postgres"
	"github.com/bankcore/bank/internal/temporaldev"
	"github.com/bankcore/bank/internal/testsvc"
	"github.com/bankcore/bank/workflows"
)

// Options choose the settings the report names.
type Options struct {
	BcryptCost int
	Log        io.Writer // the bank's and the server's logs
	Env        map[string]string
}

// Stack is a running system.
type Stack struct {
	Server    *temporaldev.Server
	A, B      *app.App
	Config    config.Config
	URLA      string // API + workers + notifier
	URLB      string // API only
	Database  string // database name
	Namespace string

	OperatorEmail, OperatorPassword string

	drop func() error
}

// Start brings everything up; on error nothing is left running.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	s := &Stack{}
	defer func() {
		if err != nil {
			_ = s.Stop()
		}
	}()
	logger := slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if s.Server, err = temporaldev.Start(ctx, temporaldev.Options{
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
	env := map[string]string{
		"TEMPORAL_ADDRESS":         s.Server.Address(),
		"TEMPORAL_NAMESPACE":       s.Namespace,
		"DATABASE_URL":             dsn,
		"RABBITMQ_URL":             testsvc.RabbitMQURL,
		"BANK_EVENTS_EXCHANGE":     "bank.events.bench-" + suffix,
		"BANK_NOTIFIER_QUEUE":      "bank.notifier.bench-" + suffix,
		"REDIS_URL":                testsvc.RedisURL,
		"BANK_REDIS_PREFIX":        "bench-" + suffix + ":",
		"HTTP_ADDR":                "127.0.0.1:0",
		"METRICS_ADDR":             "127.0.0.1:0",
		"JWT_SECRET":               randomKey(),
		"IDENTITY_KEY":             randomKey(),
		"PAYLOAD_KEY":              "bench:" + randomKey(),
		"BCRYPT_COST":              strconv.Itoa(o.BcryptCost),
		"BANK_RATE_REGISTER":       "0",
		"BANK_RATE_LOGIN_FAILURES": "0",
		// A registration is a workflow with three regular activities; under
		// load it may take more than the default 5 s, and setup wants 201s.
		"BANK_REGISTRATION_WAIT": "60s",
	}
	for k, v := range o.Env {
		env[k] = v
	}
	if s.Config, err = config.FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		return nil, err
	}
	if s.A, err = app.Start(ctx, s.Config, logger.With("instance", "A"), app.Roles{API: true, Worker: true, Notifier: true}); err != nil {
		return nil, fmt.Errorf("start instance A: %w", err)
	}
	if s.B, err = app.Start(ctx, s.Config, logger.With("instance", "B"), app.Roles{API: true}); err != nil {
		return nil, fmt.Errorf("start instance B: %w", err)
	}
	s.URLA, s.URLB = "http://"+s.A.Addr(), "http://"+s.B.Addr()

	// The operator who funds the accounts, as `make run` creates one.
	s.OperatorEmail, s.OperatorPassword = "operator-"+suffix+"@bank.local", "operator-password-"+suffix
	hash, err := bcrypt.GenerateFromPassword([]byte(s.OperatorPassword), o.BcryptCost)
	if err != nil {
		return nil, err
	}
	pool, err := postgres.Connect(ctx, dsn, 1)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if _, err := postgres.NewUsers(pool).EnsureOperator(ctx, s.OperatorEmail, "Bench Operator", string(hash)); err != nil {
		return nil, fmt.Errorf("create operator: %w", err)
	}
	return s, nil
}

// Stop shuts the bank down, stops the server, drops the database and the
// broker objects.
func (s *Stack) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	for _, a := range []*app.App{s.B, s.A} {
		if a != nil {
			if err := a.Shutdown(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if s.Config.EventsExchange != "" {
		deleteBrokerObjects(s.Config)
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
	return errors.Join(errs...)
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

func randomKey() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

func deleteBrokerObjects(cfg config.Config) {
	conn, err := amqp.Dial(cfg.RabbitMQURL)
	if err != nil {
		return
	}
	defer func() { _ = conn.Close() }()
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	_, _ = ch.QueueDelete(cfg.NotifierQueue, false, false, false)
	_, _ = ch.QueueDelete(cfg.NotifierQueue+".dead", false, false, false)
	_ = ch.ExchangeDelete(cfg.EventsExchange, false, false)
	_ = ch.ExchangeDelete(cfg.EventsExchange+".dlx", false, false)
}

// Versions names what ran: the Temporal CLI (and the server it embeds),
// PostgreSQL, RabbitMQ, Redis.
func Versions(ctx context.Context, cfg config.Config) map[string]string {
	v := map[string]string{}
	if cli, err := temporaldev.FindCLI(); err == nil {
		if out, err := exec.CommandContext(ctx, cli, "--version").Output(); err == nil {
			v["temporal_cli"] = strings.TrimSpace(string(out))
		}
		v["temporal_cli_module"] = "github.com/temporalio/cli v" + temporaldev.CLIVersion
	}
	if pool, err := postgres.Connect(ctx, cfg.DatabaseURL, 1); err == nil {
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
	if conn, err := amqp.Dial(cfg.RabbitMQURL); err == nil {
		if s, ok := conn.Properties["version"].(string); ok {
			v["rabbitmq"] = s
		}
		_ = conn.Close()
	}
	if opts, err := redis.ParseURL(cfg.RedisURL); err == nil {
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
	return v
}
