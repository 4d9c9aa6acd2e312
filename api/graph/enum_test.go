package graph

import (
	"slices"
	"testing"

	"github.com/bankcore/bank/bank"
)

// TestNotificationTypeEnumIsTheDomains: the GraphQL enum (generated from
// the schema) holds exactly the domain's notification types, in its order,
// so every stored notification can be served and nothing else can be.
func TestNotificationTypeEnumIsTheDomains(t *testing.T) {
	var want []NotificationType
	for _, typ := range bank.NotificationTypes() {
		want = append(want, NotificationType(typ))
	}
	if !slices.Equal(AllNotificationType, want) {
		t.Errorf("GraphQL NotificationType = %v, bank.NotificationTypes() = %v", AllNotificationType, want)
	}
	for _, typ := range want {
		if !typ.IsValid() {
			t.Errorf("%s is not a valid GraphQL NotificationType", typ)
		}
	}
}
