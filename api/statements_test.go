package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/token"
)

type stubAccounts struct{ Accounts }

func (stubAccounts) ByNumber(_ context.Context, number string) (bank.Account, error) {
	return bank.Account{ID: 7, AccountNumber: number, OwnerID: "owner-1", Tier: bank.Tier1}, nil
}

type stubUsers struct{ Users }

func (stubUsers) ByID(context.Context, string) (bank.User, error) {
	return bank.User{ID: "owner-1", FullName: "Ada Lovelace"}, nil
}

// brokenLedger hands over a summary and some items, then fails, as a
// database connection cut mid-statement would.
type brokenLedger struct {
	Ledger
	items int
}

func (l brokenLedger) Statement(_ context.Context, _ int64, _, _ time.Time,
	head func(bank.StatementSummary) error, item func(bank.Entry) error) error {
	if err := head(bank.StatementSummary{Opening: 0, Closing: bank.Money(l.items), Credits: bank.Money(l.items), Items: int64(l.items) + 1}); err != nil {
		return err
	}
	for i := range l.items {
		e := bank.Entry{ID: int64(i + 1), Kind: bank.KindDeposit, Direction: "CREDIT", Amount: 1, BalanceAfter: bank.Money(i + 1),
			TransferReference: "ref", CounterpartyAccount: "0000000000", CreatedAt: time.Now()}
		if err := item(e); err != nil {
			return err
		}
	}
	return errors.New("connection reset mid-statement")
}

// TestStatementCutShortFailsTheDownload: once a statement's answer has
// started, a failure can no longer become a problem; the connection is
// dropped so no client takes what it got for a whole statement, in any
// format.
func TestStatementCutShortFailsTheDownload(t *testing.T) {
	tokens := token.NewIssuer([]byte("statement-test-secret-statement-test-secret"), time.Minute)
	h := New(Deps{Tokens: tokens, BcryptCost: 4, Users: stubUsers{}, Accounts: stubAccounts{}, Ledger: brokenLedger{items: 5000},
		Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(h)
	defer srv.Close()
	tok, err := tokens.Issue(token.Principal{UserID: "owner-1", Role: bank.RoleCustomer})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(bank.Lagos).Format(bank.DateLayout)
	for _, format := range []string{"json", "csv", "pdf"} {
		req, _ := http.NewRequest("GET", srv.URL+"/accounts/1234567897/statement?from="+day+"&to="+day+"&format="+format, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", format, resp.StatusCode)
		}
		if err == nil {
			t.Errorf("%s: a statement cut short was read as whole (%d bytes, ends %q)", format, len(body), tail(body))
		}
	}
}

func tail(b []byte) string {
	if len(b) > 40 {
		b = b[len(b)-40:]
	}
	return strings.TrimSpace(string(b))
}
