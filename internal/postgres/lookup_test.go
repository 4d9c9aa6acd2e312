package postgres

import (
	"testing"

	"github.com/google/uuid"

	"github.com/bankcore/bank/bank"
)

// TestLedger_LookupTransfer: the one-round-trip read POST /transfers makes
// before it starts a workflow answers what ByNumber and ByKey would.
func TestLedger_LookupTransfer(t *testing.T) {
	ctx := ledgerCtx(t)
	l := NewLedger(testPool)
	from, owner, to, _ := fundedPair(ctx, t, l, 10_000)
	req := transferRequest(owner, from, to, 2_500)
	posted := mustPost(ctx, t, l, req, bank.StatusCompleted)

	look, err := l.LookupTransfer(ctx, owner, req.Reference, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if look.From == nil || look.From.AccountNumber != from || look.From.OwnerID != owner {
		t.Errorf("From = %+v, want %s owned by %s", look.From, from, owner)
	}
	if look.To == nil || look.To.AccountNumber != to {
		t.Errorf("To = %+v, want %s", look.To, to)
	}
	if look.Stored == nil {
		t.Fatal("the transfer under the key was not found")
	}
	sameTransfer(t, *look.Stored, posted)

	// A new key, a missing receiver, the system account (never a customer's)
	// and a malformed number are all absent, not errors.
	missing := "1000000009"
	if bank.ValidAccountNumber(missing) {
		if a, err := NewAccounts(testPool).ByNumber(ctx, missing); err == nil {
			t.Fatalf("fixture: %s exists (%+v)", missing, a)
		}
	}
	for _, c := range []struct{ name, keyOwner, ref, from, to string }{
		{"new key", owner, newReference(), from, missing},
		{"system account", owner, newReference(), SystemAccountNumber, "12"},
		{"key owner not a uuid", "nobody", req.Reference, "x", to},
	} {
		look, err := l.LookupTransfer(ctx, c.keyOwner, c.ref, c.from, c.to)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if look.Stored != nil {
			t.Errorf("%s: Stored = %+v, want none", c.name, look.Stored)
		}
		if c.name == "new key" && (look.From == nil || look.To != nil) {
			t.Errorf("%s: From %+v To %+v, want the sender and no receiver", c.name, look.From, look.To)
		}
		if c.name != "new key" && look.From != nil {
			t.Errorf("%s: From = %+v, want none", c.name, look.From)
		}
	}
	// Another owner's key space holds nothing under the same reference.
	if look, err := l.LookupTransfer(ctx, uuid.NewString(), req.Reference, from, to); err != nil || look.Stored != nil {
		t.Errorf("another key owner: Stored %+v, err %v", look.Stored, err)
	}
}
