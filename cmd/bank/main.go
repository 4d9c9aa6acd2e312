// Command bank runs the bank's processes: api, worker, notifier, all (the
// three in one process), serve (any of the three in one process), migrate,
// and operator create.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/crypto/bcrypt"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/app"
	"github.com/bankcore/bank/internal/config"
	"github.com/bankcore/bank/internal/postgres"
)

const usage = `usage: bank <command>

commands:
  api                    serve the HTTP API (REST, GraphQL, health, metrics)
  worker                 run the Temporal workers of every task queue
  notifier               consume bank events and store/publish notifications
  all                    api, worker and notifier in one process
  serve ROLES            the roles listed (comma-separated: api, worker,
                         notifier) in one process, e.g. serve api,worker
  migrate                create the database if missing and apply migrations
  operator create --email E --password P [--if-missing]
                         create an operator account

Configuration comes from the environment; see README.md.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	logger := newLogger(stderr)
	slog.SetDefault(logger)
	cfg, err := config.FromEnv()
	if err != nil {
		logger.Error("configuration", "err", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch args[0] {
	case "api":
		err = serve(ctx, cfg, logger, app.Roles{API: true})
	case "worker":
		err = serve(ctx, cfg, logger, app.Roles{Worker: true})
	case "notifier":
		err = serve(ctx, cfg, logger, app.Roles{Notifier: true})
	case "all":
		err = serve(ctx, cfg, logger, app.Roles{API: true, Worker: true, Notifier: true})
	case "serve":
		var roles app.Roles
		if len(args) != 2 {
			err = errors.New("usage: bank serve ROLES (comma-separated: api, worker, notifier)")
		} else if roles, err = parseRoles(args[1]); err == nil {
			err = serve(ctx, cfg, logger, roles)
		}
	case "migrate":
		err = migrate(ctx, cfg, logger)
	case "operator":
		err = operator(ctx, cfg, logger, args[1:], stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stderr, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "bank: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var secrets *config.SecretsError
	if errors.As(err, &secrets) {
		// Several lines a person must read before anything starts.
		fmt.Fprintf(stderr, "bank %s: %v\n", args[0], err)
		return 2
	}
	if err != nil {
		logger.Error("bank "+args[0]+" failed", "err", err)
		return 1
	}
	return 0
}

// parseRoles reads serve's role list, such as "api,worker".
func parseRoles(list string) (app.Roles, error) {
	var r app.Roles
	for _, name := range strings.Split(list, ",") {
		switch strings.TrimSpace(name) {
		case "api":
			r.API = true
		case "worker":
			r.Worker = true
		case "notifier":
			r.Notifier = true
		default:
			return app.Roles{}, fmt.Errorf("serve: unknown role %q (want api, worker, notifier)", name)
		}
	}
	return r, nil
}

// newLogger logs text (or JSON with LOG_FORMAT=json) at LOG_LEVEL: debug,
// info (the default), warn or error.
func newLogger(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if v := os.Getenv("LOG_LEVEL"); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			level = slog.LevelInfo
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(os.Getenv("LOG_FORMAT"), "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serve runs roles until SIGINT/SIGTERM, then shuts down within the
// configured deadline.
func serve(ctx context.Context, cfg config.Config, logger *slog.Logger, roles app.Roles) error {
	// Checked before anything is dialled, so the refusal is the first and
	// only thing printed (app.Start checks again for its other callers).
	if err := cfg.CheckSecrets(config.SecretsFor(roles.API, roles.Worker)); err != nil {
		return err
	}
	a, err := app.Start(ctx, cfg, logger, roles)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		logger.Info("shutting down", "deadline", cfg.ShutdownTimeout)
	case <-a.Done():
		logger.Error("a component failed; shutting down", "err", a.Err())
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	return a.Shutdown(sctx)
}

func migrate(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	created, err := postgres.EnsureDatabase(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	if created {
		logger.Info("database created")
	}
	if err := postgres.Migrate(ctx, cfg.DatabaseURL, logger); err != nil {
		return err
	}
	logger.Info("migrations up to date")
	return nil
}

func operator(ctx context.Context, cfg config.Config, logger *slog.Logger, args []string, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: bank operator create --email E --password P [--if-missing]")
	}
	fs := flag.NewFlagSet("operator create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "operator email")
	password := fs.String("password", "", "operator password (at least 10 characters)")
	name := fs.String("name", "Bank Operator", "operator display name")
	ifMissing := fs.Bool("if-missing", false, "succeed quietly when the operator exists")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	addr, err := bank.NormalizeEmail(*email)
	if err != nil {
		return err
	}
	if err := bank.ValidatePassword(*password); err != nil {
		return err
	}
	if addr == config.DevOperatorEmail && *password == config.DevOperatorPassword {
		logger.Warn("SECURITY: the operator uses the development default credentials; set BANK_OPERATOR_EMAIL and BANK_OPERATOR_PASSWORD")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(*password), cfg.BcryptCost)
	if err != nil {
		return err
	}
	pool, err := postgres.Connect(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	created, err := postgres.NewUsers(pool).EnsureOperator(ctx, addr, *name, string(hash))
	if err != nil {
		return err
	}
	switch {
	case created:
		logger.Info("operator created", "email", addr)
	case *ifMissing:
		logger.Info("operator exists", "email", addr)
	default:
		return fmt.Errorf("an operator with email %s already exists", addr)
	}
	return nil
}
