package postgres

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bankcore/bank/bank"
)

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newEventID() string { return "test/" + uuid.NewString() }

// transferNotifications is what bank.NotificationsFor makes of a completed
// transfer, the common case the store serves.
func transferNotifications(t *testing.T, sender, receiver, amount string) []bank.Notification {
	t.Helper()
	ns, err := bank.NotificationsFor(bank.Event{
		ID: newEventID(), Type: bank.EventTransferCompleted, UserID: sender, CounterpartyID: receiver,
		AccountNumber: "0123456789", CounterpartAccount: "9876543210", Reference: "ref-1", Amount: amount,
	})
	if err != nil {
		t.Fatalf("NotificationsFor: %v", err)
	}
	return ns
}

func wantCode(t *testing.T, err error, code bank.Code) {
	t.Helper()
	if got := bank.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want %s", err, got, code)
	}
}

func TestNotifications_InsertForEvent(t *testing.T) {
	store := NewNotifications(testPool)

	t.Run("OK", func(t *testing.T) {
		ctx := ctxFor(t)
		sender, receiver := uuid.NewString(), uuid.NewString()
		ns := transferNotifications(t, sender, receiver, "1500.50")
		eventID := newEventID()
		got, err := store.InsertForEvent(ctx, eventID, ns)
		if err != nil {
			t.Fatalf("InsertForEvent: %v", err)
		}
		if len(got) != 2 {
			t.Fatalf("got %d notifications, want 2", len(got))
		}
		for i, n := range got {
			want := ns[i]
			if _, err := uuid.Parse(n.ID); err != nil {
				t.Errorf("[%d] id %q is not a UUID", i, n.ID)
			}
			if n.CreatedAt.IsZero() || n.Read {
				t.Errorf("[%d] createdAt %v, read %v", i, n.CreatedAt, n.Read)
			}
			if n.UserID != want.UserID || n.Type != want.Type || n.Title != want.Title || n.Message != want.Message ||
				n.Reference != want.Reference || n.AccountNumber != want.AccountNumber {
				t.Errorf("[%d] stored %+v, want %+v", i, n, want)
			}
			if n.Amount == nil || *n.Amount != 150050 {
				t.Errorf("[%d] amount = %v, want 150050 minor units", i, n.Amount)
			}
		}
		if got[0].ID == got[1].ID {
			t.Error("both notifications got one id")
		}
	})

	t.Run("NoAmountNoReference", func(t *testing.T) {
		ctx := ctxFor(t)
		ns, err := bank.NotificationsFor(bank.Event{ID: "e", Type: bank.EventUserCreated, UserID: uuid.NewString()})
		if err != nil {
			t.Fatal(err)
		}
		got, err := store.InsertForEvent(ctx, newEventID(), ns)
		if err != nil {
			t.Fatalf("InsertForEvent: %v", err)
		}
		if n := got[0]; n.Amount != nil || n.Reference != "" || n.AccountNumber != "" {
			t.Errorf("stored %+v, want no amount, reference or account", n)
		}
	})

	t.Run("RedeliveryReturnsTheStoredRows", func(t *testing.T) {
		ctx := ctxFor(t)
		ns := transferNotifications(t, uuid.NewString(), uuid.NewString(), "10")
		eventID := newEventID()
		first, err := store.InsertForEvent(ctx, eventID, ns)
		if err != nil {
			t.Fatalf("first InsertForEvent: %v", err)
		}
		// A redelivery builds the notifications afresh; only the key matters.
		again := transferNotifications(t, ns[0].UserID, ns[1].UserID, "10")
		second, err := store.InsertForEvent(ctx, eventID, again)
		if err != nil {
			t.Fatalf("second InsertForEvent: %v", err)
		}
		if len(second) != 2 || second[0].ID != first[0].ID || second[1].ID != first[1].ID ||
			!second[0].CreatedAt.Equal(first[0].CreatedAt) {
			t.Errorf("redelivery returned %+v, want the first delivery's rows %+v", second, first)
		}
		if n, err := store.CountForEvent(ctx, eventID); err != nil || n != 2 {
			t.Errorf("CountForEvent = %d, %v; want 2", n, err)
		}
	})

	t.Run("PartlyStoredBefore", func(t *testing.T) {
		ctx := ctxFor(t)
		ns := transferNotifications(t, uuid.NewString(), uuid.NewString(), "10")
		eventID := newEventID()
		debitOnly, err := store.InsertForEvent(ctx, eventID, ns[:1])
		if err != nil {
			t.Fatalf("InsertForEvent: %v", err)
		}
		// Credit first: the result still follows the input's order.
		got, err := store.InsertForEvent(ctx, eventID, []bank.Notification{ns[1], ns[0]})
		if err != nil {
			t.Fatalf("InsertForEvent: %v", err)
		}
		if len(got) != 2 || got[0].Type != bank.NotificationTransferCredit || got[1].ID != debitOnly[0].ID {
			t.Errorf("got %+v; want the new credit, then the debit stored before (%s)", got, debitOnly[0].ID)
		}
		// Rows of the event for users not asked about are returned too.
		all, err := store.InsertForEvent(ctx, eventID, nil)
		if err != nil || len(all) != 2 {
			t.Errorf("InsertForEvent(nil) = %d rows, %v; want both stored rows", len(all), err)
		}
	})

	t.Run("ConcurrentDeliveriesStoreOnce", func(t *testing.T) {
		ctx := ctxFor(t)
		ns := transferNotifications(t, uuid.NewString(), uuid.NewString(), "99.99")
		eventID := newEventID()
		const deliveries = 8
		results := make([][]bank.Notification, deliveries)
		errs := make([]error, deliveries)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range deliveries {
			wg.Go(func() {
				<-start
				results[i], errs[i] = store.InsertForEvent(ctx, eventID, ns)
			})
		}
		close(start)
		wg.Wait()
		for i := range deliveries {
			if errs[i] != nil {
				t.Fatalf("delivery %d: %v", i, errs[i])
			}
			if len(results[i]) != 2 || results[i][0].ID != results[0][0].ID || results[i][1].ID != results[0][1].ID {
				t.Errorf("delivery %d returned %+v, want the same rows as delivery 0 %+v", i, results[i], results[0])
			}
		}
		if n, err := store.CountForEvent(ctx, eventID); err != nil || n != 2 {
			t.Errorf("CountForEvent = %d, %v; want 2", n, err)
		}
	})

	t.Run("AllOrNothing", func(t *testing.T) {
		// The inserts go in one round trip, without BEGIN: the second one
		// failing in the database must take the first with it, or a
		// redelivery would find the event half stored.
		ctx := ctxFor(t)
		ns := transferNotifications(t, uuid.NewString(), uuid.NewString(), "5.00")
		negative := bank.Money(-1)
		ns[1].Amount = &negative // violates amount_minor >= 0
		eventID := newEventID()
		if _, err := store.InsertForEvent(ctx, eventID, ns); err == nil {
			t.Fatal("InsertForEvent with a negative amount succeeded")
		}
		if n, err := store.CountForEvent(ctx, eventID); err != nil || n != 0 {
			t.Fatalf("CountForEvent after the failed insert = %d, %v; want 0", n, err)
		}
		// The pool's connection is usable afterwards.
		ok := transferNotifications(t, uuid.NewString(), uuid.NewString(), "5.00")
		if got, err := store.InsertForEvent(ctx, eventID, ok); err != nil || len(got) != 2 {
			t.Fatalf("InsertForEvent after the failure = %d rows, %v; want 2, nil", len(got), err)
		}
	})

	t.Run("ErrValidation", func(t *testing.T) {
		ctx := ctxFor(t)
		ns := transferNotifications(t, uuid.NewString(), uuid.NewString(), "1")
		bad := ns[0]
		bad.UserID = "user-1"
		_, err := store.InsertForEvent(ctx, newEventID(), []bank.Notification{bad})
		wantCode(t, err, bank.CodeValidation)

		_, err = store.InsertForEvent(ctx, newEventID(), []bank.Notification{ns[0], ns[0]})
		wantCode(t, err, bank.CodeValidation)

		_, err = store.InsertForEvent(ctx, "", ns)
		wantCode(t, err, bank.CodeValidation)

		unknown := ns[0]
		unknown.Type = "SPAM"
		_, err = store.InsertForEvent(ctx, newEventID(), []bank.Notification{unknown})
		wantCode(t, err, bank.CodeValidation)
	})
}

// insertAt stores a notification with a chosen creation time, so tests can
// make ties that real inserts only produce by chance.
func insertAt(t *testing.T, userID string, at time.Time) string {
	t.Helper()
	id := uuid.New()
	_, err := testPool.Exec(ctxFor(t), `
		INSERT INTO notify.notifications (id, user_id, event_id, type, title, message, created_at)
		VALUES ($1, $2, $3, 'TIER_UPGRADED', 't', 'm', $4)`, id, userID, newEventID(), at)
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
	return id.String()
}

func TestNotifications_List(t *testing.T) {
	store := NewNotifications(testPool)

	t.Run("PagesNewestFirstWithoutGapsOrRepeats", func(t *testing.T) {
		ctx := ctxFor(t)
		user, other := uuid.NewString(), uuid.NewString()
		// 23 rows over 5 timestamps: ties on created_at must be broken by id,
		// or keyset pagination would skip or repeat rows at page borders.
		base := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
		want := map[string]bool{}
		for i := range 23 {
			want[insertAt(t, user, base.Add(time.Duration(i%5)*time.Microsecond))] = true
		}
		insertAt(t, other, base.Add(time.Hour))

		var got []bank.Notification
		cursor, pages := "", 0
		for {
			page, next, err := store.List(ctx, user, 5, cursor)
			if err != nil {
				t.Fatalf("List page %d: %v", pages, err)
			}
			pages++
			got = append(got, page...)
			if next == "" {
				break
			}
			if len(page) != 5 {
				t.Fatalf("page %d has %d rows but a next cursor", pages, len(page))
			}
			cursor = next
		}
		if pages != 5 || len(got) != 23 {
			t.Fatalf("%d rows over %d pages, want 23 over 5", len(got), pages)
		}
		for i, n := range got {
			if !want[n.ID] {
				t.Errorf("row %s is not the user's or is repeated", n.ID)
			}
			delete(want, n.ID)
			if i > 0 {
				prev := got[i-1]
				if n.CreatedAt.After(prev.CreatedAt) || (n.CreatedAt.Equal(prev.CreatedAt) && n.ID > prev.ID) {
					t.Errorf("row %d (%v %s) sorts before row %d (%v %s)", i, n.CreatedAt, n.ID, i-1, prev.CreatedAt, prev.ID)
				}
			}
		}
	})

	t.Run("ExactPageHasNoNextCursor", func(t *testing.T) {
		ctx := ctxFor(t)
		user := uuid.NewString()
		for i := range 3 {
			insertAt(t, user, time.Now().Add(time.Duration(i)*time.Second))
		}
		page, next, err := store.List(ctx, user, 3, "")
		if err != nil || len(page) != 3 || next != "" {
			t.Errorf("List = %d rows, next %q, %v; want 3 rows and no cursor", len(page), next, err)
		}
	})

	t.Run("CursorSurvivesNewNotifications", func(t *testing.T) {
		ctx := ctxFor(t)
		user := uuid.NewString()
		for range 4 {
			if _, err := store.InsertForEvent(ctx, newEventID(), transferNotifications(t, user, uuid.NewString(), "1")[:1]); err != nil {
				t.Fatal(err)
			}
		}
		first, next, err := store.List(ctx, user, 2, "")
		if err != nil || next == "" {
			t.Fatalf("List = %v, %q, %v", first, next, err)
		}
		if _, err := store.InsertForEvent(ctx, newEventID(), transferNotifications(t, user, uuid.NewString(), "2")[:1]); err != nil {
			t.Fatal(err)
		}
		second, _, err := store.List(ctx, user, 10, next)
		if err != nil {
			t.Fatal(err)
		}
		if len(second) != 2 {
			t.Fatalf("second page has %d rows, want the 2 older ones", len(second))
		}
		for _, n := range second {
			if n.ID == first[0].ID || n.ID == first[1].ID {
				t.Errorf("row %s repeated on the second page", n.ID)
			}
		}
	})

	t.Run("UnknownUserIsEmpty", func(t *testing.T) {
		for _, user := range []string{uuid.NewString(), "not-a-uuid"} {
			page, next, err := store.List(ctxFor(t), user, 20, "")
			if err != nil || len(page) != 0 || next != "" || page == nil {
				t.Errorf("List(%q) = %v, %q, %v; want an empty page", user, page, next, err)
			}
		}
	})

	t.Run("ErrValidation", func(t *testing.T) {
		ctx := ctxFor(t)
		user := uuid.NewString()
		for _, first := range []int{0, -1, bank.MaxNotificationsPage + 1} {
			_, _, err := store.List(ctx, user, first, "")
			wantCode(t, err, bank.CodeValidation)
		}
		for _, cursor := range []string{"!!", "bm90LWEtY3Vyc29y", encodeCursor(time.Now(), "x")} {
			_, _, err := store.List(ctx, user, 20, cursor)
			wantCode(t, err, bank.CodeValidation)
		}
	})
}

func TestNotifications_MarkRead(t *testing.T) {
	store := NewNotifications(testPool)
	ctx := ctxFor(t)
	sender, receiver := uuid.NewString(), uuid.NewString()
	stored, err := store.InsertForEvent(ctx, newEventID(), transferNotifications(t, sender, receiver, "5"))
	if err != nil {
		t.Fatal(err)
	}
	debit := stored[0]

	t.Run("OK", func(t *testing.T) {
		n, err := store.MarkRead(ctx, sender, debit.ID)
		if err != nil {
			t.Fatalf("MarkRead: %v", err)
		}
		if !n.Read || n.ID != debit.ID || n.Message != debit.Message {
			t.Errorf("MarkRead = %+v, want %s read", n, debit.ID)
		}
		// Idempotent: a client retrying the mutation gets the same answer.
		if n, err := store.MarkRead(ctx, sender, debit.ID); err != nil || !n.Read {
			t.Errorf("second MarkRead = %+v, %v", n, err)
		}
		page, _, err := store.List(ctx, sender, 20, "")
		if err != nil || len(page) != 1 || !page[0].Read {
			t.Errorf("List after MarkRead = %+v, %v", page, err)
		}
		// The other party's copy is untouched.
		page, _, err = store.List(ctx, receiver, 20, "")
		if err != nil || len(page) != 1 || page[0].Read {
			t.Errorf("receiver's List = %+v, %v", page, err)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		for _, tc := range []struct{ user, id string }{
			{receiver, debit.ID}, // someone else's
			{sender, uuid.NewString()},
			{sender, "not-a-uuid"},
			{"not-a-uuid", debit.ID},
		} {
			_, err := store.MarkRead(ctx, tc.user, tc.id)
			wantCode(t, err, bank.CodeNotFound)
		}
	})
}

func TestNotifications_ListUsesTheIndex(t *testing.T) {
	ctx := ctxFor(t)
	tx, err := testPool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// The table is small in tests; without this the planner would rightly
	// prefer a sequential scan and the test would say nothing.
	if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, `EXPLAIN SELECT id FROM notify.notifications
		WHERE user_id = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT 21`,
		uuid.New(), time.Now(), uuid.New())
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(lines, "\n")
	// The row comparison must be an index condition, not a filter, or a
	// deep page would scan every newer row of the user.
	if !strings.Contains(plan, "notifications_user_newest") || strings.Contains(plan, "Sort") ||
		!strings.Contains(plan, "Index Cond: ((user_id = ") || !strings.Contains(plan, "AND (ROW(created_at, id) < ROW(") {
		t.Errorf("plan does not walk notifications_user_newest by key:\n%s", plan)
	}
}

func TestNotifications_CursorAt(t *testing.T) {
	store := NewNotifications(testPool)
	ctx := ctxFor(t)
	user, other := uuid.NewString(), uuid.NewString()
	base := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	for i := range 5 {
		insertAt(t, user, base.Add(time.Duration(i%2)*time.Microsecond)) // ties on created_at
	}
	all, _, err := store.List(ctx, user, 10, "")
	if err != nil || len(all) != 5 {
		t.Fatalf("List = %d rows, %v", len(all), err)
	}

	t.Run("ContinuesAfterTheID", func(t *testing.T) {
		for i, n := range all {
			cursor, err := store.CursorAt(ctx, user, n.ID)
			if err != nil {
				t.Fatalf("CursorAt(%s): %v", n.ID, err)
			}
			rest, _, err := store.List(ctx, user, 10, cursor)
			if err != nil {
				t.Fatalf("List after %s: %v", n.ID, err)
			}
			if len(rest) != len(all)-i-1 {
				t.Fatalf("after row %d: %d rows, want %d", i, len(rest), len(all)-i-1)
			}
			for j, r := range rest {
				if r.ID != all[i+1+j].ID {
					t.Errorf("after row %d: row %d is %s, want %s", i, j, r.ID, all[i+1+j].ID)
				}
			}
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		for _, tc := range []struct{ user, id string }{
			{other, all[0].ID}, // someone else's
			{user, uuid.NewString()},
			{user, "not-a-uuid"},
			{"not-a-uuid", all[0].ID},
		} {
			_, err := store.CursorAt(ctx, tc.user, tc.id)
			wantCode(t, err, bank.CodeNotFound)
		}
	})
}
