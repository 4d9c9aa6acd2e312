package bank

import (
	"fmt"
	"slices"
	"time"
)

// NotificationType is what a notification tells its user; the GraphQL enum
// of the same name.
type NotificationType string

// Notification types.
const (
	NotificationAccountCreated NotificationType = "ACCOUNT_CREATED"
	NotificationTransferDebit  NotificationType = "TRANSFER_DEBIT"
	NotificationTransferCredit NotificationType = "TRANSFER_CREDIT"
	NotificationDeposit        NotificationType = "DEPOSIT"
	NotificationTierUpgraded   NotificationType = "TIER_UPGRADED"
	NotificationTransferFailed NotificationType = "TRANSFER_FAILED"
	// NotificationTransferPendingApproval tells the sender that a large
	// transfer waits for an operator, its amount on hold.
	NotificationTransferPendingApproval NotificationType = "TRANSFER_PENDING_APPROVAL"
)

// NotificationTypes are every notification type, in the order of the
// contract. The GraphQL enum and the database's CHECK list the same ones (a
// test in package app ties the three together).
var NotificationTypes = []NotificationType{
	NotificationAccountCreated, NotificationTransferDebit, NotificationTransferCredit,
	NotificationDeposit, NotificationTierUpgraded, NotificationTransferFailed, NotificationTransferPendingApproval,
}

// Valid reports whether t is a known notification type.
func (t NotificationType) Valid() bool { return slices.Contains(NotificationTypes, t) }

// MaxNotificationsPage bounds a page of a user's notifications.
const MaxNotificationsPage = 100

// Notification is one message to one user about one event. Like events,
// notifications carry no PII: they are built from events alone.
type Notification struct {
	ID     string
	UserID string
	Type   NotificationType
	Title  string
	// Message is the human-readable text shown to the user.
	Message string
	// Amount is nil for notifications that are not about money.
	Amount        *Money
	Reference     string
	AccountNumber string // the recipient's own account the notification is about
	Read          bool
	CreatedAt     time.Time
}

// NotificationsFor turns one event into one notification per recipient,
// without ID and CreatedAt (the store assigns both). Every recipient appears
// at most once, because storage is keyed by (event id, user id).
//
// Errors are VALIDATION_FAILED: an unknown event type, a missing event or
// user id, a malformed amount. Retrying cannot fix them, so the notifier
// dead-letters such events.
func NotificationsFor(ev Event) ([]Notification, error) {
	if ev.ID == "" {
		return nil, Invalid("id", "event has no id")
	}
	if ev.UserID == "" {
		return nil, Invalid("user_id", "event %s (%s) has no user id", ev.ID, ev.Type)
	}
	var amount *Money
	if ev.Amount != "" {
		m, err := ParseMoney(ev.Amount)
		if err != nil {
			return nil, Invalid("amount", "event %s has a malformed amount", ev.ID)
		}
		amount = &m
	}
	needAmount := func() error {
		if amount == nil {
			return Invalid("amount", "event %s (%s) has no amount", ev.ID, ev.Type)
		}
		return nil
	}

	base := Notification{UserID: ev.UserID, Reference: ev.Reference, AccountNumber: ev.AccountNumber, Amount: amount}
	switch ev.Type {
	case EventUserCreated:
		n := base
		n.Type, n.Title = NotificationAccountCreated, "Welcome"
		n.Amount = nil
		n.Message = fmt.Sprintf("Welcome to the bank. Your account%s is open and ready to use.", clause(" ", ev.AccountNumber))
		return []Notification{n}, nil

	case EventTransferCompleted:
		if err := needAmount(); err != nil {
			return nil, err
		}
		debit := base
		debit.Type, debit.Title = NotificationTransferDebit, "Transfer sent"
		// A transfer between two accounts of one user has one party: the
		// store keeps one notification per user and event, so that user gets
		// the debit only, worded for both sides.
		if ev.CounterpartyID == ev.UserID {
			debit.Message = fmt.Sprintf("You moved %s%s to your account%s.",
				amountText(*amount), clause(" from account ", ev.AccountNumber), clause(" ", ev.CounterpartAccount))
			return []Notification{debit}, nil
		}
		debit.Message = fmt.Sprintf("You sent %s%s.", amountText(*amount), clause(" to account ", ev.CounterpartAccount))
		out := []Notification{debit}
		// An external or system receiver has no user to tell.
		if ev.CounterpartyID != "" {
			credit := base
			credit.UserID = ev.CounterpartyID
			credit.AccountNumber = ev.CounterpartAccount
			credit.Type, credit.Title = NotificationTransferCredit, "Money received"
			credit.Message = fmt.Sprintf("You received %s%s.", amountText(*amount), clause(" from account ", ev.AccountNumber))
			out = append(out, credit)
		}
		return out, nil

	case EventDepositCompleted:
		if err := needAmount(); err != nil {
			return nil, err
		}
		n := base
		n.Type, n.Title = NotificationDeposit, "Deposit received"
		n.Message = fmt.Sprintf("%s was deposited into your account%s.", amountText(*amount), clause(" ", ev.AccountNumber))
		return []Notification{n}, nil

	case EventTierUpgraded:
		if !ev.Tier.Valid() {
			return nil, Invalid("tier", "event %s has no valid tier", ev.ID)
		}
		n := base
		n.Type, n.Title = NotificationTierUpgraded, "Account upgraded"
		n.Amount = nil
		n.Message = fmt.Sprintf("Your account%s is now on %s, with higher limits.", clause(" ", ev.AccountNumber), ev.Tier)
		return []Notification{n}, nil

	case EventTransferPendingApproval:
		if err := needAmount(); err != nil {
			return nil, err
		}
		n := base
		n.Type, n.Title = NotificationTransferPendingApproval, "Transfer awaiting approval"
		n.Message = fmt.Sprintf("Your transfer of %s%s is awaiting the bank's approval. The amount is on hold in your account%s until it is approved, rejected or expires; you can cancel it meanwhile.",
			amountText(*amount), clause(" to account ", ev.CounterpartAccount), clause(" ", ev.AccountNumber))
		return []Notification{n}, nil

	case EventTransferFailed:
		n := base
		n.Type, n.Title = NotificationTransferFailed, "Transfer failed"
		what := "Your transfer"
		if amount != nil {
			what = "Your transfer of " + amountText(*amount)
		}
		what += clause(" to account ", ev.CounterpartAccount)
		// A failed transfer is still worth telling the user about when the
		// emitter forgot the reason; dead-lettering it would hide the failure.
		reason := "the bank could not complete it"
		if ev.FailureCode != "" {
			reason = string(ev.FailureCode)
		}
		n.Message = fmt.Sprintf("%s failed: %s. No money was moved.", what, reason)
		return []Notification{n}, nil
	}
	return nil, Invalid("type", "event %s has unknown type %q", ev.ID, ev.Type)
}

// amountText formats m for people ("NGN 1500.50").
func amountText(m Money) string { return Currency + " " + m.String() }

// clause returns prefix+value, or nothing when the event left value out, so
// a message never shows an empty account number.
func clause(prefix, value string) string {
	if value == "" {
		return ""
	}
	return prefix + value
}
