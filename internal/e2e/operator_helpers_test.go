package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/postgres"
	"github.com/bankcore/bank/internal/testenv"
)

// operator creates an operator in the stack's database, as `bank operator
// create` does, and logs it in through POST /auth/login: the client carries
// a token with the operator role.
func operator(t *testing.T, st *testenv.Stack) *testenv.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	email := "operator-" + testenv.Suffix() + "@bank.local"
	password := "operator-password-" + testenv.Suffix()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := postgres.Connect(ctx, st.Config.DatabaseURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	created, err := postgres.NewUsers(pool).EnsureOperator(ctx, email, "Test Operator", string(hash))
	if err != nil || !created {
		t.Fatalf("ensure operator: created=%v err=%v", created, err)
	}
	c := st.Client(t)
	c.Token = login(t, c, email, password)
	return c
}

// transferBody is the wire shape of <Transfer>; pointers tell null from "".
type transferBody struct {
	ID          string  `json:"id"`
	Reference   string  `json:"reference"`
	Status      string  `json:"status"`
	FromAccount string  `json:"from_account"`
	ToAccount   string  `json:"to_account"`
	Amount      string  `json:"amount"`
	Currency    string  `json:"currency"`
	Narration   string  `json:"narration"`
	FailureCode *string `json:"failure_code"`
	CreatedAt   *string `json:"created_at"`
	CompletedAt *string `json:"completed_at"`
}

// transferFields are the contract's <Transfer> members, every one present
// (failure_code and completed_at possibly null).
var transferFields = []string{"id", "reference", "status", "from_account", "to_account", "amount", "currency",
	"narration", "failure_code", "created_at", "completed_at"}

// wantTransfer asserts a completed transfer-shaped answer with the status
// and returns it.
func wantTransfer(t *testing.T, r testenv.Response, status int) transferBody {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	m := r.JSON(t)
	for _, f := range transferFields {
		if _, ok := m[f]; !ok {
			t.Errorf("transfer body lacks %q: %s", f, r.Body)
		}
	}
	if len(m) != len(transferFields) {
		t.Errorf("transfer body has %d members, want exactly %v: %s", len(m), transferFields, r.Body)
	}
	var tr transferBody
	r.Decode(t, &tr)
	if tr.ID == "" || tr.Status != "COMPLETED" || tr.Currency != "NGN" || tr.FailureCode != nil {
		t.Fatalf("transfer = %s", r.Body)
	}
	for name, ts := range map[string]*string{"created_at": tr.CreatedAt, "completed_at": tr.CompletedAt} {
		if ts == nil {
			t.Fatalf("%s is null in a completed transfer: %s", name, r.Body)
		}
		if _, err := time.Parse(time.RFC3339Nano, *ts); err != nil {
			t.Errorf("%s %q: %v", name, *ts, err)
		}
	}
	return tr
}

// sameTransfer compares two answers member by member (timestamps by value).
func sameTransfer(a, b transferBody) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// deposit funds an account through the operator route and asserts a 201.
func deposit(t *testing.T, op *testenv.Client, account, amount string) transferBody {
	t.Helper()
	r := op.Do("POST", "/accounts/"+account+"/deposits", map[string]string{
		"reference": "dep-" + testenv.Suffix(), "amount": amount, "narration": "funding",
	})
	return wantTransfer(t, r, 201)
}

// balance reads an account's balance through GET /accounts/{n}.
func balance(t *testing.T, c *testenv.Client, account string) string {
	t.Helper()
	r := c.Do("GET", "/accounts/"+account, nil)
	if r.Status != 200 {
		t.Fatalf("GET /accounts/%s = %d %s", account, r.Status, r.Body)
	}
	var a accountBody
	r.Decode(t, &a)
	return a.Balance
}

type entryBody struct {
	ID                  string `json:"id"`
	Kind                string `json:"kind"`
	TransferReference   string `json:"transfer_reference"`
	Direction           string `json:"direction"`
	Amount              string `json:"amount"`
	BalanceAfter        string `json:"balance_after"`
	CounterpartyAccount string `json:"counterparty_account"`
	Narration           string `json:"narration"`
	CreatedAt           string `json:"created_at"`
}

type entryPage struct {
	Items      []entryBody `json:"items"`
	NextCursor *string     `json:"next_cursor"`
}

// history walks an account's whole history, newest first, limit per page.
func history(t *testing.T, c *testenv.Client, account string, limit int) []entryBody {
	t.Helper()
	var all []entryBody
	path := fmt.Sprintf("/accounts/%s/transactions?limit=%d", account, limit)
	for page := 0; ; page++ {
		if page > 10_000 {
			t.Fatal("history does not end")
		}
		r := c.Do("GET", path, nil)
		if r.Status != 200 {
			t.Fatalf("GET %s = %d %s", path, r.Status, r.Body)
		}
		var p entryPage
		r.Decode(t, &p)
		if p.Items == nil {
			t.Fatalf("items is not an array: %s", r.Body)
		}
		if len(p.Items) > limit {
			t.Fatalf("page of %d items, limit %d", len(p.Items), limit)
		}
		all = append(all, p.Items...)
		if p.NextCursor == nil {
			return all
		}
		path = fmt.Sprintf("/accounts/%s/transactions?limit=%d&cursor=%s", account, limit, url.QueryEscape(*p.NextCursor))
	}
}

// kobo parses a decimal string as the API prints it.
func kobo(t testing.TB, s string) int64 {
	t.Helper()
	m, err := bank.ParseMoney(s)
	if err != nil {
		t.Fatalf("amount %q: %v", s, err)
	}
	return int64(m)
}

// naira prints minor units as the API does.
func naira(k int64) string { return bank.Money(k).String() }

// unknownAccount is a well-formed account number no one holds.
func unknownAccount() string { return bank.NewAccountNumber() }
