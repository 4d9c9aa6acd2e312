package rabbitmq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bankcore/bank/bank"
)

func TestPublishIsConfirmedAndConsumed(t *testing.T) {
	exchange, queue := names(t)
	admin := adminChannel(t)
	// Bound to one type only, so the user_created event below is unroutable.
	deliveries := rawQueue(t, admin, exchange, queue, string(bank.EventTransferCompleted))
	p := newPublisher(t, exchange)
	ctx := ctxTimeout(t)

	if err := p.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	// Not mandatory: an event nobody is bound to is confirmed, not an error.
	if err := p.Publish(ctx, testEvent(bank.EventUserCreated)); err != nil {
		t.Fatalf("Publish unroutable event: %v", err)
	}
	ev := testEvent(bank.EventTransferCompleted)
	if err := p.Publish(ctx, ev); err != nil {
		t.Fatalf("Publish: %v", err)
	}

	d := recv(t, deliveries)
	var got bank.Event
	if err := json.Unmarshal(d.Body, &got); err != nil {
		t.Fatalf("body is not a JSON event: %v: %s", err, d.Body)
	}
	if !got.OccurredAt.Equal(ev.OccurredAt) {
		t.Errorf("OccurredAt = %v, want %v", got.OccurredAt, ev.OccurredAt)
	}
	got.OccurredAt = ev.OccurredAt
	if got != ev {
		t.Errorf("body = %+v, want %+v", got, ev)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Exchange", d.Exchange, exchange},
		{"RoutingKey", d.RoutingKey, string(ev.Type)},
		{"MessageId", d.MessageId, ev.ID},
		{"Type", d.Type, string(ev.Type)},
		{"ContentType", d.ContentType, "application/json"},
		{"DeliveryMode", d.DeliveryMode, amqp.Persistent},
		{"Timestamp", d.Timestamp.Unix(), ev.OccurredAt.Unix()},
		{"Redelivered", d.Redelivered, false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// The exchange the publisher declared is durable and topic; a passive
	// declaration with other flags would fail with PRECONDITION_FAILED.
	if err := admin.ExchangeDeclarePassive(exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		t.Errorf("exchange not durable topic: %v", err)
	}
}

func TestConcurrentPublishesAreAllConfirmedAndConsumedOnce(t *testing.T) {
	const goroutines, perGoroutine = 20, 10
	const total = goroutines * perGoroutine
	exchange, queue := names(t)
	p := newPublisher(t, exchange)
	c := newConsumer(exchange, queue, 50)

	var mu sync.Mutex
	seen := make(map[string]int, total)
	all := make(chan struct{})
	ready, stop := startConsumer(t, c, func(_ context.Context, d amqp.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		seen[d.MessageId]++
		if len(seen) == total && seen[d.MessageId] == 1 {
			close(all)
		}
		return nil
	})
	waitReady(t, ready)

	ctx := ctxTimeout(t)
	ids := make(chan string, total)
	errs := make(chan error, total)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				ev := testEvent(bank.EventDepositCompleted)
				ev.ID = fmt.Sprintf("deposit/%d/%d/%s", g, i, suffix())
				if err := p.Publish(ctx, ev); err != nil {
					errs <- err
					continue
				}
				ids <- ev.ID
			}
		})
	}
	wg.Wait()
	close(errs)
	close(ids)
	for err := range errs {
		t.Errorf("Publish: %v", err)
	}
	if t.Failed() {
		t.FailNow()
	}

	select {
	case <-all:
	case <-ctx.Done():
		mu.Lock()
		t.Fatalf("consumed %d distinct messages, want %d", len(seen), total)
	}
	stop()

	mu.Lock()
	defer mu.Unlock()
	for id := range ids {
		if n := seen[id]; n != 1 {
			t.Errorf("message %s consumed %d times, want 1", id, n)
		}
	}
	if len(seen) != total {
		t.Errorf("consumed %d distinct messages, want %d", len(seen), total)
	}
	// Every delivery was acked before the consumer's connection closed, so
	// nothing went back to the queue.
	q, err := adminChannel(t).QueueDeclarePassive(queue, true, false, false, false, amqp.Table{"x-dead-letter-exchange": exchange + ".dlx"})
	if err != nil {
		t.Fatalf("inspect queue: %v", err)
	}
	if q.Messages != 0 {
		t.Errorf("%d messages left in the queue, want 0", q.Messages)
	}
}

func TestPublisherReconnectsAfterConnectionLoss(t *testing.T) {
	exchange, queue := names(t)
	deliveries := rawQueue(t, adminChannel(t), exchange, queue, "#")
	p := newPublisher(t, exchange)
	ctx := ctxTimeout(t)

	first := testEvent(bank.EventTransferCompleted)
	if err := p.Publish(ctx, first); err != nil {
		t.Fatalf("Publish before the drop: %v", err)
	}
	if d := recv(t, deliveries); d.MessageId != first.ID {
		t.Fatalf("got %s, want %s", d.MessageId, first.ID)
	}

	old := p.dropConnForTest()
	if old == nil {
		t.Fatal("publisher had no connection")
	}
	second := testEvent(bank.EventTransferFailed)
	if err := p.Publish(ctx, second); err != nil {
		t.Fatalf("Publish after the drop: %v", err)
	}
	if d := recv(t, deliveries); d.MessageId != second.ID {
		t.Fatalf("got %s, want %s", d.MessageId, second.ID)
	}
	if s := p.cur.Load(); s == nil || s.conn == old {
		t.Error("publisher did not open a new connection")
	}
}

func TestPublisherRecoversFromChannelException(t *testing.T) {
	exchange, _ := names(t)
	admin := adminChannel(t)
	p := newPublisher(t, exchange)
	ctx := ctxTimeout(t)
	if err := p.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	// Publishing to a missing exchange is a channel exception (404) that
	// kills the publisher's channel; the publisher must redeclare and retry
	// rather than stay broken.
	if err := admin.ExchangeDelete(exchange, false, false); err != nil {
		t.Fatalf("delete exchange: %v", err)
	}
	if err := p.Publish(ctx, testEvent(bank.EventTierUpgraded)); err != nil {
		t.Fatalf("Publish after the exchange vanished: %v", err)
	}
	if err := admin.ExchangeDeclarePassive(exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		t.Errorf("exchange was not redeclared: %v", err)
	}
}

func TestPublishFailures(t *testing.T) {
	exchange, _ := names(t)
	p := newPublisher(t, exchange)

	if err := p.Publish(ctxTimeout(t), bank.Event{Type: bank.EventUserCreated}); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("Publish without ID = %v, want ErrInvalidEvent", err)
	}

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Publish(cancelled, testEvent(bank.EventUserCreated)); !errors.Is(err, context.Canceled) {
		t.Errorf("Publish with cancelled context = %v, want context.Canceled", err)
	}

	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := p.Publish(ctxTimeout(t), testEvent(bank.EventUserCreated)); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}

	// Nothing listens on port 1: readiness must report it, quickly.
	bad := NewPublisher("amqp://guest:guest@127.0.0.1:1/", exchange, testLogger())
	defer func() { _ = bad.Close() }()
	if err := bad.Ping(ctxTimeout(t)); err == nil {
		t.Error("Ping against a closed port succeeded")
	}
}

// A connection cut while many publishes wait for confirms: no Publish may
// hang, and every Publish that returned nil must reach the consumer.
// Duplicates are allowed (a message whose confirm was lost is republished);
// losses are not.
func TestConcurrentPublishesSurviveConnectionDrop(t *testing.T) {
	const goroutines, perGoroutine, dropAfter = 10, 20, 50
	const total = goroutines * perGoroutine
	exchange, queue := names(t)
	p := newPublisher(t, exchange)
	c := newConsumer(exchange, queue, 100)
	consumed := make(chan string, 2*total)
	ready, _ := startConsumer(t, c, func(_ context.Context, d amqp.Delivery) error {
		consumed <- d.MessageId
		return nil
	})
	waitReady(t, ready)
	ctx := ctxTimeout(t)
	if err := p.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	firstConn := p.cur.Load().conn

	var (
		mu        sync.Mutex
		confirmed = make(map[string]bool, total)
		failed    []error
		drop      sync.Once
		wg        sync.WaitGroup
	)
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				ev := testEvent(bank.EventTransferCompleted)
				ev.ID = fmt.Sprintf("transfer/%d/%d/%s", g, i, suffix())
				err := p.Publish(ctx, ev)
				mu.Lock()
				if err == nil {
					confirmed[ev.ID] = true
				} else {
					failed = append(failed, err)
				}
				n := len(confirmed)
				mu.Unlock()
				if n == dropAfter {
					drop.Do(func() { p.dropConnForTest() })
				}
			}
		})
	}
	wg.Wait()

	// Only a lost connection may fail a publish, and the one internal retry
	// should absorb even that.
	for _, err := range failed {
		if !errors.Is(err, ErrConnectionLost) {
			t.Errorf("Publish: %v", err)
		}
	}
	t.Logf("%d confirmed, %d failed with a lost connection", len(confirmed), len(failed))
	if s := p.cur.Load(); s == nil || s.conn == firstConn {
		t.Fatal("the connection was not replaced")
	}
	pending := maps.Clone(confirmed)
	for len(pending) > 0 {
		select {
		case id := <-consumed:
			delete(pending, id)
		case <-ctx.Done():
			t.Fatalf("%d confirmed messages never arrived", len(pending))
		}
	}
}
