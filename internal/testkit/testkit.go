// Package testkit holds what the tests of several packages share: waiting
// on a channel for what must come and for what must not, running a
// component until the test ends, a quiet logger, and a test's own corner of
// Redis and RabbitMQ (real services, never mocks). Of the bank's packages it
// imports only testsvc (for the services' addresses), so the adapters it
// serves (fanout, rabbitmq, notifier, graph) can use it in their tests.
package testkit

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/bankcore/bank/internal/testsvc"
)

// Wait bounds every wait on something that must happen: generous, because
// -race and a shared machine slow things down, and a healthy run never gets
// near it.
const Wait = 10 * time.Second

// Quiet is how long a test listens to be reasonably sure nothing arrives.
const Quiet = 300 * time.Millisecond

// Logger discards logs unless the tests run with -v: components log from
// goroutines that may outlive the test, where t.Log would panic.
func Logger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// Suffix is a short random token for names of the test's own.
func Suffix() string { return testsvc.Suffix() }

// Context is a context that ends after n Waits, or when the test does.
func Context(t testing.TB, n int) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(n)*Wait)
	t.Cleanup(cancel)
	return ctx
}

// Receive returns the next value from ch, failing the test when ch is
// closed or nothing arrives within Wait.
func Receive[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatal("channel closed, want a value")
		}
		return v
	case <-time.After(Wait):
		t.Fatalf("nothing arrived within %v", Wait)
	}
	panic("unreachable")
}

// Nothing fails the test when a value arrives on ch within quiet. A closed
// channel counts as a value unless closedIsNothing.
func Nothing[T any](t testing.TB, ch <-chan T, quiet time.Duration, closedIsNothing bool) {
	t.Helper()
	select {
	case v, ok := <-ch:
		if ok || !closedIsNothing {
			t.Errorf("unexpected %+v (open %v)", v, ok)
		}
	case <-time.After(quiet):
	}
}

// Closed fails the test unless ch is closed within Wait, with nothing left
// in it.
func Closed[T any](t testing.TB, ch <-chan T) {
	t.Helper()
	select {
	case v, ok := <-ch:
		if ok {
			t.Fatalf("got %+v, want the channel closed", v)
		}
	case <-time.After(Wait):
		t.Fatal("channel not closed")
	}
}

// Run runs f until stop is called or the test ends: stop cancels f's
// context and checks that f returns nil within Wait. When ready is not nil
// Run returns once it is signalled, and fails the test if f returns first.
func Run(t testing.TB, ready <-chan struct{}, f func(ctx context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v, want nil after cancel", err)
				}
			case <-time.After(Wait):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	if ready == nil {
		return stop
	}
	select {
	case <-ready:
	case err := <-done:
		done <- err // for stop
		t.Fatalf("Run returned before it was ready: %v", err)
	case <-time.After(Wait):
		t.Fatal("not ready within the wait")
	}
	return stop
}

// Ready waits for one signal on ready, failing the test after Wait.
func Ready(t testing.TB, ready <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ready:
	case <-time.After(Wait):
		t.Fatalf("%s within %v", what, Wait)
	}
}

// RedisURL and RabbitMQURL are the services the tests use (testsvc reads
// them from the environment).
var (
	RedisURL    = testsvc.RedisURL
	RabbitMQURL = testsvc.RabbitMQURL
)

// Redis is a client of the test's own, answering, closed when the test ends.
// Keep apart from other tests with a channel prefix of Suffix.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(RedisURL)
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis is needed for these tests (set REDIS_URL): %v", err)
	}
	return rdb
}

// Broker is a test's own corner of RabbitMQ: an exchange and a queue
// nobody else uses, deleted with their dead-letter companions when the test
// ends, and an admin channel independent of the code under test. Call it
// before starting publishers and consumers: its cleanup, registered first,
// runs after theirs.
type Broker struct {
	Exchange, Queue string
	Admin           *amqp.Channel
}

// NewBroker opens the test's corner of the broker.
func NewBroker(t testing.TB) *Broker {
	t.Helper()
	s := Suffix()
	b := &Broker{Exchange: "bank.events.test-" + s, Queue: "bank.notifier.test-" + s}
	conn, err := amqp.Dial(RabbitMQURL)
	if err != nil {
		t.Fatalf("RabbitMQ is needed for these tests (set RABBITMQ_URL): %v", err)
	}
	t.Cleanup(func() {
		defer func() { _ = conn.Close() }()
		ch, err := conn.Channel()
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		for _, q := range []string{b.Queue, b.Queue + ".dead"} {
			if _, err := ch.QueueDelete(q, false, false, false); err != nil {
				t.Errorf("cleanup: delete queue %s: %v", q, err)
			}
		}
		for _, x := range []string{b.Exchange, b.Exchange + ".dlx"} {
			if err := ch.ExchangeDelete(x, false, false); err != nil {
				t.Errorf("cleanup: delete exchange %s: %v", x, err)
			}
		}
	})
	if b.Admin, err = conn.Channel(); err != nil {
		t.Fatalf("admin channel: %v", err)
	}
	return b
}
