package bank

import "time"

// EventType names a domain event published to the bank.events exchange; it
// is also the routing key.
type EventType string

// Event types.
const (
	EventUserCreated       EventType = "user_created"
	EventTransferCompleted EventType = "transfer_completed"
	EventTransferFailed    EventType = "transfer_failed"
	EventDepositCompleted  EventType = "deposit_completed"
	EventTierUpgraded      EventType = "tier_upgraded"
	// EventTransferPendingApproval: a large transfer was accepted and its
	// amount is on hold until an operator decides.
	EventTransferPendingApproval EventType = "transfer_pending_approval"
)

// Event is the message on the bus. ID is deterministic (derived from the
// workflow that emits it), so a retried publish is a duplicate that the
// notifier drops. It carries no PII (no names, emails or KYC numbers): it
// passes through workflow history and the broker in the clear.
type Event struct {
	ID         string    `json:"id"`
	Type       EventType `json:"type"`
	OccurredAt time.Time `json:"occurred_at"`
	// Recipients are the user ids told about the event.
	UserID         string `json:"user_id,omitempty"`
	CounterpartyID string `json:"counterparty_user_id,omitempty"`

	AccountNumber      string `json:"account_number,omitempty"`
	CounterpartAccount string `json:"counterparty_account,omitempty"`
	Reference          string `json:"reference,omitempty"`
	Amount             string `json:"amount,omitempty"` // decimal string, as on the wire
	Tier               Tier   `json:"tier,omitempty"`
	FailureCode        Code   `json:"failure_code,omitempty"`
}
