// Package notifier turns the events on the bus into stored notifications
// and announces each one on Redis for the API's live subscribers.
//
// Storage is exactly once per (event, recipient), whatever the broker
// redelivers; the live announcement is at least once. The order in Handle
// (store, then publish, then ack) is what makes that so: a crash anywhere
// before the ack redelivers the event, the store returns the rows already
// there, and they are published again with the same ids.
package notifier

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/rabbitmq"
)

// Store keeps notifications. InsertForEvent must be idempotent by (event id,
// user id) and return every notification stored for the event, including
// ones stored by an earlier delivery. Errors: VALIDATION_FAILED for input no
// retry can fix; any other error is taken as transient.
type Store interface {
	InsertForEvent(ctx context.Context, eventID string, ns []bank.Notification) ([]bank.Notification, error)
}

// Publisher announces stored notifications to their users' live
// subscribers (fanout.Publisher: all of an event's in one round trip).
// Every error is taken as transient.
type Publisher interface {
	Publish(ctx context.Context, ns ...bank.Notification) error
}

// Consumer delivers messages to a handler and settles them by its result
// (rabbitmq.Consumer).
type Consumer interface {
	Run(ctx context.Context, handle func(context.Context, amqp.Delivery) error) error
}

// Notifier is the `bank notifier` process's message handler.
type Notifier struct {
	Store     Store
	Publisher Publisher
	Logger    *slog.Logger
	// ObserveLag, when set, is told for every stored event how long after
	// it occurred its notifications were stored (the notifier lag metric).
	ObserveLag func(eventType string, lag time.Duration)
}

// Run consumes events until ctx is done.
func (n *Notifier) Run(ctx context.Context, c Consumer) error {
	return c.Run(ctx, n.Handle)
}

// Handle processes one delivery. nil means done (ack). An error made with
// rabbitmq.Poison means the message can never be processed (not an event,
// an unknown type, a missing recipient) and belongs in the dead-letter
// queue. Any other error means try again later: storing is idempotent, so a
// redelivery after a failed publish stores nothing twice.
func (n *Notifier) Handle(ctx context.Context, d amqp.Delivery) error {
	var ev bank.Event
	if err := json.Unmarshal(d.Body, &ev); err != nil {
		return rabbitmq.Poison(fmt.Errorf("decode event (message %q): %w", d.MessageId, err))
	}
	ns, err := bank.NotificationsFor(ev)
	if err != nil {
		return classify(fmt.Errorf("event %q (%s): %w", ev.ID, ev.Type, err))
	}
	stored, err := n.Store.InsertForEvent(ctx, ev.ID, ns)
	if err != nil {
		return classify(fmt.Errorf("store notifications of event %q: %w", ev.ID, err))
	}
	if n.ObserveLag != nil && !ev.OccurredAt.IsZero() {
		n.ObserveLag(string(ev.Type), time.Since(ev.OccurredAt))
	}
	if err := n.Publisher.Publish(ctx, stored...); err != nil {
		return fmt.Errorf("publish notifications of event %q: %w", ev.ID, err)
	}
	n.logger().Debug("event notified", "event_id", ev.ID, "type", ev.Type,
		"notifications", len(stored), "redelivered", d.Redelivered)
	return nil
}

// classify dead-letters validation failures, which are facts about the
// message, and leaves everything else to be retried.
func classify(err error) error {
	if bank.ErrorCode(err) == bank.CodeValidation {
		return rabbitmq.Poison(err)
	}
	return err
}

func (n *Notifier) logger() *slog.Logger {
	if n.Logger == nil {
		return slog.Default()
	}
	return n.Logger
}
