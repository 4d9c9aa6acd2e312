package rabbitmq

import (
	"context"
	"log/slog"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/testkit"
)

// waitTimeout bounds every wait on the broker.
const waitTimeout = testkit.Wait

func brokerURL() string { return testkit.RabbitMQURL }

func testLogger() *slog.Logger { return testkit.Logger() }

func suffix() string { return testkit.Suffix() }

// names returns an exchange and a queue unique to this test, deleted (with
// their dead-letter companions) when the test ends. Called first, so that
// runs after every other cleanup has stopped publishers and consumers.
func names(t *testing.T) (exchange, queue string) {
	t.Helper()
	b := testkit.NewBroker(t)
	return b.Exchange, b.Queue
}

// adminChannel is the test's own view of the broker, independent of the
// code under test.
func adminChannel(t *testing.T) *amqp.Channel {
	t.Helper()
	return testkit.NewBroker(t).Admin
}

// rawQueue declares a durable queue bound to exchange with key and returns
// a manual-ack consumer on it.
func rawQueue(t *testing.T, ch *amqp.Channel, exchange, queue, key string) <-chan amqp.Delivery {
	t.Helper()
	if err := declareExchange(ch, exchange); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		t.Fatalf("declare queue: %v", err)
	}
	if err := ch.QueueBind(queue, key, exchange, false, nil); err != nil {
		t.Fatalf("bind queue: %v", err)
	}
	return rawConsume(t, ch, queue)
}

func rawConsume(t *testing.T, ch *amqp.Channel, queue string) <-chan amqp.Delivery {
	t.Helper()
	d, err := ch.Consume(queue, "", false, false, false, false, nil)
	if err != nil {
		t.Fatalf("consume %s: %v", queue, err)
	}
	return d
}

func recv(t *testing.T, deliveries <-chan amqp.Delivery) amqp.Delivery {
	t.Helper()
	d := testkit.Receive(t, deliveries)
	if err := d.Ack(false); err != nil {
		t.Fatalf("ack: %v", err)
	}
	return d
}

func newPublisher(t *testing.T, exchange string) *Publisher {
	t.Helper()
	p := NewPublisher(brokerURL(), exchange, testLogger())
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close publisher: %v", err)
		}
	})
	return p
}

func newConsumer(exchange, queue string, prefetch int) *Consumer {
	c := NewConsumer(brokerURL(), exchange, queue, prefetch, testLogger())
	c.minBackoff, c.maxBackoff = 20*time.Millisecond, 200*time.Millisecond
	c.minRetry, c.maxRetry = 20*time.Millisecond, 200*time.Millisecond
	return c
}

// startConsumer runs c until the test ends and returns a channel signalled
// each time a session starts consuming, plus a stop function that cancels
// Run and checks that it returned nil.
func startConsumer(t *testing.T, c *Consumer, handle func(context.Context, amqp.Delivery) error) (ready <-chan struct{}, stop func()) {
	t.Helper()
	readyCh := make(chan struct{}, 16)
	c.onReady = func() { readyCh <- struct{}{} }
	return readyCh, testkit.Run(t, nil, func(ctx context.Context) error { return c.Run(ctx, handle) })
}

func waitReady(t *testing.T, ready <-chan struct{}) {
	t.Helper()
	testkit.Ready(t, ready, "consumer did not start consuming")
}

func testEvent(typ bank.EventType) bank.Event {
	return bank.Event{
		ID:   string(typ) + "/" + suffix(),
		Type: typ,
		// Whole seconds: the AMQP timestamp has second resolution.
		OccurredAt:    time.Now().UTC().Truncate(time.Second),
		UserID:        "user-" + suffix(),
		AccountNumber: "0123456789",
		Reference:     "ref-" + suffix(),
		Amount:        "1500.50",
	}
}

func ctxTimeout(t *testing.T) context.Context { return testkit.Context(t, 1) }
