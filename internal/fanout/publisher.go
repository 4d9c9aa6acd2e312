package fanout

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/bankcore/bank/bank"
)

// Publisher publishes stored notifications to their users' channels.
type Publisher struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewPublisher returns a Publisher on rdb. prefix namespaces the channels
// (tests, or several deployments sharing one Redis); the API's Hub must use
// the same one.
func NewPublisher(rdb redis.UniversalClient, prefix string) *Publisher {
	return &Publisher{rdb: rdb, prefix: prefix}
}

// Publish sends n to the channel of n.UserID. A nil error means Redis
// accepted the message, not that anyone received it: with no API instance
// subscribed it is dropped, which is fine because it is already stored.
func (p *Publisher) Publish(ctx context.Context, n bank.Notification) error {
	if n.UserID == "" || n.ID == "" {
		return errors.New("fanout: publish: notification has no id or user id")
	}
	payload, err := encode(n)
	if err != nil {
		return fmt.Errorf("fanout: publish %s: %w", n.ID, err)
	}
	if err := p.rdb.Publish(ctx, Channel(p.prefix, n.UserID), payload).Err(); err != nil {
		return fmt.Errorf("fanout: publish %s: %w", n.ID, err)
	}
	return nil
}
