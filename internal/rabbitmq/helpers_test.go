package rabbitmq

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bankcore/bank/bank"
)

// waitTimeout bounds every wait on the broker; generous because -race slows
// things down, and a healthy run never gets near it.
const waitTimeout = 5 * time.Second

func brokerURL() string {
	if u := os.Getenv("RABBITMQ_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

// testLogger discards logs unless -v: background goroutines may log after
// the test returned, when t.Log would panic.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func suffix() string { return strings.ToLower(rand.Text()[:12]) }

// names returns an exchange and a queue unique to this test, shared with
// nobody else on the broker, and deletes them (and their dead-letter
// companions) when the test ends. Registered first, so it runs after every
// other cleanup has stopped publishers and consumers.
func names(t *testing.T) (exchange, queue string) {
	t.Helper()
	s := suffix()
	exchange, queue = "bank.events.test-"+s, "bank.notifier.test-"+s
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		conn, _, err := dial(ctx, brokerURL(), "bank-test-cleanup")
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer func() { _ = conn.Close() }()
		ch, err := conn.Channel()
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		for _, q := range []string{queue, queue + ".dead"} {
			if _, err := ch.QueueDelete(q, false, false, false); err != nil {
				t.Errorf("cleanup: delete queue %s: %v", q, err)
			}
		}
		for _, x := range []string{exchange, exchange + ".dlx"} {
			if err := ch.ExchangeDelete(x, false, false); err != nil {
				t.Errorf("cleanup: delete exchange %s: %v", x, err)
			}
		}
	})
	return exchange, queue
}

// adminChannel is the test's own view of the broker, independent of the
// code under test.
func adminChannel(t *testing.T) *amqp.Channel {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	conn, _, err := dial(ctx, brokerURL(), "bank-test-admin")
	if err != nil {
		t.Fatalf("broker not reachable at %s (start it with `rabbitmq-server -detached`): %v", brokerURL(), err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("open admin channel: %v", err)
	}
	return ch
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
	select {
	case d, ok := <-deliveries:
		if !ok {
			t.Fatal("delivery channel closed")
		}
		if err := d.Ack(false); err != nil {
			t.Fatalf("ack: %v", err)
		}
		return d
	case <-time.After(waitTimeout):
		t.Fatal("timed out waiting for a delivery")
	}
	panic("unreachable")
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
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, handle) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v, want nil after cancel", err)
				}
			case <-time.After(waitTimeout):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return readyCh, stop
}

func waitReady(t *testing.T, ready <-chan struct{}) {
	t.Helper()
	select {
	case <-ready:
	case <-time.After(waitTimeout):
		t.Fatal("consumer did not start consuming")
	}
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

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}
