package app

import (
	"context"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bankcore/bank/api/graph"
	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/testsvc"
)

// TestNotificationTypesAgree ties the one list of notification types,
// bank.NotificationTypes, to every other place that names them: the GraphQL
// enum the API serves (generated from api/graph/schema.graphqls), the
// database's CHECK on notify.notifications.type (migrations/), and the code
// that emits them (bank.NotificationsFor: every type comes from some event).
// Adding a type takes an edit in each; this test names the one missed.
func TestNotificationTypesAgree(t *testing.T) {
	want := make([]string, len(bank.NotificationTypes))
	for i, n := range bank.NotificationTypes {
		want[i] = string(n)
	}

	var enum []string
	for _, v := range graph.AllNotificationType {
		enum = append(enum, string(v))
	}
	if !slices.Equal(enum, want) {
		t.Errorf("GraphQL enum NotificationType = %v, bank.NotificationTypes = %v", enum, want)
	}
	var served []string
	for _, v := range graph.NewExecutableSchema(graph.Config{}).Schema().Types["NotificationType"].EnumValues {
		served = append(served, v.Name)
	}
	if !slices.Equal(served, want) {
		t.Errorf("the served schema's NotificationType = %v, bank.NotificationTypes = %v", served, want)
	}

	if check := checkedTypes(t); !sameSet(check, want) {
		t.Errorf("notify.notifications' CHECK allows %v, bank.NotificationTypes = %v", check, want)
	}

	// One event of every type the bank publishes.
	events := []bank.Event{
		{ID: "e1", Type: bank.EventUserCreated, UserID: "u1", AccountNumber: "1234567897"},
		{ID: "e2", Type: bank.EventTransferCompleted, UserID: "u1", CounterpartyID: "u2", Amount: "1.00"},
		{ID: "e3", Type: bank.EventTransferFailed, UserID: "u1", Amount: "1.00", FailureCode: bank.CodeInsufficientFunds},
		{ID: "e4", Type: bank.EventDepositCompleted, UserID: "u1", Amount: "1.00"},
		{ID: "e5", Type: bank.EventTierUpgraded, UserID: "u1", Tier: bank.Tier2},
		{ID: "e6", Type: bank.EventTransferPendingApproval, UserID: "u1", Amount: "1.00"},
	}
	var emitted []string
	for _, ev := range events {
		ns, err := bank.NotificationsFor(ev)
		if err != nil {
			t.Fatalf("NotificationsFor(%s): %v", ev.Type, err)
		}
		for _, n := range ns {
			if !n.Type.Valid() {
				t.Errorf("event %s emits %s, which bank.NotificationTypes does not list", ev.Type, n.Type)
			}
			emitted = append(emitted, string(n.Type))
		}
	}
	if !sameSet(emitted, want) {
		t.Errorf("the events emit %v, bank.NotificationTypes = %v: a type nothing emits, or an event missing here", emitted, want)
	}
}

// checkedTypes reads the values the migrated schema's CHECK allows.
func checkedTypes(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testsvc.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var def string
	err = conn.QueryRow(ctx, `
		SELECT pg_get_constraintdef(c.oid)
		FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
		WHERE c.conrelid = 'notify.notifications'::regclass AND c.contype = 'c' AND a.attname = 'type'`).Scan(&def)
	if err != nil {
		t.Fatalf("read the CHECK on notify.notifications.type: %v", err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`'([A-Z_]+)'`).FindAllStringSubmatch(def, -1) {
		out = append(out, m[1])
	}
	if len(out) == 0 {
		t.Fatalf("no values in %s", def)
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
