package graph

import "github.com/bankcore/bank/bank"

// DefaultPageSize is getNotifications' page size when first is not given
// (the schema's default, also applied to an explicit null).
const DefaultPageSize = 20

func pageSize(first *int) int {
	if first == nil {
		return DefaultPageSize
	}
	return *first
}

// toNotification is the GraphQL shape of a notification: money as a decimal
// string, absent values as null rather than "".
func toNotification(n bank.Notification) *Notification {
	out := &Notification{
		ID:            n.ID,
		Type:          NotificationType(n.Type),
		Title:         n.Title,
		Message:       n.Message,
		Reference:     nonEmpty(n.Reference),
		AccountNumber: nonEmpty(n.AccountNumber),
		Read:          n.Read,
		CreatedAt:     n.CreatedAt.UTC(),
	}
	if n.Amount != nil {
		s := n.Amount.String()
		out.Amount = &s
	}
	return out
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
