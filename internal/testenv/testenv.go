// Package testenv runs the whole bank in-process for tests (Stack, Client)
// on top of testsvc, which gives each test its own slice of the real
// services. Packages the app imports use testsvc directly.
package testenv

import (
	"context"
	"testing"

	"github.com/bankcore/bank/internal/testsvc"
)

// Service addresses, as testsvc reads them.
var (
	PostgresURL = testsvc.PostgresURL
	RabbitMQURL = testsvc.RabbitMQURL
	RedisURL    = testsvc.RedisURL
)

// Suffix returns a short random token for unique names.
func Suffix() string { return testsvc.Suffix() }

// Database creates a migrated database for t, dropped when t ends.
func Database(t testing.TB) string { t.Helper(); return testsvc.Database(t) }

// Temporal returns the package's shared Temporal dev server address.
func Temporal(t testing.TB) string { t.Helper(); return testsvc.Temporal(t) }

// Namespace registers a fresh namespace with the bank's search attributes.
func Namespace(ctx context.Context, address string) (string, error) {
	return testsvc.Namespace(ctx, address)
}

// Main runs the package's tests, then stops what they shared.
func Main(m *testing.M) { testsvc.Main(m) }
