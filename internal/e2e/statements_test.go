package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/pdftext"
	"github.com/bankcore/bank/internal/postgres"
	"github.com/bankcore/bank/internal/statementpdf"
	"github.com/bankcore/bank/internal/testenv"
)

// statementItem is a history item as a statement lists it.
type statementItem struct {
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

type statementBody struct {
	AccountNumber  string          `json:"account_number"`
	OwnerName      string          `json:"owner_name"`
	From           string          `json:"from"`
	To             string          `json:"to"`
	OpeningBalance string          `json:"opening_balance"`
	ClosingBalance string          `json:"closing_balance"`
	TotalCredits   string          `json:"total_credits"`
	TotalDebits    string          `json:"total_debits"`
	Items          []statementItem `json:"items"`
}

var statementFields = []string{"account_number", "owner_name", "from", "to", "opening_balance", "closing_balance",
	"total_credits", "total_debits", "items"}

// lagosToday is today's date in Lagos, as statements count days.
func lagosToday() string { return time.Now().In(bank.Lagos).Format(bank.DateLayout) }

func statementPath(account, from, to string, extra ...string) string {
	p := fmt.Sprintf("/accounts/%s/statement?from=%s&to=%s", account, from, to)
	for _, e := range extra {
		p += "&" + e
	}
	return p
}

// wantJSONStatement asserts a JSON statement: every member, the figures
// adding up, items oldest first with balances that chain from the opening.
func wantJSONStatement(t *testing.T, r testenv.Response) statementBody {
	t.Helper()
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("statement = %d %s: %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	m := r.JSON(t)
	for _, f := range statementFields {
		if _, ok := m[f]; !ok {
			t.Errorf("statement lacks %q: %s", f, r.Body)
		}
	}
	var s statementBody
	r.Decode(t, &s)
	if s.Items == nil {
		t.Fatalf("items is not an array: %s", r.Body)
	}
	if kobo(t, s.OpeningBalance)+kobo(t, s.TotalCredits)-kobo(t, s.TotalDebits) != kobo(t, s.ClosingBalance) {
		t.Errorf("opening %s + credits %s - debits %s != closing %s", s.OpeningBalance, s.TotalCredits, s.TotalDebits, s.ClosingBalance)
	}
	bal, credits, debits := kobo(t, s.OpeningBalance), int64(0), int64(0)
	var prev time.Time
	for i, it := range s.Items {
		at, err := time.Parse(time.RFC3339Nano, it.CreatedAt)
		if err != nil || at.Before(prev) {
			t.Errorf("item %d at %q (err %v) is not oldest first", i, it.CreatedAt, err)
		}
		prev = at
		if it.Direction == "CREDIT" {
			bal += kobo(t, it.Amount)
			credits += kobo(t, it.Amount)
		} else {
			bal -= kobo(t, it.Amount)
			debits += kobo(t, it.Amount)
		}
		if kobo(t, it.BalanceAfter) != bal {
			t.Errorf("item %d balance_after %s, want %s from the opening and the items before", i, it.BalanceAfter, naira(bal))
		}
	}
	if naira(credits) != s.TotalCredits || naira(debits) != s.TotalDebits || naira(bal) != s.ClosingBalance {
		t.Errorf("items add up to credits %s debits %s closing %s; statement says %s %s %s",
			naira(credits), naira(debits), naira(bal), s.TotalCredits, s.TotalDebits, s.ClosingBalance)
	}
	return s
}

// TestStatementInThreeFormats: one month of a customer's money (deposits
// in, a transfer out, a transfer in) as JSON, CSV and PDF, each checked
// against the others and against the history.
func TestStatementInThreeFormats(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	alice, ra := signUp(t, st)
	bob, rb := signUp(t, st)
	a, b := ra.Account.AccountNumber, rb.Account.AccountNumber
	deposit(t, op, a, "5000.00")
	wantTransfer(t, send(alice, newKey("rent"), transferReq(a, b, "1250.50", "rent, May (flat 2)")), 201)
	wantTransfer(t, send(bob, newKey("back"), transferReq(b, a, "100", "=HYPERLINK(\"http://x\")")), 201)
	deposit(t, op, a, "20.25")
	today := lagosToday()
	from := time.Now().In(bank.Lagos).AddDate(0, 0, -30).Format(bank.DateLayout)

	// JSON, by default.
	s := wantJSONStatement(t, alice.Do("GET", statementPath(a, from, today), nil))
	if s.AccountNumber != a || s.OwnerName != ra.User.FullName || s.From != from || s.To != today ||
		s.OpeningBalance != "0.00" || s.ClosingBalance != "3869.75" || s.TotalCredits != "5120.25" || s.TotalDebits != "1250.50" {
		t.Errorf("statement head %+v", s)
	}
	kinds := []string{}
	for _, it := range s.Items {
		kinds = append(kinds, it.Kind+"/"+it.Direction+"/"+it.Amount)
	}
	want := "DEPOSIT/CREDIT/5000.00 TRANSFER/DEBIT/1250.50 TRANSFER/CREDIT/100.00 DEPOSIT/CREDIT/20.25"
	if strings.Join(kinds, " ") != want {
		t.Fatalf("items %v, want %s", kinds, want)
	}
	if s.Items[1].CounterpartyAccount != b || s.Items[2].CounterpartyAccount != b || s.Items[0].CounterpartyAccount != "0000000000" {
		t.Errorf("counterparties %+v", s.Items)
	}
	// The same items as the history shows, in the opposite order.
	hist := history(t, alice, a, 100)
	if len(hist) != len(s.Items) {
		t.Fatalf("history has %d items, the statement %d", len(hist), len(s.Items))
	}
	for i, h := range hist {
		it := s.Items[len(s.Items)-1-i]
		if h.ID != it.ID || h.Amount != it.Amount || h.BalanceAfter != it.BalanceAfter || h.CreatedAt != it.CreatedAt ||
			h.TransferReference != it.TransferReference || h.Narration != it.Narration {
			t.Errorf("history %+v, statement %+v", h, it)
		}
	}

	t.Run("CSVByAccept", func(t *testing.T) {
		r := alice.Do("GET", statementPath(a, from, today), nil, "Accept", "text/csv")
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("%d %s: %s", r.Status, r.Header.Get("Content-Type"), r.Body)
		}
		if cd := r.Header.Get("Content-Disposition"); cd != fmt.Sprintf(`attachment; filename="statement-%s-%s-%s.csv"`, a, from, today) {
			t.Errorf("Content-Disposition %q", cd)
		}
		rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		header := "id,created_at,kind,direction,transfer_reference,counterparty_account,narration,amount,balance_after"
		if len(rows) != len(s.Items)+1 || strings.Join(rows[0], ",") != header {
			t.Fatalf("csv %d rows, header %v:\n%s", len(rows), rows[0], r.Body)
		}
		for i, it := range s.Items {
			narration := it.Narration
			if strings.HasPrefix(narration, "=") {
				narration = "'" + narration // never a formula in a spreadsheet
			}
			wantRow := []string{it.ID, it.CreatedAt, it.Kind, it.Direction, it.TransferReference, it.CounterpartyAccount,
				narration, it.Amount, it.BalanceAfter}
			if strings.Join(rows[i+1], "\x1f") != strings.Join(wantRow, "\x1f") {
				t.Errorf("csv row %d = %q, want %q", i+1, rows[i+1], wantRow)
			}
		}
	})

	t.Run("PDFByFormatOverAccept", func(t *testing.T) {
		r := alice.Do("GET", statementPath(a, from, today, "format=pdf"), nil, "Accept", "application/json")
		if r.Status != 200 || r.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(r.Body, []byte("%PDF-")) {
			t.Fatalf("%d %s: %.200s", r.Status, r.Header.Get("Content-Type"), r.Body)
		}
		pages, err := pdftext.Read(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		if len(pages) != 1 {
			t.Fatalf("%d pages", len(pages))
		}
		text := pages[0].Text()
		for _, want := range []string{
			"bankcore", "Account statement", "Account holder | " + ra.User.FullName, "Account number | " + a,
			"Period | " + from + " to " + today,
			"Opening balance", "NGN 0.00", "Total credits", "NGN 5,120.25", "Total debits", "NGN 1,250.50",
			"Closing balance", "NGN 3,869.75", "4 transactions",
			"End of statement. Closing balance NGN 3,869.75", "Page 1 of 1",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("PDF lacks %q:\n%s", want, text)
			}
		}
		// Every item's row: date (Lagos), details, reference, amount in its
		// column, balance.
		for _, it := range s.Items {
			at, _ := time.Parse(time.RFC3339Nano, it.CreatedAt)
			amount := statementpdf.Amount(bank.Money(kobo(t, it.Amount)))
			details := "Deposit · funding"
			switch {
			case it.Kind == "TRANSFER" && it.Direction == "DEBIT":
				details = "Transfer to " + b + " · " + it.Narration
			case it.Kind == "TRANSFER":
				details = "Transfer from " + b + " · " + it.Narration
			}
			row := strings.Join([]string{at.In(bank.Lagos).Format("2006-01-02 15:04"), details, it.TransferReference,
				amount, statementpdf.Amount(bank.Money(kobo(t, it.BalanceAfter)))}, " | ")
			if !strings.Contains(text, row) {
				t.Errorf("PDF lacks the row %q:\n%s", row, text)
			}
		}
	})

	t.Run("AcceptRules", func(t *testing.T) {
		for accept, wantType := range map[string]string{
			"application/pdf":                       "application/pdf",
			"text/*":                                "text/csv",
			"*/*":                                   "application/json",
			"application/json;q=0, text/csv;q=0.5":  "text/csv",
			"TEXT/CSV":                              "text/csv",
			"application/xml, application/pdf;q=.2": "application/pdf",
		} {
			r := alice.Do("GET", statementPath(a, from, today), nil, "Accept", accept)
			if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), wantType) {
				t.Errorf("Accept %q: %d %s", accept, r.Status, r.Header.Get("Content-Type"))
			}
		}
		wantProblem(t, alice.Do("GET", statementPath(a, from, today), nil, "Accept", "image/png"), 406, "NOT_ACCEPTABLE")
		wantProblem(t, alice.Do("GET", statementPath(a, from, today), nil, "Accept", "application/json;q=0"), 406, "NOT_ACCEPTABLE")
	})

	t.Run("OperatorMayRead", func(t *testing.T) {
		got := wantJSONStatement(t, op.Do("GET", statementPath(a, from, today), nil))
		if got.OwnerName != ra.User.FullName || got.ClosingBalance != s.ClosingBalance || len(got.Items) != len(s.Items) {
			t.Errorf("operator's statement %+v", got)
		}
	})

	t.Run("AnotherCustomersIsNotFound", func(t *testing.T) {
		theirs := bob.Do("GET", statementPath(a, from, today), nil)
		nobodys := bob.Do("GET", statementPath(unknownAccount(), from, today), nil)
		pt := wantProblem(t, theirs, 404, "NOT_FOUND")
		pn := wantProblem(t, nobodys, 404, "NOT_FOUND")
		if pt.Detail != pn.Detail || pt.Field != pn.Field {
			t.Errorf("another's %+v differs from nobody's %+v", pt, pn)
		}
		// Whatever the parameters: the account is checked first.
		wantProblem(t, bob.Do("GET", statementPath(a, "bad", "worse"), nil), 404, "NOT_FOUND")
		wantProblem(t, bob.Do("GET", "/accounts/"+a+"/balance?at=bad", nil), 404, "NOT_FOUND")
	})
}

// TestStatementRangeRules: every malformed or out-of-bounds range is a
// 400 naming the parameter, and the widest allowed range is served.
func TestStatementRangeRules(t *testing.T) {
	st := testenv.SharedStack(t)
	alice, ra := signUp(t, st)
	a := ra.Account.AccountNumber
	now := time.Now().In(bank.Lagos)
	today := now.Format(bank.DateLayout)
	tomorrow := now.AddDate(0, 0, 1).Format(bank.DateLayout)
	yearAgo := now.AddDate(0, 0, -365).Format(bank.DateLayout) // 366 days with today
	tooLong := now.AddDate(0, 0, -366).Format(bank.DateLayout)

	wantJSONStatement(t, alice.Do("GET", statementPath(a, yearAgo, today), nil))
	wantJSONStatement(t, alice.Do("GET", statementPath(a, today, today), nil))

	cases := []struct{ name, query, field string }{
		{"NoFrom", "to=" + today, "from"},
		{"NoTo", "from=" + today, "to"},
		{"NoDates", "", "from"},
		{"FromNotADate", "from=2026-02-30&to=" + today, "from"},
		{"FromATimestamp", "from=" + url.QueryEscape(today+"T00:00:00Z") + "&to=" + today, "from"},
		{"ToUnpadded", "from=" + today + "&to=2026-1-1", "to"},
		{"ToBeforeFrom", "from=" + today + "&to=" + yearAgo, "to"},
		{"TooLong", "from=" + tooLong + "&to=" + today, "to"},
		{"ToInTheFuture", "from=" + today + "&to=" + tomorrow, "to"},
		{"FromRepeated", "from=" + today + "&from=" + yearAgo + "&to=" + today, "from"},
		{"UnknownFormat", "from=" + today + "&to=" + today + "&format=xml", "format"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := wantProblem(t, alice.Do("GET", "/accounts/"+a+"/statement?"+c.query, nil), 400, "VALIDATION_FAILED")
			if p.Field != c.field {
				t.Errorf("field %q, want %q", p.Field, c.field)
			}
		})
	}
}

// stampEntries moves a transfer's customer entries to another time, as if
// it had been posted then (the funding account's entries stay where they
// are: its chain is shared by every test). Tests place entries on Lagos
// midnights with it.
func stampEntries(t *testing.T, st *testenv.Stack, transferID string, at time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := postgres.Connect(ctx, st.Config.DatabaseURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	tag, err := pool.Exec(ctx, `UPDATE ledger.entries e SET created_at = $2 FROM ledger.accounts a
		WHERE e.transfer_id = $1 AND a.id = e.account_id AND a.kind = 'customer'`, transferID, at)
	if err != nil || tag.RowsAffected() == 0 {
		t.Fatalf("stamp %s: %v (%d rows)", transferID, err, tag.RowsAffected())
	}
}

// TestStatementLagosDays: entries one microsecond before and exactly at a
// Lagos midnight land on the days they belong to, in statements and in
// balances at a time.
func TestStatementLagosDays(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	alice, ra := signUp(t, st)
	_, rb := signUp(t, st)
	a, b := ra.Account.AccountNumber, rb.Account.AccountNumber

	// Midnight opening 2 June 2026 in Lagos is 23:00 UTC on 1 June.
	midnight := time.Date(2026, 6, 1, 23, 0, 0, 0, time.UTC)
	d1 := deposit(t, op, a, "300.00")
	d2 := deposit(t, op, a, "50.00")
	t3 := wantTransfer(t, send(alice, newKey("late"), transferReq(a, b, "20.00", "")), 201)
	stampEntries(t, st, d1.ID, midnight.Add(-time.Microsecond)) // 1 June, last instant
	stampEntries(t, st, d2.ID, midnight)                        // 2 June, first instant
	stampEntries(t, st, t3.ID, midnight.Add(24*time.Hour))      // 3 June, first instant

	june1 := wantJSONStatement(t, alice.Do("GET", statementPath(a, "2026-06-01", "2026-06-01"), nil))
	if len(june1.Items) != 1 || june1.Items[0].TransferReference != d1.Reference || june1.OpeningBalance != "0.00" || june1.ClosingBalance != "300.00" {
		t.Errorf("1 June: %+v", june1)
	}
	june2 := wantJSONStatement(t, alice.Do("GET", statementPath(a, "2026-06-02", "2026-06-02"), nil))
	if len(june2.Items) != 1 || june2.Items[0].TransferReference != d2.Reference || june2.Items[0].CreatedAt != "2026-06-01T23:00:00Z" ||
		june2.OpeningBalance != "300.00" || june2.ClosingBalance != "350.00" {
		t.Errorf("2 June: %+v", june2)
	}
	june3 := wantJSONStatement(t, alice.Do("GET", statementPath(a, "2026-06-03", "2026-06-03"), nil))
	if len(june3.Items) != 1 || june3.Items[0].TransferReference != t3.Reference || june3.Items[0].Direction != "DEBIT" ||
		june3.OpeningBalance != "350.00" || june3.ClosingBalance != "330.00" {
		t.Errorf("3 June: %+v", june3)
	}
	all := wantJSONStatement(t, alice.Do("GET", statementPath(a, "2026-05-31", "2026-06-03"), nil))
	if len(all.Items) != 3 || all.ClosingBalance != "330.00" || all.TotalCredits != "350.00" || all.TotalDebits != "20.00" {
		t.Errorf("31 May to 3 June: %+v", all)
	}

	// Balances at a time: before, at and between the entries, and after.
	for _, c := range []struct {
		at   string
		want string
	}{
		{"2026-06-01T22:00:00Z", "0.00"},
		{"2026-06-01T23:59:59.999998+01:00", "0.00"},
		{"2026-06-01T23:59:59.999999+01:00", "300.00"},
		{"2026-06-02T00:00:00+01:00", "350.00"},
		{"2026-06-02T12:00:00+01:00", "350.00"},
		{"2026-06-02T22:59:59.999999Z", "350.00"},
		{"2026-06-02T23:00:00Z", "330.00"},
		{"2026-07-01T00:00:00Z", "330.00"},
	} {
		r := alice.Do("GET", "/accounts/"+a+"/balance?at="+url.QueryEscape(c.at), nil)
		if r.Status != 200 {
			t.Fatalf("balance at %s: %d %s", c.at, r.Status, r.Body)
		}
		var got map[string]string
		if err := json.Unmarshal(r.Body, &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got["account_number"] != a || got["balance"] != c.want {
			t.Errorf("balance at %s = %v, want %s", c.at, got, c.want)
		}
		if got["at"] != c.at {
			t.Errorf("at echoed as %q for %q", got["at"], c.at)
		}
	}
}

// TestBalanceAt: the balance before, between and after real postings, and
// the rules of at.
func TestBalanceAt(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	alice, ra := signUp(t, st)
	bob, rb := signUp(t, st)
	a, b := ra.Account.AccountNumber, rb.Account.AccountNumber
	deposit(t, op, a, "1000.00")
	wantTransfer(t, send(alice, newKey("t"), transferReq(a, b, "400.00", "")), 201)

	hist := history(t, alice, a, 10) // newest first
	if len(hist) != 2 {
		t.Fatalf("history %+v", hist)
	}
	first, _ := time.Parse(time.RFC3339Nano, hist[1].CreatedAt)
	second, _ := time.Parse(time.RFC3339Nano, hist[0].CreatedAt)
	balanceAt := func(c *testenv.Client, at time.Time) testenv.Response {
		return c.Do("GET", "/accounts/"+a+"/balance?at="+url.QueryEscape(at.Format(time.RFC3339Nano)), nil)
	}
	for _, c := range []struct {
		name string
		at   time.Time
		want string
	}{
		{"Before", first.Add(-time.Microsecond), "0.00"},
		{"AtTheFirst", first, "1000.00"},
		{"Between", second.Add(-time.Microsecond), "1000.00"},
		{"AtTheSecond", second, "600.00"},
		{"After", time.Now(), "600.00"},
	} {
		r := balanceAt(alice, c.at)
		var got map[string]string
		r.Decode(t, &got)
		if r.Status != 200 || got["balance"] != c.want {
			t.Errorf("%s (%s): %d %s, want %s", c.name, c.at.Format(time.RFC3339Nano), r.Status, r.Body, c.want)
		}
	}
	if r := balanceAt(op, time.Now()); r.Status != 200 {
		t.Errorf("operator: %d %s", r.Status, r.Body)
	}
	wantProblem(t, balanceAt(bob, time.Now()), 404, "NOT_FOUND")
	for _, bad := range []string{"", "at=yesterday", "at=2026-06-01", "at=2026-06-01T10:00:00", "at=" + url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)),
		"at=2026-06-01T10:00:00Z&at=2026-06-02T10:00:00Z"} {
		p := wantProblem(t, alice.Do("GET", "/accounts/"+a+"/balance?"+bad, nil), 400, "VALIDATION_FAILED")
		if p.Field != "at" {
			t.Errorf("%q: field %q", bad, p.Field)
		}
	}
	// History items say what moved the money.
	if hist[0].Kind != "TRANSFER" || hist[1].Kind != "DEPOSIT" {
		t.Errorf("history kinds %q, %q", hist[0].Kind, hist[1].Kind)
	}
}
