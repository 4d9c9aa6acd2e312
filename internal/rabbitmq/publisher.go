package rabbitmq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bankcore/bank/bank"
)

var (
	// ErrClosed is returned by Publish and Ping after Close.
	ErrClosed = errors.New("rabbitmq: publisher closed")
	// ErrNacked means the broker refused responsibility for a message
	// (basic.nack); the caller should retry.
	ErrNacked = errors.New("rabbitmq: broker nacked the message")
	// ErrConnectionLost means the connection or channel went away before the
	// broker confirmed the message; it may or may not have been enqueued, so
	// the caller retries and the consumer deduplicates by event ID.
	ErrConnectionLost = errors.New("rabbitmq: connection lost before confirm")
	// ErrBlocked means the broker has blocked publishers (memory or disk
	// alarm). Publishing now would hang on a socket write that no context can
	// interrupt, so Publish fails fast and lets the caller back off.
	ErrBlocked = errors.New("rabbitmq: broker is blocking publishers")
	// ErrInvalidEvent is returned for an event without ID or Type; retrying
	// cannot fix it.
	ErrInvalidEvent = errors.New("rabbitmq: invalid event")
)

// Publisher publishes bank.Events with publisher confirms. It holds one
// connection with one confirm-mode channel shared by all goroutines: the
// client library serialises frames on a channel and hands every publish its
// own DeferredConfirmation, so a single channel gives full concurrency for
// waiting on confirms without a pool. The connection is opened on first use
// and reopened by the first Publish after it was lost.
type Publisher struct {
	url      string
	exchange string
	log      *slog.Logger

	// sem serialises (re)connecting and Close; a channel rather than a mutex
	// so that a caller waiting for someone else's dial still honours its ctx.
	sem    chan struct{}
	cur    atomic.Pointer[pubSession]
	closed atomic.Bool
}

// pubSession is one connection and its confirm channel. It is replaced as a
// whole: after any close, a fresh connection is cheaper to reason about than
// reviving a channel on a connection of unknown health.
type pubSession struct {
	conn    *amqp.Connection
	sock    net.Conn
	ch      *amqp.Channel
	dead    atomic.Bool
	blocked atomic.Bool
}

func (s *pubSession) usable() bool {
	return !s.dead.Load() && !s.conn.IsClosed() && !s.ch.IsClosed()
}

// NewPublisher returns a Publisher for exchange. It does not connect: the
// first Publish or Ping does, so constructing one never fails and a process
// can start while the broker is still coming up.
func NewPublisher(url, exchange string, logger *slog.Logger) *Publisher {
	if logger == nil {
		logger = slog.Default()
	}
	return &Publisher{
		url:      url,
		exchange: exchange,
		log:      logger.With("component", "rabbitmq.publisher", "exchange", exchange),
		sem:      make(chan struct{}, 1),
	}
}

// Publish sends ev as persistent JSON with routing key ev.Type and returns
// once the broker has confirmed it. A nack, a lost connection, a blocked
// broker or ctx ending first is an error; the message may then still have
// been delivered, which is safe because ev.ID is deterministic.
func (p *Publisher) Publish(ctx context.Context, ev bank.Event) error {
	if ev.ID == "" || ev.Type == "" {
		return fmt.Errorf("%w: id %q, type %q", ErrInvalidEvent, ev.ID, ev.Type)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("rabbitmq: encode event %s: %w", ev.ID, err)
	}
	ts := ev.OccurredAt
	if ts.IsZero() {
		ts = time.Now()
	}
	msg := amqp.Publishing{
		ContentType:  "application/json",
		DeliveryMode: amqp.Persistent,
		MessageId:    ev.ID,
		Type:         string(ev.Type),
		// OccurredAt rather than now, so that a retried publish is an exact
		// duplicate of the first one.
		Timestamp: ts.UTC(),
		Body:      body,
	}

	// One immediate retry on a fresh connection when the session died under
	// us: after an idle broker restart the first publish would otherwise
	// always fail and cost the activity a full Temporal retry interval.
	for attempt := 1; ; attempt++ {
		err = p.publishOnce(ctx, string(ev.Type), msg)
		if err == nil {
			return nil
		}
		if attempt == 2 || !errors.Is(err, ErrConnectionLost) || ctx.Err() != nil {
			return fmt.Errorf("rabbitmq: publish event %s (%s): %w", ev.ID, ev.Type, err)
		}
		p.log.Warn("publish lost its connection; retrying on a new one", "event_id", ev.ID, "err", err)
	}
}

func (p *Publisher) publishOnce(ctx context.Context, key string, msg amqp.Publishing) error {
	s, err := p.session(ctx)
	if err != nil {
		return err
	}
	if s.blocked.Load() {
		return ErrBlocked
	}
	// mandatory=false: an unroutable event is not an error (see package doc).
	dc, err := s.ch.PublishWithDeferredConfirmWithContext(ctx, p.exchange, key, false, false, msg)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.dead.Store(true)
		return fmt.Errorf("%w: %w", ErrConnectionLost, err)
	}
	acked, err := dc.WaitContext(ctx)
	if err != nil {
		return fmt.Errorf("waiting for confirm: %w", err)
	}
	if !acked {
		// The library nacks every outstanding confirm when the channel closes,
		// so a false here is either a real basic.nack or a lost channel.
		if !s.usable() {
			s.dead.Store(true)
			return ErrConnectionLost
		}
		return ErrNacked
	}
	return nil
}

// Ping reports whether the publisher has, or can open, a connection to the
// broker. With a healthy connection it does no I/O, so readiness probes can
// call it often.
func (p *Publisher) Ping(ctx context.Context) error {
	if _, err := p.session(ctx); err != nil {
		return fmt.Errorf("rabbitmq: ping: %w", err)
	}
	return nil
}

// Close closes the connection; Publish and Ping fail with ErrClosed
// afterwards. Publishes still waiting for a confirm fail with
// ErrConnectionLost.
func (p *Publisher) Close() error {
	p.sem <- struct{}{}
	defer func() { <-p.sem }()
	if p.closed.Swap(true) {
		return nil
	}
	s := p.cur.Swap(nil)
	if s == nil {
		return nil
	}
	s.dead.Store(true)
	if err := s.conn.Close(); err != nil && !errors.Is(err, amqp.ErrClosed) {
		return fmt.Errorf("rabbitmq: close publisher: %w", err)
	}
	return nil
}

// session returns a usable session, dialling if there is none.
func (p *Publisher) session(ctx context.Context) (*pubSession, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	if s := p.cur.Load(); s != nil && s.usable() {
		return s, nil
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-p.sem }()
	if p.closed.Load() {
		return nil, ErrClosed
	}
	// Another goroutine may have reconnected while we waited.
	if s := p.cur.Load(); s != nil && s.usable() {
		return s, nil
	}
	if old := p.cur.Swap(nil); old != nil {
		old.dead.Store(true)
		_ = old.conn.Close() // may already be closed; only freeing resources
	}
	s, err := p.connect(ctx)
	if err != nil {
		return nil, err
	}
	p.cur.Store(s)
	return s, nil
}

func (p *Publisher) connect(ctx context.Context) (*pubSession, error) {
	conn, sock, err := dial(ctx, p.url, "bank-publisher")
	if err != nil {
		return nil, err
	}
	s, err := p.setup(conn, sock)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	p.log.Info("publisher connected")
	return s, nil
}

func (p *Publisher) setup(conn *amqp.Connection, sock net.Conn) (*pubSession, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open channel: %w", err)
	}
	if err := declareExchange(ch, p.exchange); err != nil {
		return nil, err
	}
	if err := ch.Confirm(false); err != nil {
		return nil, fmt.Errorf("enable publisher confirms: %w", err)
	}
	s := &pubSession{conn: conn, sock: sock, ch: ch}
	// Registered before the session is visible to anyone, so no close or
	// block notification can be missed. Buffered because the library sends
	// close notifications synchronously from its reader goroutine.
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	blocked := conn.NotifyBlocked(make(chan amqp.Blocking, 1))
	go p.watch(s, connClosed, chClosed, blocked)
	return s, nil
}

// watch marks s dead as soon as its connection or channel closes, so the
// next Publish redials instead of failing on a dead socket, and tracks
// connection.blocked. It exits when the connection is gone.
func (p *Publisher) watch(s *pubSession, connClosed, chClosed <-chan *amqp.Error, blocked <-chan amqp.Blocking) {
	for {
		select {
		case b, ok := <-blocked:
			if !ok {
				blocked = nil // closed together with the connection
				continue
			}
			s.blocked.Store(b.Active)
			if b.Active {
				p.log.Warn("broker blocked publishing", "reason", b.Reason)
			} else {
				p.log.Info("broker unblocked publishing")
			}
		case err := <-chClosed:
			s.dead.Store(true)
			// A channel exception (say, the exchange was deleted) leaves the
			// connection open; close it so it does not leak.
			_ = s.conn.Close()
			if err != nil {
				p.log.Warn("publisher channel closed; will reconnect on next publish", "err", err)
			}
			chClosed = nil
		case err := <-connClosed:
			s.dead.Store(true)
			if err != nil {
				p.log.Warn("publisher connection lost; will reconnect on next publish", "err", err)
			}
			return
		}
	}
}

// dropConnForTest cuts the current connection's socket, as a network
// failure or a broker crash would, and returns the connection it cut.
func (p *Publisher) dropConnForTest() *amqp.Connection {
	s := p.cur.Load()
	if s == nil {
		return nil
	}
	_ = s.sock.Close()
	return s.conn
}
