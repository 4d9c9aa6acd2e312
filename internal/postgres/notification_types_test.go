package postgres

import (
	"testing"

	"github.com/google/uuid"

	"github.com/bankcore/bank/bank"
)

// TestNotificationTypesMatchTheSchema: the notify schema's CHECK
// constraint accepts exactly bank.NotificationTypes().
func TestNotificationTypesMatchTheSchema(t *testing.T) {
	ctx := ledgerCtx(t)
	insert := func(typ string) error {
		tx, err := testPool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback(ctx) }()
		_, err = tx.Exec(ctx, `INSERT INTO notify.notifications (id, user_id, event_id, type, title, message)
			VALUES ($1, $2, $3, $4, 't', 'm')`, uuid.New(), uuid.New(), "schema-test/"+uuid.NewString(), typ)
		return err
	}
	for _, typ := range bank.NotificationTypes() {
		if err := insert(string(typ)); err != nil {
			t.Errorf("%s refused by the schema: %v", typ, err)
		}
	}
	for _, typ := range []string{"TRANSFER", "transfer_failed", "TRANSFER_REVERSED_X", ""} {
		if err := insert(typ); !isCheckViolation(err) {
			t.Errorf("%q: %v, want a check violation", typ, err)
		}
	}
}
