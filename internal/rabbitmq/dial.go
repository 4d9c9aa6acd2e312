package rabbitmq

import (
	"context"
	"fmt"
	"net"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const (
	// dialTimeout bounds TCP connect plus the AMQP handshake; a broker that
	// accepts TCP but never answers must not hang a publisher forever.
	dialTimeout = 10 * time.Second
	heartbeat   = 10 * time.Second
)

// dial opens a connection that honours ctx for the TCP connect and the
// handshake (through a socket deadline no later than ctx's deadline). The
// connection itself outlives ctx. It also returns the socket, so that tests
// can cut it the way a network failure would.
func dial(ctx context.Context, url, name string) (*amqp.Connection, net.Conn, error) {
	var sock net.Conn
	props := amqp.NewConnectionProperties()
	// The name shows in the management UI and in rabbitmqctl, which is how an
	// operator tells the publisher of one process from the consumer of another.
	props.SetClientConnectionName(name)
	conn, err := amqp.DialConfig(url, amqp.Config{
		Heartbeat:  heartbeat,
		Locale:     "en_US",
		Properties: props,
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: dialTimeout}
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			deadline := time.Now().Add(dialTimeout)
			if ctxDeadline, ok := ctx.Deadline(); ok && ctxDeadline.Before(deadline) {
				deadline = ctxDeadline
			}
			// Cleared by the library once the handshake has completed.
			if err := c.SetDeadline(deadline); err != nil {
				_ = c.Close()
				return nil, err
			}
			sock = c
			return c, nil
		},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("dial rabbitmq: %w", err)
	}
	return conn, sock, nil
}

// declareExchange declares the durable topic exchange events are published
// to. Both sides declare it (idempotently, with identical arguments) so that
// neither depends on the other having started first.
func declareExchange(ch *amqp.Channel, exchange string) error {
	if err := ch.ExchangeDeclare(exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %q: %w", exchange, err)
	}
	return nil
}
