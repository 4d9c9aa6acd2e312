package notifier

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/fanout"
	"github.com/bankcore/bank/internal/postgres"
	"github.com/bankcore/bank/internal/rabbitmq"
)

// waitTimeout bounds every wait; generous because -race slows things down.
const waitTimeout = 10 * time.Second

func suffix() string { return strings.ToLower(rand.Text()[:12]) }

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// newDatabase creates a migrated database for this test alone and drops it
// when the test ends.
func newDatabase(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx := ctxFor(t)
	u, err := url.Parse(env("TEST_DATABASE_URL", env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")))
	if err != nil {
		t.Fatalf("database url: %v", err)
	}
	u.Path = "/bank_test_" + suffix()
	dsn := u.String()
	if _, err := postgres.EnsureDatabase(ctx, dsn); err != nil {
		t.Fatalf("PostgreSQL is needed for these tests (set TEST_DATABASE_URL): %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := postgres.DropDatabase(ctx, dsn); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	if err := postgres.Migrate(ctx, dsn, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	pool, err := postgres.Connect(ctx, dsn, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func newRedis(t *testing.T) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(env("REDIS_URL", "redis://127.0.0.1:6379/0"))
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.Ping(ctxFor(t)).Err(); err != nil {
		t.Fatalf("Redis is needed for these tests (set REDIS_URL): %v", err)
	}
	return rdb
}

func brokerURL() string { return env("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/") }

// broker is one test's corner of RabbitMQ: its own exchange and queues,
// deleted at the end, and an admin channel independent of the code under
// test.
type broker struct {
	exchange, queue string
	admin           *amqp.Channel
}

func newBroker(t *testing.T) *broker {
	t.Helper()
	s := suffix()
	b := &broker{exchange: "bank.events.test-" + s, queue: "bank.notifier.test-" + s}
	conn, err := amqp.Dial(brokerURL())
	if err != nil {
		t.Fatalf("RabbitMQ is needed for these tests (set RABBITMQ_URL): %v", err)
	}
	// Registered first so it runs last, after consumers and publishers
	// have stopped.
	t.Cleanup(func() {
		defer func() { _ = conn.Close() }()
		ch, err := conn.Channel()
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		for _, q := range []string{b.queue, b.queue + ".dead"} {
			if _, err := ch.QueueDelete(q, false, false, false); err != nil {
				t.Errorf("cleanup: delete queue %s: %v", q, err)
			}
		}
		for _, x := range []string{b.exchange, b.exchange + ".dlx"} {
			if err := ch.ExchangeDelete(x, false, false); err != nil {
				t.Errorf("cleanup: delete exchange %s: %v", x, err)
			}
		}
	})
	if b.admin, err = conn.Channel(); err != nil {
		t.Fatalf("admin channel: %v", err)
	}
	// Declared before anything is published, so no event is dropped for
	// want of a queue.
	if err := b.consumer().Declare(ctxFor(t)); err != nil {
		t.Fatalf("declare: %v", err)
	}
	return b
}

func (b *broker) consumer() *rabbitmq.Consumer {
	return rabbitmq.NewConsumer(brokerURL(), b.exchange, b.queue, 8, testLogger())
}

func (b *broker) publisher(t *testing.T) *rabbitmq.Publisher {
	p := rabbitmq.NewPublisher(brokerURL(), b.exchange, testLogger())
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// messages returns how many messages wait in queue (not counting ones
// delivered and not yet acknowledged).
func (b *broker) messages(t *testing.T, queue string) int {
	t.Helper()
	args := amqp.Table(nil)
	if queue == b.queue {
		args = amqp.Table{"x-dead-letter-exchange": b.exchange + ".dlx"}
	}
	q, err := b.admin.QueueDeclarePassive(queue, true, false, false, false, args)
	if err != nil {
		t.Fatalf("inspect queue %s: %v", queue, err)
	}
	return q.Messages
}

// handled is what one call of the handler saw and returned.
type handled struct {
	messageID   string
	redelivered bool
	err         error
}

// runNotifier runs n on b's queue until stop is called or the test ends,
// reporting every handled delivery. The notifier under test is the real
// one; the wrapper only watches.
func runNotifier(t *testing.T, b *broker, n *Notifier) (calls <-chan handled, stop func()) {
	t.Helper()
	ch := make(chan handled, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- b.consumer().Run(ctx, func(ctx context.Context, d amqp.Delivery) error {
			err := n.Handle(ctx, d)
			ch <- handled{d.MessageId, d.Redelivered, err}
			return err
		})
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("consumer Run = %v", err)
				}
			case <-time.After(waitTimeout):
				t.Error("consumer did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return ch, stop
}

func nextCall(t *testing.T, calls <-chan handled) handled {
	t.Helper()
	select {
	case c := <-calls:
		return c
	case <-time.After(waitTimeout):
		t.Fatal("no delivery was handled")
	}
	panic("unreachable")
}

// startHub runs a fan-out hub, as an API instance would, and waits until it
// is subscribed.
func startHub(t *testing.T, rdb *redis.Client, prefix string) *fanout.Hub {
	t.Helper()
	hub := fanout.NewHub(rdb, prefix, testLogger())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hub: %v", err)
		}
	})
	select {
	case <-hub.Ready():
	case <-time.After(waitTimeout):
		t.Fatal("hub did not subscribe")
	}
	return hub
}

func receive(t *testing.T, ch <-chan bank.Notification) bank.Notification {
	t.Helper()
	select {
	case n, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed")
		}
		return n
	case <-time.After(waitTimeout):
		t.Fatal("no notification arrived")
	}
	panic("unreachable")
}

func expectNothing(t *testing.T, ch <-chan bank.Notification) {
	t.Helper()
	select {
	case n := <-ch:
		t.Errorf("unexpected notification %+v", n)
	case <-time.After(300 * time.Millisecond):
	}
}

func transferEvent() bank.Event {
	return bank.Event{
		ID:                 "transfer/" + uuid.NewString() + "/ref-" + suffix(),
		Type:               bank.EventTransferCompleted,
		OccurredAt:         time.Now().UTC().Truncate(time.Second),
		UserID:             uuid.NewString(),
		CounterpartyID:     uuid.NewString(),
		AccountNumber:      "0123456789",
		CounterpartAccount: "9876543210",
		Reference:          "ref-" + suffix(),
		Amount:             "1500.50",
	}
}
