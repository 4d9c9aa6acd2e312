package bank

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNotificationsFor(t *testing.T) {
	const (
		sender, receiver = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
		fromAcc, toAcc   = "0123456789", "9876543210"
	)
	amt := func(m Money) *Money { return &m }
	// want is the part of a notification that the test pins down; message
	// text is checked by fragments so wording can improve without churn.
	type want struct {
		userID        string
		typ           NotificationType
		title         string
		amount        *Money
		reference     string
		accountNumber string
		mentions      []string
	}
	for _, tc := range []struct {
		name string
		ev   Event
		want []want
	}{
		{
			name: "user created welcomes the owner with the account number",
			ev:   Event{ID: "e1", Type: EventUserCreated, UserID: sender, AccountNumber: fromAcc},
			want: []want{{userID: sender, typ: NotificationAccountCreated, title: "Welcome",
				accountNumber: fromAcc, mentions: []string{fromAcc}}},
		},
		{
			name: "transfer completed debits the sender and credits the receiver",
			ev: Event{ID: "e2", Type: EventTransferCompleted, UserID: sender, CounterpartyID: receiver,
				AccountNumber: fromAcc, CounterpartAccount: toAcc, Reference: "ref-1", Amount: "1500.5"},
			want: []want{
				{userID: sender, typ: NotificationTransferDebit, title: "Transfer sent", amount: amt(150050),
					reference: "ref-1", accountNumber: fromAcc, mentions: []string{"NGN 1500.50", toAcc}},
				{userID: receiver, typ: NotificationTransferCredit, title: "Money received", amount: amt(150050),
					reference: "ref-1", accountNumber: toAcc, mentions: []string{"NGN 1500.50", fromAcc}},
			},
		},
		{
			name: "transfer to a receiver without a user skips the credit",
			ev: Event{ID: "e3", Type: EventTransferCompleted, UserID: sender,
				AccountNumber: fromAcc, CounterpartAccount: toAcc, Reference: "ref-2", Amount: "10"},
			want: []want{{userID: sender, typ: NotificationTransferDebit, title: "Transfer sent", amount: amt(1000),
				reference: "ref-2", accountNumber: fromAcc, mentions: []string{"NGN 10.00"}}},
		},
		{
			name: "transfer between one user's accounts makes one notification",
			ev: Event{ID: "e4", Type: EventTransferCompleted, UserID: sender, CounterpartyID: sender,
				AccountNumber: fromAcc, CounterpartAccount: toAcc, Reference: "ref-3", Amount: "0.01"},
			want: []want{{userID: sender, typ: NotificationTransferDebit, title: "Transfer sent", amount: amt(1),
				reference: "ref-3", accountNumber: fromAcc, mentions: []string{"NGN 0.01", fromAcc, toAcc}}},
		},
		{
			name: "deposit tells the account owner",
			ev: Event{ID: "e5", Type: EventDepositCompleted, UserID: receiver, AccountNumber: toAcc,
				Reference: "dep-1", Amount: "250000.00"},
			want: []want{{userID: receiver, typ: NotificationDeposit, title: "Deposit received", amount: amt(25_000_000),
				reference: "dep-1", accountNumber: toAcc, mentions: []string{"NGN 250000.00", toAcc}}},
		},
		{
			name: "tier upgraded names the new tier",
			ev:   Event{ID: "e6", Type: EventTierUpgraded, UserID: sender, AccountNumber: fromAcc, Tier: Tier2},
			want: []want{{userID: sender, typ: NotificationTierUpgraded, title: "Account upgraded",
				accountNumber: fromAcc, mentions: []string{"TIER_2", fromAcc}}},
		},
		{
			name: "transfer failed tells the sender why",
			ev: Event{ID: "e7", Type: EventTransferFailed, UserID: sender, CounterpartyID: receiver,
				AccountNumber: fromAcc, CounterpartAccount: toAcc, Reference: "ref-4", Amount: "60000",
				FailureCode: CodeSingleLimit},
			want: []want{{userID: sender, typ: NotificationTransferFailed, title: "Transfer failed", amount: amt(6_000_000),
				reference: "ref-4", accountNumber: fromAcc, mentions: []string{"SINGLE_LIMIT_EXCEEDED", "NGN 60000.00", toAcc}}},
		},
		{
			name: "transfer held for approval tells the sender only",
			ev: Event{ID: "e8", Type: EventTransferPendingApproval, UserID: sender, CounterpartyID: receiver,
				AccountNumber: fromAcc, CounterpartAccount: toAcc, Reference: "ref-5", Amount: "1500000"},
			want: []want{{userID: sender, typ: NotificationTransferPendingApproval, title: "Transfer awaiting approval",
				amount: amt(150_000_000), reference: "ref-5", accountNumber: fromAcc,
				mentions: []string{"NGN 1500000.00", toAcc, "on hold", "cancel"}}},
		},
		{
			name: "a rejected held transfer fails with its code",
			ev: Event{ID: "e9", Type: EventTransferFailed, UserID: sender, AccountNumber: fromAcc,
				CounterpartAccount: toAcc, Reference: "ref-5", Amount: "1500000", FailureCode: CodeRejected},
			want: []want{{userID: sender, typ: NotificationTransferFailed, title: "Transfer failed", amount: amt(150_000_000),
				reference: "ref-5", accountNumber: fromAcc, mentions: []string{"REJECTED", "No money was moved"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NotificationsFor(tc.ev)
			if err != nil {
				t.Fatalf("NotificationsFor: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d notifications, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				n := got[i]
				if n.UserID != w.userID || n.Type != w.typ || n.Title != w.title ||
					n.Reference != w.reference || n.AccountNumber != w.accountNumber {
					t.Errorf("[%d] = %+v, want %+v", i, n, w)
				}
				if (n.Amount == nil) != (w.amount == nil) || (n.Amount != nil && *n.Amount != *w.amount) {
					t.Errorf("[%d] amount = %v, want %v", i, n.Amount, w.amount)
				}
				for _, m := range w.mentions {
					if !strings.Contains(n.Message, m) {
						t.Errorf("[%d] message %q does not mention %q", i, n.Message, m)
					}
				}
				if n.ID != "" || !n.CreatedAt.IsZero() || n.Read {
					t.Errorf("[%d] store-owned fields set: %+v", i, n)
				}
				if !n.Type.Valid() {
					t.Errorf("[%d] type %q not valid", i, n.Type)
				}
			}
		})
	}
}

func TestNotificationsForRejects(t *testing.T) {
	good := Event{ID: "e", Type: EventTransferCompleted, UserID: "u", CounterpartyID: "v", Amount: "1.00"}
	for _, tc := range []struct {
		name  string
		edit  func(*Event)
		field string
	}{
		{"unknown type", func(e *Event) { e.Type = "account_closed" }, "type"},
		{"empty type", func(e *Event) { e.Type = "" }, "type"},
		{"missing user id", func(e *Event) { e.UserID = "" }, "user_id"},
		{"missing event id", func(e *Event) { e.ID = "" }, "id"},
		{"malformed amount", func(e *Event) { e.Amount = "1e3" }, "amount"},
		{"negative amount", func(e *Event) { e.Amount = "-5" }, "amount"},
		{"transfer without amount", func(e *Event) { e.Amount = "" }, "amount"},
		{"deposit without amount", func(e *Event) { e.Type, e.Amount = EventDepositCompleted, "" }, "amount"},
		{"tier upgrade without tier", func(e *Event) { e.Type = EventTierUpgraded }, "tier"},
		{"pending approval without amount", func(e *Event) { e.Type, e.Amount = EventTransferPendingApproval, "" }, "amount"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := good
			tc.edit(&ev)
			ns, err := NotificationsFor(ev)
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeValidation {
				t.Fatalf("NotificationsFor = %v, %v; want a VALIDATION_FAILED *Error", ns, err)
			}
			if e.Field != tc.field {
				t.Errorf("field = %q, want %q", e.Field, tc.field)
			}
		})
	}
}

func TestWelcomeWithoutAccountNumber(t *testing.T) {
	// A field the event left out is dropped from the sentence, never shown
	// as a blank.
	ns, err := NotificationsFor(Event{ID: "e", Type: EventUserCreated, UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ns[0].Message; got != "Welcome to the bank. Your account is open and ready to use." {
		t.Errorf("message = %q", got)
	}
}

func TestNotificationTypeValid(t *testing.T) {
	if NotificationType("TRANSFER").Valid() || NotificationType("").Valid() || NotificationType("transfer_failed").Valid() {
		t.Error("unknown type reported valid")
	}
	// The contract's list, in its order (CONTRACT.md, GraphQL
	// Notification.type; the types of later issues join it as they land).
	want := []NotificationType{"ACCOUNT_CREATED", "TRANSFER_DEBIT", "TRANSFER_CREDIT", "DEPOSIT", "TIER_UPGRADED",
		"TRANSFER_FAILED", "TRANSFER_PENDING_APPROVAL"}
	got := NotificationTypes
	if !slices.Equal(got, want) {
		t.Errorf("NotificationTypes = %v, want %v", got, want)
	}
	for _, typ := range got {
		if !typ.Valid() {
			t.Errorf("%s not valid", typ)
		}
	}
}
