// Package testsvc gives tests their own slice of the real services: a fresh
// PostgreSQL database (dropped afterwards), unique RabbitMQ exchange/queue
// names, a unique Redis channel prefix, free ports, and a Temporal dev
// server shared by the tests of one package. Nothing here is a mock, and
// parallel packages, CI and a running `make run` never collide.
package testsvc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/bankcore/bank/internal/localtemporal"
	"github.com/bankcore/bank/internal/postgres"
	"github.com/bankcore/bank/workflows"
)

// Service defaults, overridable like the real configuration.
var (
	PostgresURL = envOr("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	RabbitMQURL = envOr("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
	RedisURL    = envOr("REDIS_URL", "redis://127.0.0.1:6379/0")
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// Suffix returns a short random token for unique names.
func Suffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Database creates a migrated database of its own for t and drops it when t
// ends. It returns the connection URL.
func Database(t testing.TB) string {
	t.Helper()
	dsn, drop, err := CreateDatabase()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return dsn
}

// CreateDatabase is Database for callers without a test: the caller drops
// the database with the returned function.
func CreateDatabase() (dsn string, drop func() error, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn = withDatabase(PostgresURL, "bank_test_"+Suffix())
	if _, err := postgres.EnsureDatabase(ctx, dsn); err != nil {
		return "", nil, fmt.Errorf("create test database (is PostgreSQL up on 127.0.0.1:5432?): %w", err)
	}
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return postgres.DropDatabase(ctx, dsn)
	}
	if err := postgres.Migrate(ctx, dsn, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		_ = drop()
		return "", nil, fmt.Errorf("migrate test database: %w", err)
	}
	return dsn, drop, nil
}

func withDatabase(dsn, name string) string {
	// Replace the path of a URL-form DSN: postgres://host:port/<db>?params
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsn + " dbname=" + name
	}
	hostPart, query, _ := strings.Cut(rest, "?")
	host, _, _ := strings.Cut(hostPart, "/")
	out := scheme + "://" + host + "/" + name
	if query != "" {
		out += "?" + query
	}
	return out
}

var (
	cleanupMu sync.Mutex
	cleanups  []func() // run by Main after the package's tests, last first

	temporalOnce sync.Once
	temporalSrv  *localtemporal.Server
	temporalErr  error
)

// Temporal returns the address of the package's Temporal dev server,
// starting it on free ports at first use. Main stops it.
func Temporal(t testing.TB) string {
	t.Helper()
	temporalOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		temporalSrv, temporalErr = localtemporal.Start(ctx, localtemporal.Options{
			Headless:         true,
			SearchAttributes: workflows.SearchAttributes,
		})
	})
	if temporalErr != nil {
		t.Helper()
		t.Fatalf("start Temporal dev server (run `make temporal` to build the CLI): %v", temporalErr)
	}
	return temporalSrv.Address()
}

// Main runs a package's tests and then stops the shared dev server. Use it
// as `func TestMain(m *testing.M) { testsvc.Main(m) }`.
func Main(m *testing.M) {
	code := m.Run()
	cleanupMu.Lock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	cleanupMu.Unlock()
	if temporalSrv != nil {
		if err := temporalSrv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop Temporal dev server:", err)
		}
	}
	os.Exit(code)
}

// AtPackageEnd registers f to run after the package's tests (by Main).
func AtPackageEnd(f func()) {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	cleanups = append(cleanups, f)
}

// Namespace registers a fresh namespace with the bank's search attributes on
// the server at address, so stacks sharing one dev server never pick up each
// other's workflows.
func Namespace(ctx context.Context, address string) (string, error) {
	name := "test-" + Suffix()
	nc, err := client.NewNamespaceClient(client.Options{HostPort: address})
	if err != nil {
		return "", fmt.Errorf("namespace client: %w", err)
	}
	defer nc.Close()
	err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        name,
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	})
	if err != nil {
		return "", fmt.Errorf("register namespace %s: %w", name, err)
	}
	if err := localtemporal.EnsureSearchAttributes(ctx, address, name, workflows.SearchAttributes); err != nil {
		return "", err
	}
	return name, nil
}
