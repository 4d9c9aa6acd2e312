package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/bankcore/bank/bank"
)

// The checker reads the private database and Temporal once the system has
// settled, and holds them against each other and against what the clients
// were told.

type ledgerAccount struct {
	Number  string
	Kind    string
	Tier    bank.Tier
	Balance bank.Money
	Owner   string
}

type ledgerTransfer struct {
	ID, Kind, KeyOwner, Reference string
	From, To                      string
	FromOwner, ToOwner            string
	Amount                        bank.Money
	Status, FailureCode           string
}

type ledgerEntry struct {
	ID           int64
	TransferID   string
	Account      string
	Direction    string
	Amount       bank.Money
	BalanceAfter bank.Money
}

type notification struct {
	EventID, UserID, Type string
}

type workflowInfo struct {
	ID, RunID, Type string
	Status          enumspb.WorkflowExecutionStatus
}

type snapshot struct {
	accounts      []ledgerAccount
	transfers     []ledgerTransfer
	entries       []ledgerEntry
	notifications []notification
	users         map[string]bool // customer user ids (auth.users)
	workflows     []workflowInfo
	open          []workflowInfo
}

func takeSnapshot(ctx context.Context, dsn, temporalAddr string, withWorkflows bool) (*snapshot, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	s := &snapshot{users: map[string]bool{}}
	// One repeatable-read transaction: every table from the same moment.
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(context.Background()) }()

	rows, err := tx.Query(ctx, `SELECT account_number, kind, tier, balance, coalesce(owner_id::text, '') FROM ledger.accounts`)
	if err != nil {
		return nil, err
	}
	s.accounts, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ledgerAccount, error) {
		var a ledgerAccount
		err := r.Scan(&a.Number, &a.Kind, &a.Tier, &a.Balance, &a.Owner)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	rows, err = tx.Query(ctx, `
		SELECT t.id::text, t.kind, t.key_owner::text, t.reference, fa.account_number, ta.account_number,
			coalesce(fa.owner_id::text, ''), coalesce(ta.owner_id::text, ''), t.amount, t.status, coalesce(t.failure_code, '')
		FROM ledger.transfers t
		JOIN ledger.accounts fa ON fa.id = t.from_account_id
		JOIN ledger.accounts ta ON ta.id = t.to_account_id`)
	if err != nil {
		return nil, err
	}
	s.transfers, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ledgerTransfer, error) {
		var t ledgerTransfer
		err := r.Scan(&t.ID, &t.Kind, &t.KeyOwner, &t.Reference, &t.From, &t.To, &t.FromOwner, &t.ToOwner,
			&t.Amount, &t.Status, &t.FailureCode)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("transfers: %w", err)
	}
	rows, err = tx.Query(ctx, `
		SELECT e.id, e.transfer_id::text, a.account_number, e.direction, e.amount, e.balance_after
		FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id ORDER BY e.id`)
	if err != nil {
		return nil, err
	}
	s.entries, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ledgerEntry, error) {
		var e ledgerEntry
		err := r.Scan(&e.ID, &e.TransferID, &e.Account, &e.Direction, &e.Amount, &e.BalanceAfter)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("entries: %w", err)
	}
	rows, err = tx.Query(ctx, `SELECT event_id, user_id::text, type FROM notify.notifications`)
	if err != nil {
		return nil, err
	}
	s.notifications, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (notification, error) {
		var n notification
		err := r.Scan(&n.EventID, &n.UserID, &n.Type)
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	rows, err = tx.Query(ctx, `SELECT id::text FROM auth.users WHERE role = 'customer'`)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	for _, id := range ids {
		s.users[id] = true
	}
	if withWorkflows {
		if s.workflows, s.open, err = listWorkflows(ctx, temporalAddr); err != nil {
			return nil, fmt.Errorf("temporal: %w", err)
		}
	}
	return s, nil
}

func dialTemporal(ctx context.Context, addr string) (client.Client, error) {
	return client.DialContext(ctx, client.Options{HostPort: addr, Namespace: "default",
		Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
}

// listWorkflows lists every workflow of the namespace, and the open ones.
func listWorkflows(ctx context.Context, addr string) (all, open []workflowInfo, err error) {
	c, err := dialTemporal(ctx, addr)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	list := func(query string) ([]workflowInfo, error) {
		var out []workflowInfo
		var token []byte
		for {
			resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				Namespace: "default", PageSize: 1000, NextPageToken: token, Query: query})
			if err != nil {
				return nil, err
			}
			for _, e := range resp.GetExecutions() {
				out = append(out, workflowInfo{ID: e.GetExecution().GetWorkflowId(), RunID: e.GetExecution().GetRunId(),
					Type: e.GetType().GetName(), Status: e.GetStatus()})
			}
			if token = resp.GetNextPageToken(); len(token) == 0 {
				return out, nil
			}
		}
	}
	if all, err = list(""); err != nil {
		return nil, nil, err
	}
	open, err = list("ExecutionStatus = 'Running'")
	return all, open, err
}

// openWorkflows counts the running workflows (for settling).
func openWorkflows(ctx context.Context, addr string) (int, error) {
	c, err := dialTemporal(ctx, addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Namespace: "default", Query: "ExecutionStatus = 'Running'"})
	if err != nil {
		return 0, err
	}
	return int(resp.GetCount()), nil
}

// Invariant is one checked property and what breaks it.
type Invariant struct {
	Name    string
	Detail  string   // what was checked, with counts
	Broken  []string // one line per violation, naming transfer ids or keys
	Skipped bool
}

func (i Invariant) OK() bool { return len(i.Broken) == 0 }

type key2 struct{ owner, ref string }

// facts indexes a snapshot and the clients' records for the checks.
type facts struct {
	s       *snapshot
	w       *Workload
	crashes []crash

	byID          map[string]ledgerTransfer
	byKey         map[key2][]ledgerTransfer
	entriesOf     map[string][]ledgerEntry // by transfer id
	entriesByAcct map[string][]ledgerEntry // by account number, in id order
	entryByID     map[int64]ledgerEntry
	recs          map[key2]*keyRecord
}

// check evaluates every invariant, in the order of the report.
func check(s *snapshot, w *Workload, crashes []crash) []Invariant {
	f := &facts{s: s, w: w, crashes: crashes,
		byID: map[string]ledgerTransfer{}, byKey: map[key2][]ledgerTransfer{},
		entriesOf: map[string][]ledgerEntry{}, entriesByAcct: map[string][]ledgerEntry{},
		entryByID: map[int64]ledgerEntry{}, recs: map[key2]*keyRecord{}}
	for _, t := range s.transfers {
		f.byID[t.ID] = t
		k := key2{t.KeyOwner, t.Reference}
		f.byKey[k] = append(f.byKey[k], t)
	}
	for _, e := range s.entries {
		f.entriesOf[e.TransferID] = append(f.entriesOf[e.TransferID], e)
		f.entriesByAcct[e.Account] = append(f.entriesByAcct[e.Account], e)
		f.entryByID[e.ID] = e
	}
	for _, k := range w.keys {
		f.recs[key2{k.KeyOwner, k.Key}] = k
	}
	return []Invariant{
		f.sumIsZero(),
		f.balancesMatchEntries(),
		f.every201InLedgerOnce(),
		f.oneOutcomePerKey(),
		f.withinTier(),
		f.notificationsPerParty(),
		f.workflowsClosed(),
		f.readersSawKeptHistory(),
		f.noCrashes(),
	}
}

// touching names the latest n transfers of an account, for reports.
func (f *facts) touching(acct string, n int) string {
	var ids []string
	es := f.entriesByAcct[acct]
	for i := len(es) - 1; i >= 0 && len(ids) < n; i-- {
		ids = append(ids, es[i].TransferID)
	}
	return strings.Join(ids, ", ")
}

// sumIsZero (1): the ledger sums to zero.
func (f *facts) sumIsZero() Invariant {
	s := f.s
	inv := Invariant{Name: "ledger sum is zero"}
	var total, net bank.Money
	for _, a := range s.accounts {
		total += a.Balance
	}
	for _, e := range s.entries {
		if e.Direction == "CREDIT" {
			net += e.Amount
		} else {
			net -= e.Amount
		}
	}
	inv.Detail = fmt.Sprintf("sum of %d balances %s, entries net %s", len(s.accounts), signed(total), signed(net))
	if total != 0 || net != 0 {
		inv.Broken = append(inv.Broken, inv.Detail)
	}
	return inv
}

// balancesMatchEntries (2): every balance equals its entries, and each
// entry's balance_after is the running sum of the account's entries up to it.
func (f *facts) balancesMatchEntries() Invariant {
	s := f.s
	inv := Invariant{Name: "every balance equals its entries"}
	for _, a := range s.accounts {
		var sum bank.Money
		for _, e := range f.entriesByAcct[a.Number] {
			if e.Direction == "CREDIT" {
				sum += e.Amount
			} else {
				sum -= e.Amount
			}
			if sum != e.BalanceAfter {
				inv.Broken = append(inv.Broken, fmt.Sprintf("account %s: entry %d of transfer %s says balance_after %s, running sum %s",
					a.Number, e.ID, e.TransferID, signed(e.BalanceAfter), signed(sum)))
			}
		}
		if sum != a.Balance {
			inv.Broken = append(inv.Broken, fmt.Sprintf("account %s: balance %s, entries sum %s; latest transfers %s",
				a.Number, signed(a.Balance), signed(sum), f.touching(a.Number, 5)))
		}
	}
	for _, t := range s.transfers {
		es := f.entriesOf[t.ID]
		switch t.Status {
		case "COMPLETED":
			if len(es) != 2 || !pairOK(es, t) {
				inv.Broken = append(inv.Broken, fmt.Sprintf("completed transfer %s (key %s) has %d entries, want a debit of %s and a credit of %s",
					t.ID, t.Reference, len(es), t.From, t.To))
			}
		default:
			if len(es) != 0 {
				inv.Broken = append(inv.Broken, fmt.Sprintf("%s transfer %s (key %s) has %d entries", t.Status, t.ID, t.Reference, len(es)))
			}
		}
	}
	inv.Detail = fmt.Sprintf("%d accounts, %d entries, %d transfers", len(s.accounts), len(s.entries), len(s.transfers))
	return inv
}

// every201InLedgerOnce (3): every client-visible 201 (and 200 replay) is
// in the ledger exactly once: the answered id under the key, completed, with its two entries.
func (f *facts) every201InLedgerOnce() Invariant {
	w := f.w
	inv := Invariant{Name: "every client-visible 201 is in the ledger exactly once"}
	n201, n200 := 0, 0
	for _, k := range w.keys {
		for _, a := range k.Answers {
			if !a.Completed {
				continue
			}
			if a.Status == 201 {
				n201++
			} else {
				n200++
			}
			t, ok := f.byID[a.ID]
			rows := f.byKey[key2{k.KeyOwner, k.Key}]
			switch {
			case !ok:
				inv.Broken = append(inv.Broken, fmt.Sprintf("key %s: answered %d with transfer %s, which is not in the ledger", k.Key, a.Status, a.ID))
			case t.Reference != k.Key || t.KeyOwner != k.KeyOwner:
				inv.Broken = append(inv.Broken, fmt.Sprintf("key %s: answered transfer %s, which the ledger holds under key %s", k.Key, a.ID, t.Reference))
			case t.Status != "COMPLETED" || t.Amount != k.Amount || t.From != k.From || t.To != k.To:
				inv.Broken = append(inv.Broken, fmt.Sprintf("key %s: transfer %s is %s %s %s→%s in the ledger, the client was told COMPLETED %s %s→%s",
					k.Key, t.ID, t.Status, t.Amount, t.From, t.To, k.Amount, k.From, k.To))
			case len(rows) != 1:
				inv.Broken = append(inv.Broken, fmt.Sprintf("key %s: %d ledger rows (transfer %s)", k.Key, len(rows), t.ID))
			case len(f.entriesOf[t.ID]) != 2 || !pairOK(f.entriesOf[t.ID], t):
				inv.Broken = append(inv.Broken, fmt.Sprintf("key %s: transfer %s has %d entries", k.Key, t.ID, len(f.entriesOf[t.ID])))
			}
		}
	}
	inv.Detail = fmt.Sprintf("%d answers 201 and %d answers 200 (replays) checked against the ledger", n201, n200)
	return inv
}

// oneOutcomePerKey (4): every key the client was unsure of (timeout,
// connection error, 5xx, 202), retried with the key, ended in exactly one outcome; so did
// every other key, and every answer to a key, replays included, agrees.
func (f *facts) oneOutcomePerKey() Invariant {
	s, w := f.s, f.w
	inv := Invariant{Name: "every timed-out request, retried with its key, ended in exactly one outcome"}
	doubt, resolvedDoubt := 0, 0
	for _, k := range w.keys {
		if k.inDoubt() {
			doubt++
		}
		if len(k.Anomalies) > 0 {
			inv.Broken = append(inv.Broken, fmt.Sprintf("key %s: unexpected answer %s", k.Key, k.Anomalies[0]))
			continue
		}
		first, ok := k.final()
		if !ok || k.Unresolved {
			inv.Broken = append(inv.Broken, fmt.Sprintf("key %s: no final answer after %d attempts (%d timeouts, %d connection errors, %d 5xx, %d 202)%s",
				k.Key, k.Attempts, k.Timeouts, k.ConnErrors, k.ServerErrors, k.Pending, ledgerNote(f.byKey[key2{k.KeyOwner, k.Key}])))
			continue
		}
		if k.inDoubt() {
			resolvedDoubt++
		}
		for _, a := range k.Answers[1:] {
			if a.outcome() != first.outcome() {
				inv.Broken = append(inv.Broken, fmt.Sprintf("key %s: answered %s, later %s", k.Key, first.outcome(), a.outcome()))
			}
		}
		if first.Code == string(bank.CodeIdempotencyReused) {
			inv.Broken = append(inv.Broken, fmt.Sprintf("key %s: IDEMPOTENCY_KEY_REUSED for a retry of the same request%s",
				k.Key, ledgerNote(f.byKey[key2{k.KeyOwner, k.Key}])))
			continue
		}
		rows := f.byKey[key2{k.KeyOwner, k.Key}]
		if len(rows) != 1 {
			inv.Broken = append(inv.Broken, fmt.Sprintf("key %s: answered %s, %d ledger rows", k.Key, first.outcome(), len(rows)))
			continue
		}
		t := rows[0]
		if first.Completed != (t.Status == "COMPLETED") || (!first.Completed && t.FailureCode != first.Code) {
			inv.Broken = append(inv.Broken, fmt.Sprintf("key %s: answered %s, the ledger has transfer %s %s %s",
				k.Key, first.outcome(), t.ID, t.Status, t.FailureCode))
		}
	}
	// Nothing moved that no client asked for.
	for _, t := range s.transfers {
		if f.recs[key2{t.KeyOwner, t.Reference}] == nil {
			inv.Broken = append(inv.Broken, fmt.Sprintf("transfer %s (key %s, %s) was asked for by no client", t.ID, t.Reference, t.Status))
		}
	}
	inv.Detail = fmt.Sprintf("%d keys, %d of them in doubt and retried, %d of those resolved", len(w.keys), doubt, resolvedDoubt)
	return inv
}

// withinTier (5): no balance negative or above its tier's max: now, after every
// entry, and in everything a reader saw.
func (f *facts) withinTier() Invariant {
	s, w := f.s, f.w
	inv := Invariant{Name: "no balance negative or above its tier max"}
	for _, a := range s.accounts {
		if a.Kind != "customer" {
			continue
		}
		ceiling := a.Tier.Limits().MaxBalance
		if a.Balance < 0 || (ceiling != nil && a.Balance > *ceiling) {
			inv.Broken = append(inv.Broken, fmt.Sprintf("account %s (%s): balance %s; latest transfers %s", a.Number, a.Tier, signed(a.Balance), f.touching(a.Number, 5)))
		}
		for _, e := range f.entriesByAcct[a.Number] {
			if e.BalanceAfter < 0 || (ceiling != nil && e.BalanceAfter > *ceiling) {
				inv.Broken = append(inv.Broken, fmt.Sprintf("account %s (%s): transfer %s left it at %s", a.Number, a.Tier, e.TransferID, signed(e.BalanceAfter)))
			}
		}
	}
	for _, issue := range w.readIssues {
		if issue.Range {
			inv.Broken = append(inv.Broken, "reader: "+issue.Text)
		}
	}
	inv.Detail = fmt.Sprintf("%d customer balances, %d entries, %d balance reads", len(s.accounts)-1, len(s.entries), w.stats.balanceReads.Load())
	return inv
}

// notificationsPerParty (6): every completed transfer has exactly one
// stored notification per party (and every deposit, refusal and new account its one).
func (f *facts) notificationsPerParty() Invariant {
	s, w := f.s, f.w
	inv := Invariant{Name: "every completed transfer has exactly one stored notification per party"}
	byEvent := map[string][]notification{}
	for _, n := range s.notifications {
		byEvent[n.EventID] = append(byEvent[n.EventID], n)
	}
	want := func(t ledgerTransfer, event string, expect []notification) {
		got := byEvent[event]
		if len(got) == len(expect) {
			ok := true
			for _, e := range expect {
				found := 0
				for _, g := range got {
					if g.UserID == e.UserID && g.Type == e.Type {
						found++
					}
				}
				ok = ok && found == 1
			}
			if ok {
				return
			}
		}
		var have []string
		for _, g := range got {
			have = append(have, g.Type+" to "+g.UserID)
		}
		inv.Broken = append(inv.Broken, fmt.Sprintf("transfer %s (key %s, %s %s): stored notifications [%s], want %d",
			t.ID, t.Reference, t.Kind, t.Status, strings.Join(have, ", "), len(expect)))
	}
	checked := 0
	for _, t := range s.transfers {
		switch {
		case t.Kind == "transfer" && t.Status == "COMPLETED":
			expect := []notification{{UserID: t.FromOwner, Type: "TRANSFER_DEBIT"}}
			if t.ToOwner != t.FromOwner {
				expect = append(expect, notification{UserID: t.ToOwner, Type: "TRANSFER_CREDIT"})
			}
			want(t, "transfer_completed/"+t.ID, expect)
		case t.Kind == "deposit" && t.Status == "COMPLETED":
			want(t, "deposit_completed/"+t.ID, []notification{{UserID: t.ToOwner, Type: "DEPOSIT"}})
		case t.Kind == "transfer" && t.Status == "FAILED":
			want(t, "transfer_failed/"+t.ID, []notification{{UserID: t.FromOwner, Type: "TRANSFER_FAILED"}})
		default:
			continue
		}
		checked++
	}
	// And nothing else: no notification for an event the ledger does
	// not explain (a second event id for one transfer, say).
	expected := map[string]bool{}
	for _, t := range s.transfers {
		expected["transfer_completed/"+t.ID] = t.Kind == "transfer" && t.Status == "COMPLETED"
		expected["deposit_completed/"+t.ID] = t.Kind == "deposit" && t.Status == "COMPLETED"
		expected["transfer_failed/"+t.ID] = t.Kind == "transfer" && t.Status == "FAILED"
	}
	for event, ns := range byEvent {
		if expected[event] || strings.HasPrefix(event, "user_created/") {
			continue
		}
		inv.Broken = append(inv.Broken, fmt.Sprintf("%d notification(s) stored for event %s, which no transfer in the ledger explains", len(ns), event))
	}
	welcomes := map[string]int{}
	for _, n := range s.notifications {
		if n.Type == "ACCOUNT_CREATED" {
			welcomes[n.UserID]++
		}
	}
	for _, c := range w.customers {
		if welcomes[c.UserID] != 1 {
			inv.Broken = append(inv.Broken, fmt.Sprintf("user %s has %d ACCOUNT_CREATED notifications", c.UserID, welcomes[c.UserID]))
		}
	}
	inv.Detail = fmt.Sprintf("%d transfers and deposits, %d stored notifications", checked, len(s.notifications))
	return inv
}

// workflowsClosed (7): every workflow closed (none stuck), and closed the way the ledger
// says: a completed transfer's workflow completed, a refused one failed
// with its refusal; no workflow timed out, was terminated or lost.
func (f *facts) workflowsClosed() Invariant {
	s := f.s
	inv := Invariant{Name: "every workflow closed (none stuck), as the ledger says"}
	for _, wf := range s.open {
		inv.Broken = append(inv.Broken, fmt.Sprintf("workflow %s (%s) is still open%s", wf.ID, wf.Type, ledgerNote(f.byKey[workflowKey(wf.ID)])))
	}
	counts := map[string]int{}
	seen := map[key2]bool{}
	for _, wf := range s.workflows {
		counts[statusName(wf.Status)]++
		if wf.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			continue
		}
		if strings.HasPrefix(wf.ID, "registration/") {
			if wf.Status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
				inv.Broken = append(inv.Broken, fmt.Sprintf("workflow %s closed %s", wf.ID, statusName(wf.Status)))
			}
			continue
		}
		k := workflowKey(wf.ID)
		if k.ref == "" {
			continue
		}
		seen[k] = true
		rows := f.byKey[k]
		switch {
		case len(rows) != 1:
			inv.Broken = append(inv.Broken, fmt.Sprintf("workflow %s closed %s with %d ledger rows for its key", wf.ID, statusName(wf.Status), len(rows)))
		case wf.Status == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED && rows[0].Status != "COMPLETED",
			wf.Status == enumspb.WORKFLOW_EXECUTION_STATUS_FAILED && rows[0].Status != "FAILED",
			wf.Status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED && wf.Status != enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
			inv.Broken = append(inv.Broken, fmt.Sprintf("workflow %s closed %s, its transfer %s is %s", wf.ID, statusName(wf.Status), rows[0].ID, rows[0].Status))
		}
	}
	for _, t := range s.transfers {
		if !seen[key2{t.KeyOwner, t.Reference}] && !openHas(s.open, t) {
			inv.Broken = append(inv.Broken, fmt.Sprintf("transfer %s (key %s, %s) has no workflow in Temporal", t.ID, t.Reference, t.Status))
		}
	}
	var parts []string
	for st, n := range counts {
		parts = append(parts, fmt.Sprintf("%s %d", st, n))
	}
	sort.Strings(parts)
	inv.Detail = fmt.Sprintf("%d workflows: %s", len(s.workflows), strings.Join(parts, ", "))
	return inv
}

// readersSawKeptHistory (8): readers saw only what the ledger kept: every history item a reader
// saw is in the final ledger as seen, and every page chained.
func (f *facts) readersSawKeptHistory() Invariant {
	w := f.w
	inv := Invariant{Name: "readers saw only committed history that the ledger kept"}
	for _, issue := range w.readIssues {
		if !issue.Range {
			inv.Broken = append(inv.Broken, "reader: "+issue.Text)
		}
	}
	ids := make([]int64, 0, len(w.observed))
	for id := range w.observed {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		o := w.observed[id]
		e, ok := f.entryByID[id]
		if !ok {
			inv.Broken = append(inv.Broken, fmt.Sprintf("entry %d (transfer key %s, account %s) was read but is not in the ledger", id, o.Reference, o.Account))
			continue
		}
		t := f.byID[e.TransferID]
		if e.Account != o.Account || e.Direction != o.Direction || e.Amount != o.Amount || e.BalanceAfter != o.BalanceAfter || t.Reference != o.Reference {
			inv.Broken = append(inv.Broken, fmt.Sprintf("entry %d of transfer %s: read as %+v, the ledger has %+v", id, e.TransferID, o, e))
		}
	}
	inv.Detail = fmt.Sprintf("%d history reads, %d distinct entries seen", w.stats.historyReads.Load(), len(w.observed))
	return inv
}

// noCrashes (9): no process of the bank or service died on its own.
func (f *facts) noCrashes() Invariant {
	inv := Invariant{Name: "no process exited on its own"}
	for _, c := range f.crashes {
		inv.Broken = append(inv.Broken, fmt.Sprintf("%s at %s: %s", c.Process, c.At.Round(100*time.Millisecond), c.How))
	}
	inv.Detail = "exits other than the nemesis's"
	return inv
}

func pairOK(es []ledgerEntry, t ledgerTransfer) bool {
	var debit, credit bool
	for _, e := range es {
		switch {
		case e.Direction == "DEBIT" && e.Account == t.From && e.Amount == t.Amount:
			debit = true
		case e.Direction == "CREDIT" && e.Account == t.To && e.Amount == t.Amount:
			credit = true
		}
	}
	return debit && credit
}

func openHas(open []workflowInfo, t ledgerTransfer) bool {
	for _, wf := range open {
		if workflowKey(wf.ID) == (key2{t.KeyOwner, t.Reference}) {
			return true
		}
	}
	return false
}

// workflowKey maps a workflow id to its idempotency key.
func workflowKey(id string) key2 {
	if ref, ok := strings.CutPrefix(id, "deposit/"); ok {
		return key2{bank.SystemKeyOwner, ref}
	}
	if rest, ok := strings.CutPrefix(id, "transfer/"); ok {
		owner, ref, ok := strings.Cut(rest, "/")
		if _, err := uuid.Parse(owner); ok && err == nil {
			return key2{owner, ref}
		}
	}
	return key2{}
}

func ledgerNote(rows []ledgerTransfer) string {
	if len(rows) == 0 {
		return "; no ledger row"
	}
	return fmt.Sprintf("; ledger: transfer %s %s%s", rows[0].ID, rows[0].Status, prefixed(" ", rows[0].FailureCode))
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func statusName(s enumspb.WorkflowExecutionStatus) string {
	name := strings.TrimPrefix(s.String(), "WORKFLOW_EXECUTION_STATUS_")
	return strings.ToLower(name)
}

func signed(m bank.Money) string {
	if m < 0 {
		return "-" + (-m).String()
	}
	return m.String()
}
