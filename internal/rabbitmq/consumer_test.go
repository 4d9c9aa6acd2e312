package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bankcore/bank/bank"
)

func TestPoisonGoesToDeadLetterQueue(t *testing.T) {
	exchange, queue := names(t)
	admin := adminChannel(t)
	p := newPublisher(t, exchange)
	c := newConsumer(exchange, queue, 4)
	handled := make(chan struct{}, 8)
	ready, stop := startConsumer(t, c, func(_ context.Context, d amqp.Delivery) error {
		handled <- struct{}{}
		return fmt.Errorf("decode %s: %w", d.MessageId, Poison(errors.New("unknown event type")))
	})
	waitReady(t, ready)
	dead := rawConsume(t, admin, c.DeadLetterQueue())

	ev := testEvent(bank.EventUserCreated)
	if err := p.Publish(ctxTimeout(t), ev); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	d := recv(t, dead)
	if d.MessageId != ev.ID {
		t.Fatalf("dead letter %s, want %s", d.MessageId, ev.ID)
	}
	if d.Exchange != c.DeadLetterExchange() {
		t.Errorf("dead letter came through %q, want %q", d.Exchange, c.DeadLetterExchange())
	}
	if deaths, ok := d.Headers["x-death"].([]any); !ok || len(deaths) == 0 {
		t.Errorf("dead letter has no x-death header: %v", d.Headers)
	}
	stop()
	// Rejected without requeue: handled exactly once.
	if n := len(handled); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

func TestTransientErrorRedelivers(t *testing.T) {
	exchange, queue := names(t)
	p := newPublisher(t, exchange)
	c := newConsumer(exchange, queue, 4)
	type call struct {
		id          string
		redelivered bool
	}
	calls := make(chan call, 4)
	ready, _ := startConsumer(t, c, func(_ context.Context, d amqp.Delivery) error {
		calls <- call{d.MessageId, d.Redelivered}
		if !d.Redelivered {
			return errors.New("postgres is down")
		}
		return nil
	})
	waitReady(t, ready)

	ev := testEvent(bank.EventTransferCompleted)
	if err := p.Publish(ctxTimeout(t), ev); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	for i, wantRedelivered := range []bool{false, true} {
		select {
		case got := <-calls:
			if got.id != ev.ID || got.redelivered != wantRedelivered {
				t.Fatalf("call %d = %+v, want {%s %v}", i, got, ev.ID, wantRedelivered)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("call %d never came", i)
		}
	}
}

func TestConsumerReconnectsAfterConnectionLoss(t *testing.T) {
	exchange, queue := names(t)
	p := newPublisher(t, exchange)
	c := newConsumer(exchange, queue, 4)
	var mu sync.Mutex
	counts := map[string]int{}
	got := make(chan string, 4)
	ready, stop := startConsumer(t, c, func(_ context.Context, d amqp.Delivery) error {
		mu.Lock()
		counts[d.MessageId]++
		mu.Unlock()
		got <- d.MessageId
		return nil
	})
	expect := func(id string) {
		t.Helper()
		select {
		case g := <-got:
			if g != id {
				t.Fatalf("consumed %s, want %s", g, id)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("%s was not consumed", id)
		}
	}
	ctx := ctxTimeout(t)
	waitReady(t, ready)

	first := testEvent(bank.EventDepositCompleted)
	if err := p.Publish(ctx, first); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	expect(first.ID)

	c.dropConnForTest()
	// Published while the consumer is away: the durable queue keeps it.
	second := testEvent(bank.EventTierUpgraded)
	if err := p.Publish(ctx, second); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	waitReady(t, ready)
	expect(second.ID)
	stop()

	mu.Lock()
	defer mu.Unlock()
	for _, id := range []string{first.ID, second.ID} {
		if counts[id] != 1 {
			t.Errorf("%s consumed %d times, want 1", id, counts[id])
		}
	}
}

func TestDeclareWithoutConsuming(t *testing.T) {
	exchange, queue := names(t)
	c := newConsumer(exchange, queue, 0)
	if c.prefetch != defaultPrefetch {
		t.Errorf("prefetch = %d, want default %d", c.prefetch, defaultPrefetch)
	}
	ctx := ctxTimeout(t)
	if err := c.Declare(ctx); err != nil {
		t.Fatalf("Declare: %v", err)
	}
	// Declared before any consumer ran, the queue catches events already.
	p := newPublisher(t, exchange)
	if err := p.Publish(ctx, testEvent(bank.EventUserCreated)); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	q, err := adminChannel(t).QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		t.Fatalf("inspect queue: %v", err)
	}
	if q.Messages != 1 {
		t.Errorf("queue holds %d messages, want 1", q.Messages)
	}
	// Idempotent: a second declaration with the same arguments is accepted.
	if err := c.Declare(ctx); err != nil {
		t.Errorf("second Declare: %v", err)
	}
}

func TestPoison(t *testing.T) {
	base := errors.New("bad body")
	if Poison(nil) != nil {
		t.Error("Poison(nil) != nil")
	}
	wrapped := fmt.Errorf("handle: %w", Poison(base))
	if !IsPoison(wrapped) {
		t.Error("IsPoison does not see through wrapping")
	}
	if !errors.Is(wrapped, base) {
		t.Error("Poison hides the cause from errors.Is")
	}
	if IsPoison(base) || IsPoison(nil) {
		t.Error("IsPoison true for a plain error")
	}
}

func TestRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{{1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {4, 800 * time.Millisecond}, {50, time.Second}} {
		if got := retryDelay(100*time.Millisecond, time.Second, tc.failures); got != tc.want {
			t.Errorf("retryDelay(%d) = %v, want %v", tc.failures, got, tc.want)
		}
	}
}
