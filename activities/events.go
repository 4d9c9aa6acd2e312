package activities

import (
	"context"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/handoff"
)

// EventPublisher delivers an event to the bus and returns once the broker
// has confirmed it. Every error is retryable.
type EventPublisher interface {
	Publish(ctx context.Context, ev bank.Event) error
}

// Events holds the notifications queue's activities.
type Events struct {
	Publisher EventPublisher
	// Outcomes, when set, gets told once a workflow's event is confirmed:
	// a transfer's held outcome is then handed to its waiting handler.
	Outcomes *handoff.Hub
}

// PublishEvent publishes ev with publisher confirms. The event id is
// deterministic, so a retry after a lost confirm is a duplicate the notifier
// drops.
func (a *Events) PublishEvent(ctx context.Context, ev bank.Event) error {
	if err := a.Publisher.Publish(ctx, ev); err != nil {
		return err
	}
	a.Outcomes.Release(workflowID(ctx, a.Outcomes))
	return nil
}
