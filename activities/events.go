package activities

import (
	"context"

	"github.com/bankcore/bank/bank"
)

// EventPublisher delivers an event to the bus and returns once the broker
// has confirmed it. Every error is retryable.
type EventPublisher interface {
	Publish(ctx context.Context, ev bank.Event) error
}

// Events holds the notifications queue's activities.
type Events struct {
	Publisher EventPublisher
}

// PublishEvent publishes ev with publisher confirms. The event id is
// deterministic, so a retry after a lost confirm is a duplicate the notifier
// drops.
func (a *Events) PublishEvent(ctx context.Context, ev bank.Event) error {
	return a.Publisher.Publish(ctx, ev)
}
