// Package fanout carries stored notifications from the notifier to the API
// instances whose GraphQL subscribers are waiting for them, over Redis
// pub/sub.
//
// Each notification goes to the channel <prefix>notify:<user id>. Every API
// instance runs one Hub: a single PSUBSCRIBE connection on
// <prefix>notify:* that routes messages to the local subscribers of each
// user, so the number of Redis connections does not grow with the number of
// WebSocket clients.
//
// Delivery is best effort and may repeat: Redis pub/sub keeps nothing for a
// subscriber that is reconnecting, and the notifier re-publishes when an
// event is redelivered. The stored notifications (getNotifications) are the
// record; clients deduplicate live ones by id and re-read the list after a
// reconnect.
package fanout

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bankcore/bank/bank"
)

// Channel returns the Redis channel of a user's notifications.
func Channel(prefix, userID string) string { return prefix + "notify:" + userID }

// pattern returns the PSUBSCRIBE pattern matching every user's channel. The
// prefix is escaped so that glob characters in it match only themselves.
func pattern(prefix string) string {
	var b strings.Builder
	for _, r := range prefix {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String() + "notify:*"
}

// message is a notification on the wire, in the shape of the GraphQL
// Notification type, so that a subscriber could forward it untouched.
type message struct {
	ID            string                `json:"id"`
	Type          bank.NotificationType `json:"type"`
	Title         string                `json:"title"`
	Message       string                `json:"message"`
	Amount        *string               `json:"amount"`
	Reference     *string               `json:"reference"`
	AccountNumber *string               `json:"accountNumber"`
	Read          bool                  `json:"read"`
	CreatedAt     string                `json:"createdAt"`
}

func encode(n bank.Notification) ([]byte, error) {
	m := message{
		ID:            n.ID,
		Type:          n.Type,
		Title:         n.Title,
		Message:       n.Message,
		Reference:     nonEmpty(n.Reference),
		AccountNumber: nonEmpty(n.AccountNumber),
		Read:          n.Read,
		CreatedAt:     n.CreatedAt.UTC().Format(time.RFC3339Nano),
	}
	if n.Amount != nil {
		s := n.Amount.String()
		m.Amount = &s
	}
	return json.Marshal(m)
}

// decode is encode's inverse; userID comes from the channel name, which the
// payload does not repeat.
func decode(userID, payload string) (bank.Notification, error) {
	var m message
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		return bank.Notification{}, fmt.Errorf("decode notification: %w", err)
	}
	if m.ID == "" || !m.Type.Valid() {
		return bank.Notification{}, fmt.Errorf("decode notification: missing id or unknown type %q", m.Type)
	}
	at, err := time.Parse(time.RFC3339Nano, m.CreatedAt)
	if err != nil {
		return bank.Notification{}, fmt.Errorf("decode notification %s: createdAt: %w", m.ID, err)
	}
	n := bank.Notification{
		ID:            m.ID,
		UserID:        userID,
		Type:          m.Type,
		Title:         m.Title,
		Message:       m.Message,
		Reference:     deref(m.Reference),
		AccountNumber: deref(m.AccountNumber),
		Read:          m.Read,
		CreatedAt:     at,
	}
	if m.Amount != nil {
		a, err := bank.ParseMoney(*m.Amount)
		if err != nil {
			return bank.Notification{}, fmt.Errorf("decode notification %s: amount: %w", m.ID, err)
		}
		n.Amount = &a
	}
	return n, nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
