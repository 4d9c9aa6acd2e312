package postgres

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The package's tests share one database, created and migrated by TestMain
// and dropped when they end, so they never touch a developer's data and run
// alongside other packages' tests. Tests keep out of each other's way by
// using fresh random ids (users, events, references), not by truncating.
var (
	testDSN  string
	testPool *pgxpool.Pool
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn, err := testDatabaseURL("bank_test_" + strings.ToLower(rand.Text()[:12]))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := EnsureDatabase(ctx, dsn); err != nil {
		fmt.Fprintf(os.Stderr, "PostgreSQL is needed for these tests (set TEST_DATABASE_URL): %v\n", err)
		return 1
	}
	defer func() {
		dropCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := DropDatabase(dropCtx, dsn); err != nil {
			fmt.Fprintf(os.Stderr, "drop test database: %v\n", err)
		}
	}()
	if err := Migrate(ctx, dsn, slog.New(slog.DiscardHandler)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if testPool, err = Connect(ctx, dsn, 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer testPool.Close()
	testDSN = dsn
	return m.Run()
}

// testDatabaseURL returns the URL of database name on the test server:
// TEST_DATABASE_URL, else DATABASE_URL, else the local default, with its
// database replaced.
func testDatabaseURL(name string) (string, error) {
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		base = os.Getenv("DATABASE_URL")
	}
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("test database url: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}
