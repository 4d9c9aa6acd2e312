package system

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/postgres"
)

// Invariants is the check after the run. Without a database (an API the
// bench did not start, no DATABASE_URL) only what the API shows is checked:
// DBChecked is false, and the audit and stored-notification fields are
// empty.
type Invariants struct {
	OK        bool `json:"ok"`
	DBChecked bool `json:"db_checked"`
	// Ledger audit (postgres.Ledger.RunAudit): the sum of all balances is
	// zero, each balance equals its entries, each completed transfer has
	// its two entries, no failed one has any; holds and daily limits hold
	// (Audit.Broken lists what does not).
	Audit   postgres.Audit `json:"audit"`
	AuditOK bool           `json:"audit_ok"`
	// What the API's answers imply: every account's balance, read through
	// GET /accounts/{n}, equals its funding plus what the 201s moved.
	Answered201     int      `json:"answered_201"`
	ResolvedLater   int      `json:"resolved_later"` // unclear answers looked up through GET /transfers/{ref}
	ResolvedMoved   int      `json:"resolved_completed"`
	CompletedInDB   int      `json:"completed_in_db"` // of this run's senders
	BalancesChecked int      `json:"balances_checked"`
	BalanceMismatch []string `json:"balance_mismatch,omitempty"`
	BalancesOK      bool     `json:"balances_ok"`
	// One notification per party per completed transfer.
	Notifications    int  `json:"transfer_notifications"`
	NotifyWrongCount int  `json:"transfers_without_exactly_two_notifications"`
	NotifyWrongParty int  `json:"notifications_to_wrong_party"`
	NotifyWaitMs     int  `json:"notify_wait_ms"`
	NotificationsOK  bool `json:"notifications_ok"`
	// Live deliveries: every subscribed party received each 201's
	// notification (at least once).
	LiveMissing int `json:"live_missing"`
	LiveDups    int `json:"live_duplicates"`
}

// Check runs every invariant. base is an API instance; users carry tokens;
// pool may be nil (no database access: the API-level checks only). The
// database checks count only transfers sent from this run's accounts, so a
// database with other traffic is fine; the ledger audit covers the whole
// ledger.
func Check(ctx context.Context, c *Client, base string, pool *pgxpool.Pool, users []User, tr *Tracker, subs *Subscribers) (Invariants, error) {
	var inv Invariants
	// Outcomes the answers left open.
	tr.mu.Lock()
	unknown := append([]Done(nil), tr.unknown...)
	tr.mu.Unlock()
	for _, d := range unknown {
		status, raw, err := c.Do(ctx, "GET", base+"/transfers/"+d.Ref, users[d.From].Token, nil)
		if err != nil {
			return inv, err
		}
		inv.ResolvedLater++
		if status == 200 {
			var v struct{ Status string }
			_ = json.Unmarshal(raw, &v)
			if v.Status == string(bank.StatusCompleted) {
				inv.ResolvedMoved++
				tr.mu.Lock()
				tr.completed = append(tr.completed, d)
				tr.mu.Unlock()
			}
		}
	}
	done := tr.Completed()
	for _, d := range done {
		if !d.At201.IsZero() {
			inv.Answered201++
		}
	}

	// Balances through the API.
	want := make([]bank.Money, len(users))
	for i, u := range users {
		want[i] = u.Funded
	}
	for _, d := range done {
		want[d.From] -= d.Amount
		want[d.To] += d.Amount
	}
	for i, u := range users {
		status, raw, err := c.Do(ctx, "GET", base+"/accounts/"+u.Account, u.Token, nil)
		if err != nil {
			return inv, err
		}
		var a struct{ Balance string }
		if status != 200 || json.Unmarshal(raw, &a) != nil {
			return inv, fmt.Errorf("GET /accounts/%s: %d %s", u.Account, status, raw)
		}
		got, err := bank.ParseMoney(a.Balance)
		if err != nil {
			return inv, err
		}
		inv.BalancesChecked++
		if got != want[i] {
			inv.BalanceMismatch = append(inv.BalanceMismatch, fmt.Sprintf("%s: API says %s, answers imply %s", u.Account, got, want[i]))
		}
	}
	inv.BalancesOK = len(inv.BalanceMismatch) == 0

	if subs != nil {
		for _, ph := range phases(done) {
			l := subs.Latency(done, ph)
			inv.LiveMissing += l.Missing
		}
		subs.mu.Lock()
		inv.LiveDups = subs.dups
		subs.mu.Unlock()
	}
	if pool == nil {
		inv.OK = inv.BalancesOK
		return inv, nil
	}
	inv.DBChecked = true

	accounts := make([]string, len(users))
	for i, u := range users {
		accounts[i] = u.Account
	}
	// This run's completed transfers: the ones sent from its accounts.
	const ours = `
		FROM ledger.transfers t
		JOIN ledger.accounts f ON f.id = t.from_account_id
		WHERE t.kind = 'transfer' AND t.status = 'COMPLETED' AND f.account_number = ANY($1)`
	if err := pool.QueryRow(ctx, `SELECT count(*) `+ours, accounts).Scan(&inv.CompletedInDB); err != nil {
		return inv, err
	}
	inv.BalancesOK = inv.BalancesOK && inv.CompletedInDB == len(done)

	// Ledger audit.
	audit, err := postgres.NewLedger(pool).RunAudit(ctx)
	if err != nil {
		return inv, err
	}
	inv.Audit = audit
	inv.AuditOK = audit.OK()

	// Notifications: wait for the notifier to catch up (bounded), then
	// check one per party per completed transfer.
	t0 := time.Now()
	for {
		if err := pool.QueryRow(ctx, `
			SELECT count(*) FROM notify.notifications n
			WHERE n.event_id IN (SELECT 'transfer_completed/' || t.id::text `+ours+`)`, accounts).Scan(&inv.Notifications); err != nil {
			return inv, err
		}
		if inv.Notifications >= 2*inv.CompletedInDB || time.Since(t0) > 30*time.Second {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	inv.NotifyWaitMs = int(time.Since(t0).Milliseconds())
	if err := pool.QueryRow(ctx, `
		SELECT count(*) `+ours+`
		  AND (SELECT count(*) FROM notify.notifications n WHERE n.event_id = 'transfer_completed/' || t.id::text) <> 2`, accounts).Scan(&inv.NotifyWrongCount); err != nil {
		return inv, err
	}
	if err := pool.QueryRow(ctx, `
		SELECT count(*) FROM notify.notifications n
		JOIN ledger.transfers t ON n.event_id = 'transfer_completed/' || t.id::text
		JOIN ledger.accounts f ON f.id = t.from_account_id
		JOIN ledger.accounts r ON r.id = t.to_account_id
		WHERE f.account_number = ANY($1)
		  AND NOT ((n.type = 'TRANSFER_DEBIT' AND n.user_id = f.owner_id) OR (n.type = 'TRANSFER_CREDIT' AND n.user_id = r.owner_id))`, accounts).Scan(&inv.NotifyWrongParty); err != nil {
		return inv, err
	}
	inv.NotificationsOK = inv.Notifications == 2*inv.CompletedInDB && inv.NotifyWrongCount == 0 && inv.NotifyWrongParty == 0
	inv.OK = inv.AuditOK && inv.BalancesOK && inv.NotificationsOK
	return inv, nil
}

func phases(done []Done) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range done {
		if !seen[d.Phase] {
			seen[d.Phase] = true
			out = append(out, d.Phase)
		}
	}
	return out
}
