package notifier

import (
	"context"
	"log/slog"
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
	"github.com/bankcore/bank/internal/testkit"
	"github.com/bankcore/bank/internal/testsvc"
)

// waitTimeout bounds every wait.
const waitTimeout = testkit.Wait

func suffix() string { return testkit.Suffix() }

func testLogger() *slog.Logger { return testkit.Logger() }

func ctxFor(t *testing.T) context.Context { return testkit.Context(t, 3) }

// newDatabase creates a migrated database for this test alone and drops it
// when the test ends.
func newDatabase(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := postgres.Connect(ctxFor(t), testsvc.Database(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func newRedis(t *testing.T) *redis.Client { return testkit.Redis(t) }

// broker is one test's corner of RabbitMQ: its own exchange and queues,
// deleted at the end, and an admin channel independent of the code under
// test.
type broker struct {
	exchange, queue string
	admin           *amqp.Channel
}

func newBroker(t *testing.T) *broker {
	t.Helper()
	k := testkit.NewBroker(t)
	b := &broker{exchange: k.Exchange, queue: k.Queue, admin: k.Admin}
	// Declared before anything is published, so no event is dropped for
	// want of a queue.
	if err := b.consumer().Declare(ctxFor(t)); err != nil {
		t.Fatalf("declare: %v", err)
	}
	return b
}

func (b *broker) consumer() *rabbitmq.Consumer {
	return rabbitmq.NewConsumer(testkit.RabbitMQURL, b.exchange, b.queue, 8, testLogger())
}

func (b *broker) publisher(t *testing.T) *rabbitmq.Publisher {
	p := rabbitmq.NewPublisher(testkit.RabbitMQURL, b.exchange, testLogger())
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
	stop = testkit.Run(t, nil, func(ctx context.Context) error {
		return b.consumer().Run(ctx, func(ctx context.Context, d amqp.Delivery) error {
			err := n.Handle(ctx, d)
			ch <- handled{d.MessageId, d.Redelivered, err}
			return err
		})
	})
	return ch, stop
}

func nextCall(t *testing.T, calls <-chan handled) handled {
	t.Helper()
	return testkit.Receive(t, calls)
}

// startHub runs a fan-out hub, as an API instance would, and waits until it
// is subscribed.
func startHub(t *testing.T, rdb *redis.Client, prefix string) *fanout.Hub {
	t.Helper()
	hub := fanout.NewHub(rdb, prefix, testLogger())
	testkit.Run(t, hub.Ready(), hub.Run)
	return hub
}

func receive(t *testing.T, ch <-chan bank.Notification) bank.Notification {
	t.Helper()
	return testkit.Receive(t, ch)
}

func expectNothing(t *testing.T, ch <-chan bank.Notification) {
	t.Helper()
	testkit.Nothing(t, ch, testkit.Quiet, false)
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
