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

// Publish sends each notification to the channel of its user, several in
// one pipelined round trip (a transfer's two parties). A nil error means
// Redis accepted every message, not that anyone received it: with no API
// instance subscribed they are dropped, which is fine because they are
// already stored. On an error some may have been sent; the caller publishes
// them all again and subscribers deduplicate by id.
func (p *Publisher) Publish(ctx context.Context, ns ...bank.Notification) error {
	payloads := make([][]byte, len(ns))
	for i, n := range ns {
		if n.UserID == "" || n.ID == "" {
			return errors.New("fanout: publish: notification has no id or user id")
		}
		payload, err := encode(n)
		if err != nil {
			return fmt.Errorf("fanout: publish %s: %w", n.ID, err)
		}
		payloads[i] = payload
	}
	switch len(ns) {
	case 0:
		return nil
	case 1:
		if err := p.rdb.Publish(ctx, Channel(p.prefix, ns[0].UserID), payloads[0]).Err(); err != nil {
			return fmt.Errorf("fanout: publish %s: %w", ns[0].ID, err)
		}
		return nil
	}
	_, err := p.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, n := range ns {
			pipe.Publish(ctx, Channel(p.prefix, n.UserID), payloads[i])
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("fanout: publish %d notifications (first %s): %w", len(ns), ns[0].ID, err)
	}
	return nil
}
