// Package postgres implements the stores on PostgreSQL with pgx: one file per
// aggregate, transactions through closures, border translation of
// constraint violations into bank error codes.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/bankcore/bank/migrations"
)

// The stores, one per aggregate, each on the pool of its schema's database
// (one pool while the schemas share one database).
type (
	// Users is the auth schema's store.
	Users struct{ pool *pgxpool.Pool }
	// Accounts is the ledger schema's account store.
	Accounts struct {
		pool *pgxpool.Pool
		settings
	}
	// Ledger is the ledger schema's posting store.
	Ledger struct {
		pool *pgxpool.Pool
		settings
	}
	// Notifications is the notify schema's store.
	Notifications struct{ pool *pgxpool.Pool }
)

// NewUsers returns the users store.
func NewUsers(pool *pgxpool.Pool) *Users { return &Users{pool: pool} }

// NewAccounts returns the account store. Its clock (WithClock) says which
// day daily_debit_used is today's.
func NewAccounts(pool *pgxpool.Pool, opts ...Option) *Accounts {
	return &Accounts{pool: pool, settings: newSettings(opts)}
}

// NewLedger returns the ledger store: time.Now as its clock and no approval
// unless options say otherwise (WithClock, WithApproval).
func NewLedger(pool *pgxpool.Pool, opts ...Option) *Ledger {
	return &Ledger{pool: pool, settings: newSettings(opts)}
}

// NewNotifications returns the notification store.
func NewNotifications(pool *pgxpool.Pool) *Notifications { return &Notifications{pool: pool} }

// Connect opens a pool and checks the server answers.
func Connect(ctx context.Context, dsn string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("reach PostgreSQL at %s: %w", redact(dsn), err)
	}
	return pool, nil
}

// EnsureDatabase creates the database named in dsn when it does not exist,
// connecting to the server's maintenance database to do so.
func EnsureDatabase(ctx context.Context, dsn string) (created bool, err error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return false, fmt.Errorf("parse database url: %w", err)
	}
	name := cfg.Database
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("reach PostgreSQL at %s: %w", redact(dsn), err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return false, fmt.Errorf("look up database %q: %w", name, err)
	}
	if exists {
		return false, nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // created concurrently
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create database %q: %w", name, err)
	}
	return true, nil
}

// DropDatabase drops the database named in dsn, closing other sessions first.
// Tests use it to clean up the database they created.
func DropDatabase(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return err
	}
	name := cfg.Database
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(ctx) }()
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// Migrate applies every pending migration. A session advisory lock makes
// concurrent starts (several processes of `make run`, replicas) safe.
func Migrate(ctx context.Context, dsn string, logger *slog.Logger) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("parse database url: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	defer func() { _ = db.Close() }()
	return migrate(ctx, db, logger)
}

func migrate(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS,
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true),
		// Each schema has its own migrations and none depends on another's,
		// so a version landing late (a branch merged after a later one) is
		// applied rather than refused.
		goose.WithAllowOutofOrder(true))
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	for _, r := range results {
		logger.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	return nil
}

// redact hides the password of a connection URL for error messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		if i := strings.Index(dsn, "@"); i > 0 {
			return "***" + dsn[i:]
		}
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "***")
	}
	return u.String()
}

func isUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && (constraint == "" || pgErr.ConstraintName == constraint)
}
