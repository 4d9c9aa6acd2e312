package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const defaultPrefetch = 16

// Consumer consumes every event on an exchange through one durable queue,
// with manual acknowledgement and a dead-letter queue for poison messages.
//
// Deliveries are handled one at a time, in the order the broker sends them:
// the notifier's work per event is a few short Postgres statements, and
// sequential handling keeps the backoff below meaningful (a failing
// dependency slows the whole consumer down instead of spinning N handlers).
// The prefetch window still hides the network round trip between messages.
// Scale out by running more notifier processes on the same queue.
type Consumer struct {
	url      string
	exchange string
	queue    string
	prefetch int
	log      *slog.Logger

	// Reconnect backoff, doubled per failed attempt; variables so tests can
	// run fast.
	minBackoff, maxBackoff time.Duration
	// Requeue backoff after a handler's transient error, doubled per
	// consecutive failure.
	minRetry, maxRetry time.Duration

	// onReady, when set (tests only, before Run), is called each time a
	// session starts consuming.
	onReady func()

	mu   sync.Mutex
	sock net.Conn // current session's socket; for tests
}

// NewConsumer returns a Consumer reading queue, bound to exchange with "#".
// prefetch is the number of unacknowledged deliveries the broker may push
// ahead of the handler; values below 1 mean a default of 16.
func NewConsumer(url, exchange, queue string, prefetch int, logger *slog.Logger) *Consumer {
	if logger == nil {
		logger = slog.Default()
	}
	if prefetch < 1 {
		prefetch = defaultPrefetch
	}
	return &Consumer{
		url:        url,
		exchange:   exchange,
		queue:      queue,
		prefetch:   prefetch,
		log:        logger.With("component", "rabbitmq.consumer", "exchange", exchange, "queue", queue),
		minBackoff: 500 * time.Millisecond,
		maxBackoff: 30 * time.Second,
		minRetry:   200 * time.Millisecond,
		maxRetry:   10 * time.Second,
	}
}

// DeadLetterExchange is the fanout exchange rejected messages go to.
func (c *Consumer) DeadLetterExchange() string { return c.exchange + ".dlx" }

// DeadLetterQueue is the durable queue holding poison messages for an
// operator to inspect or shovel back.
func (c *Consumer) DeadLetterQueue() string { return c.queue + ".dead" }

// Declare creates the exchange, the queue and its binding, and the
// dead-letter exchange and queue, without consuming. Run does this itself;
// call Declare at start-up from processes that publish when events must not
// be dropped before the first notifier has run (see package doc).
func (c *Consumer) Declare(ctx context.Context) error {
	conn, _, err := dial(ctx, c.url, "bank-declare")
	if err != nil {
		return fmt.Errorf("rabbitmq: declare: %w", err)
	}
	defer func() { _ = conn.Close() }()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("rabbitmq: declare: open channel: %w", err)
	}
	if err := c.declare(ch); err != nil {
		return fmt.Errorf("rabbitmq: declare: %w", err)
	}
	return nil
}

func (c *Consumer) declare(ch *amqp.Channel) error {
	if err := declareExchange(ch, c.exchange); err != nil {
		return err
	}
	dlx, dlq := c.DeadLetterExchange(), c.DeadLetterQueue()
	// Fanout: a dead letter keeps its original routing key, which must not
	// decide whether it is kept.
	if err := ch.ExchangeDeclare(dlx, amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %q: %w", dlx, err)
	}
	if _, err := ch.QueueDeclare(dlq, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare queue %q: %w", dlq, err)
	}
	if err := ch.QueueBind(dlq, "", dlx, false, nil); err != nil {
		return fmt.Errorf("bind queue %q to %q: %w", dlq, dlx, err)
	}
	// Changing these arguments later makes the broker refuse the declaration
	// (PRECONDITION_FAILED): the queue must then be migrated by hand.
	args := amqp.Table{"x-dead-letter-exchange": dlx}
	if _, err := ch.QueueDeclare(c.queue, true, false, false, false, args); err != nil {
		return fmt.Errorf("declare queue %q: %w", c.queue, err)
	}
	if err := ch.QueueBind(c.queue, "#", c.exchange, false, nil); err != nil {
		return fmt.Errorf("bind queue %q to %q: %w", c.queue, c.exchange, err)
	}
	return nil
}

// Run consumes until ctx is done, calling handle for each delivery and then
// acknowledging it: nil acks; an error made with Poison rejects it to the
// dead-letter queue; any other error requeues it after a backoff that grows
// with consecutive failures, so that an outage of the handler's dependencies
// neither loses messages nor spins. The handler must not ack or nack itself.
//
// Connection failures, including an unusable topology, are logged and
// retried with backoff; Run returns nil once ctx is done, and an error only
// for a nil handler.
func (c *Consumer) Run(ctx context.Context, handle func(context.Context, amqp.Delivery) error) error {
	if handle == nil {
		return errors.New("rabbitmq: consumer: nil handler")
	}
	backoff := c.minBackoff
	for {
		consumed, err := c.session(ctx, handle)
		if ctx.Err() != nil {
			return nil
		}
		if consumed {
			// The broker was healthy until just now; reconnect promptly.
			backoff = c.minBackoff
		}
		c.log.Warn("consumer session ended; reconnecting", "err", err, "backoff", backoff)
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(backoff*2, c.maxBackoff)
	}
}

// session runs one connection's worth of consuming. consumed reports whether
// it got as far as consuming, which resets the reconnect backoff.
func (c *Consumer) session(ctx context.Context, handle func(context.Context, amqp.Delivery) error) (consumed bool, err error) {
	conn, sock, err := dial(ctx, c.url, "bank-consumer")
	if err != nil {
		return false, err
	}
	// Closing returns unacknowledged prefetched deliveries to the queue; a
	// close error only says the connection was already gone.
	defer func() { _ = conn.Close() }()
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	c.setSock(sock)
	defer c.setSock(nil)

	ch, err := conn.Channel()
	if err != nil {
		return false, fmt.Errorf("open channel: %w", err)
	}
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	if err := c.declare(ch); err != nil {
		return false, err
	}
	if err := ch.Qos(c.prefetch, 0, false); err != nil {
		return false, fmt.Errorf("set prefetch: %w", err)
	}
	deliveries, err := ch.Consume(c.queue, "", false, false, false, false, nil)
	if err != nil {
		return false, fmt.Errorf("consume %q: %w", c.queue, err)
	}
	c.log.Info("consuming", "prefetch", c.prefetch)
	if c.onReady != nil {
		c.onReady()
	}

	failures := 0
	for {
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case d, ok := <-deliveries:
			if !ok {
				return true, closeReason(connClosed, chClosed)
			}
			if err := c.dispatch(ctx, d, handle, &failures); err != nil {
				return true, err
			}
		}
	}
}

// dispatch runs the handler for one delivery and settles it. An error return
// means the delivery could not be settled (channel gone); the broker then
// redelivers it on the next session.
func (c *Consumer) dispatch(ctx context.Context, d amqp.Delivery, handle func(context.Context, amqp.Delivery) error, failures *int) error {
	log := c.log.With("message_id", d.MessageId, "routing_key", d.RoutingKey, "delivery_tag", d.DeliveryTag, "redelivered", d.Redelivered)
	herr := handle(ctx, d)
	switch {
	case herr == nil:
		*failures = 0
		if err := d.Ack(false); err != nil {
			return fmt.Errorf("ack message %q: %w", d.MessageId, err)
		}
	case IsPoison(herr):
		*failures = 0
		log.Error("poison message; dead-lettering", "err", herr, "dead_letter_queue", c.DeadLetterQueue())
		if err := d.Nack(false, false); err != nil {
			return fmt.Errorf("reject message %q: %w", d.MessageId, err)
		}
	default:
		*failures++
		wait := retryDelay(c.minRetry, c.maxRetry, *failures)
		log.Warn("handler failed; requeueing after backoff", "err", herr, "backoff", wait, "consecutive_failures", *failures)
		// Cut short on shutdown: the requeue below (or the connection close)
		// hands the message back either way.
		sleep(ctx, wait)
		if err := d.Nack(false, true); err != nil {
			return fmt.Errorf("requeue message %q: %w", d.MessageId, err)
		}
	}
	return nil
}

func closeReason(connClosed, chClosed <-chan *amqp.Error) error {
	// The channel's notification fires first for a channel exception, the
	// connection's for a network or broker failure; report whichever is
	// specific.
	select {
	case err := <-chClosed:
		if err != nil {
			return fmt.Errorf("channel closed: %w", err)
		}
	default:
	}
	select {
	case err := <-connClosed:
		if err != nil {
			return fmt.Errorf("connection closed: %w", err)
		}
	default:
	}
	return errors.New("delivery channel closed")
}

func retryDelay(base, limit time.Duration, failures int) time.Duration {
	d := base
	for i := 1; i < failures && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// sleep waits for d or until ctx is done; it reports whether the full
// duration passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c *Consumer) setSock(sock net.Conn) {
	c.mu.Lock()
	c.sock = sock
	c.mu.Unlock()
}

// dropConnForTest cuts the current session's socket, as a network failure
// or a broker crash would.
func (c *Consumer) dropConnForTest() {
	c.mu.Lock()
	sock := c.sock
	c.mu.Unlock()
	if sock != nil {
		_ = sock.Close()
	}
}
