// Package rabbitmq carries bank.Events from Temporal activities to the
// notifier over a durable topic exchange.
//
// Delivery guarantees, end to end:
//
//   - Publisher.Publish returns nil only after the broker has confirmed the
//     message (publisher confirms), and the message is persistent, so a nil
//     error means the event survives a broker restart once it has been routed
//     to a durable queue. Any other outcome is an error so that the calling
//     activity retries; a retry may duplicate the event, which is harmless
//     because bank.Event.ID is deterministic and the notifier stores one
//     notification per (event id, user id).
//   - Messages are published without the mandatory flag: an event that no
//     queue is bound to is confirmed and dropped by the broker. Routing is the
//     consumer's business (Consumer declares and binds its own queue), and
//     making "nobody listens yet" an error would turn a missing notifier into
//     failed registrations and transfers. The consequence is that the notifier
//     queue must exist before events matter: call Consumer.Declare at deploy
//     or start-up time (before the first worker publishes) if the notifier
//     might not have run yet.
//   - Consumer acknowledges manually, after the handler returned; handler
//     errors either requeue (transient) or dead-letter (Poison) the message.
//
// Neither type uses the client library's experimental automatic recovery:
// reconnection is explicit here, so that the publisher can fail a Publish
// fast (and let Temporal retry) and the consumer re-declares its topology on
// every new connection.
package rabbitmq
