// Package e2e tests the bank end to end through HTTP: the whole system runs
// in-process (API, workers, notifier) against real PostgreSQL, RabbitMQ,
// Redis and a Temporal dev server.
package e2e

import (
	"testing"

	"github.com/bankcore/bank/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
