package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bankcore/bank/bank"
)

// SystemAccountNumber is the funding account deposits come from.
const SystemAccountNumber = "0000000000"

type lockedAccount struct {
	party   bank.Party
	number  string
	counter bank.DebitCounter // the daily counter as stored (any day)
}

// lockSQL takes both accounts' row locks in id order, so opposite
// transfers cannot deadlock.
const lockSQL = `SELECT id, account_number, owner_id, kind = 'system', tier, balance, on_hold, debit_day, debit_used
	FROM ledger.accounts WHERE account_number IN ($1, $2) ORDER BY id FOR UPDATE`

// clockSQL reads a posting's instant once lockSQL has returned, so under
// both row locks, not at BEGIN (now()): a posting that began first but
// locked second would otherwise carry an earlier time than the entry
// before it in its account's balance_after chain, and "the balance at a
// time" and statements (which read entries by time) would no longer follow
// the chain. Under the lock, each account's entries are stamped in the
// order they are chained. The same instant gives the Lagos day the
// transfer counts against and a hold's deadline (a test's clock,
// WithClock, replaces it).
const clockSQL = `SELECT clock_timestamp()`

// writeSQL writes the transfer row with its status and, only when the row
// was inserted (the key was free), what that status needs, in one
// statement: COMPLETED writes both balances, the sender's daily counter
// and both entries; PENDING_APPROVAL the sender's on_hold and counter and
// the hold; FAILED nothing more. On a taken key it writes nothing. Its
// time ($13, and $14 unless held) is clockSQL's.
const writeSQL = `
	WITH t AS (
		INSERT INTO ledger.transfers (id, kind, key_owner, reference, request_hash, from_account_id, to_account_id,
			amount, narration, status, failure_code, created_by, created_at, completed_at, accepted_day,
			approval_status, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		ON CONFLICT (key_owner, reference) DO NOTHING
		RETURNING id, created_at, completed_at),
	b AS (
		UPDATE ledger.accounts SET balance = CASE id WHEN $6 THEN $18::bigint ELSE $19::bigint END,
			on_hold = CASE id WHEN $6 THEN $20::bigint ELSE on_hold END,
			debit_day = CASE id WHEN $6 THEN $21::date ELSE debit_day END,
			debit_used = CASE id WHEN $6 THEN $22::bigint ELSE debit_used END
		WHERE (id = $6 AND $10 <> 'FAILED' OR id = $7 AND $10 = 'COMPLETED') AND EXISTS (SELECT FROM t)),
	e AS (
		INSERT INTO ledger.entries (transfer_id, account_id, direction, amount, balance_after, created_at)
		SELECT t.id, v.account_id, v.direction, $8, v.balance_after, t.created_at
		FROM t, (VALUES ($6::bigint, 'DEBIT', $18::bigint), ($7::bigint, 'CREDIT', $19::bigint))
			AS v (account_id, direction, balance_after)
		WHERE $10 = 'COMPLETED'),
	h AS (
		INSERT INTO ledger.holds (transfer_id, account_id, amount, placed_at)
		SELECT t.id, $6, $8, t.created_at FROM t WHERE $10 = 'PENDING_APPROVAL')
	SELECT created_at, completed_at FROM t`

// Post moves money in one transaction of two round trips: (1) BEGIN and
// both accounts locked in id order; the rules (bank.CheckTransfer, with the
// sender's counted debits of the day and its available balance) decide in
// Go under the locks; (2) the transfer row, entries, balances and the
// sender's daily counter in one statement, and COMMIT. A transfer that
// needs approval (WithApproval) is stored PENDING_APPROVAL instead, with
// its hold, in the same two round trips: see Decide for what ends it. The
// locks are held for one round trip, which is what bounds a hot account
// (measured in docs/BENCHMARKS.md). The (key
// owner, reference) key makes it idempotent: a retry, a crash after commit
// or a concurrent duplicate gets the stored transfer and moves nothing. A
// refusal is stored too (status FAILED) and sticks to its key.
// Errors: NOT_FOUND (an account does not exist, the sender is not the key's
// owner, or the receiver is the funding account), IDEMPOTENCY_KEY_REUSED.
func (l *Ledger) Post(ctx context.Context, req bank.TransferRequest) (bank.Transfer, error) {
	// Ordered locking leaves no deadlock, but a retry here keeps any that a
	// future change might introduce from ever reaching a caller.
	for attempt := 0; ; attempt++ {
		out, err := l.post(ctx, req)
		var pgErr *pgconn.PgError
		if attempt < 3 && errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") {
			continue
		}
		return out, err
	}
}

func (l *Ledger) post(ctx context.Context, req bank.TransferRequest) (bank.Transfer, error) {
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return bank.Transfer{}, err
	}
	defer conn.Release() // the pool closes a connection left inside a transaction
	inTx := false
	defer func() {
		if inTx {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "rollback")
		}
	}()

	// Round trip 1: begin, lock, and the time under the locks.
	b := &pgx.Batch{}
	b.Queue("begin")
	b.Queue(lockSQL, req.FromAccount, req.ToAccount)
	b.Queue(clockSQL)
	br := conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return bank.Transfer{}, fmt.Errorf("begin: %w", err)
	}
	inTx = true
	from, to, err := scanLocked(br, req.FromAccount, req.ToAccount)
	var locked time.Time
	if err == nil {
		if err = br.QueryRow().Scan(&locked); err != nil {
			err = fmt.Errorf("read clock: %w", err)
		}
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("lock accounts: %w", cerr)
	}
	if err != nil {
		return bank.Transfer{}, err
	}
	// The API checked both ends before it started the workflow; under the
	// locks they are checked again, by the same rules.
	if err := bank.CheckSender(req, &from.party); err != nil {
		return bank.Transfer{}, err
	}
	if err := bank.CheckReceiver(req, &to.party); err != nil {
		return bank.Transfer{}, err
	}

	now := l.instant(locked)
	p := l.plan(req, from, to, now)
	t := bank.Transfer{
		ID: uuid.NewString(), Kind: req.Kind, KeyOwner: req.KeyOwner, Reference: req.Reference,
		RequestHash: req.Hash(), FromAccount: from.number, ToAccount: to.number,
		FromOwnerID: from.party.OwnerID, ToOwnerID: to.party.OwnerID, Amount: req.Amount, Narration: req.Narration,
		Status: p.status, FailureCode: p.code, CreatedBy: req.CreatedBy,
	}
	completedAt, approval := &now, any(nil)
	if p.expiresAt != nil {
		completedAt, approval = nil, string(bank.ApprovalPending)
		t.Approval = &bank.Approval{Status: bank.ApprovalPending, ExpiresAt: *p.expiresAt}
	}

	// Round trip 2: write and commit.
	b = &pgx.Batch{}
	b.Queue(writeSQL, t.ID, string(t.Kind), t.KeyOwner, t.Reference, t.RequestHash, from.party.ID, to.party.ID,
		int64(t.Amount), t.Narration, string(t.Status), nullable(string(p.code)), t.CreatedBy,
		now, completedAt, nullable(string(p.acceptedDay)), approval, p.expiresAt,
		int64(p.fromBalance), int64(p.toBalance), int64(p.fromOnHold), nullable(string(p.counter.Day)), int64(p.counter.Used))
	b.Queue("commit")
	br = conn.SendBatch(ctx, b)
	err = br.QueryRow().Scan(&t.CreatedAt, &t.CompletedAt)
	taken := errors.Is(err, pgx.ErrNoRows)
	if err != nil && !taken {
		_ = br.Close()
		return bank.Transfer{}, fmt.Errorf("write transfer: %w", err)
	}
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return bank.Transfer{}, fmt.Errorf("commit: %w", err)
	}
	if err := br.Close(); err != nil {
		return bank.Transfer{}, fmt.Errorf("commit: %w", err)
	}
	inTx = false
	if !taken {
		return t, nil
	}
	// The key is taken: answer with what it already did (committed, since
	// the insert's ON CONFLICT waited for it).
	stored, err := byKey(ctx, l.pool, req.KeyOwner, req.Reference)
	if err != nil {
		return bank.Transfer{}, err
	}
	if bank.UseOfKey(&stored, t.RequestHash) == bank.KeyReused {
		return bank.Transfer{}, bank.Errorf(bank.CodeIdempotencyReused, "this reference was used for a different request")
	}
	return stored, nil
}

// scanLockedRow reads one row of lockSQL's columns.
func scanLockedRow(row pgx.Row) (lockedAccount, error) {
	var a lockedAccount
	var owner uuid.NullUUID
	var debitDay *time.Time
	if err := row.Scan(&a.party.ID, &a.number, &owner, &a.party.System, &a.party.Tier, &a.party.Balance,
		&a.party.OnHold, &debitDay, &a.counter.Used); err != nil {
		return a, err
	}
	if owner.Valid {
		a.party.OwnerID = owner.UUID.String()
	}
	a.counter.Day = dayOf(debitDay)
	return a, nil
}

// scanLocked reads the locked rows as (from, to). Errors: NOT_FOUND.
func scanLocked(br pgx.BatchResults, fromNumber, toNumber string) (from, to lockedAccount, err error) {
	rows, err := br.Query()
	if err != nil {
		return from, to, fmt.Errorf("lock accounts: %w", err)
	}
	defer rows.Close()
	found := 0
	for rows.Next() {
		a, err := scanLockedRow(rows)
		if err != nil {
			return from, to, fmt.Errorf("lock accounts: %w", err)
		}
		if a.number == fromNumber {
			from, found = a, found|1
		}
		if a.number == toNumber {
			to, found = a, found|2
		}
	}
	if err := rows.Err(); err != nil {
		return from, to, fmt.Errorf("lock accounts: %w", err)
	}
	if found != 3 {
		return from, to, bank.Errorf(bank.CodeNotFound, "account not found")
	}
	return from, to, nil
}

// transferColumns and transferJoins read a transfer as scanTransfer scans
// it; a reader may select more columns between the two (scanned into
// scanTransfer's extra destinations).
const (
	transferColumns = `t.id, t.kind, t.key_owner, t.reference, t.request_hash, fa.account_number, ta.account_number,
		fa.owner_id, ta.owner_id, t.amount, t.narration, t.status, coalesce(t.failure_code, ''), t.created_by,
		t.created_at, t.completed_at, ` + approvalColumns
	transferJoins = `
	FROM ledger.transfers t
	JOIN ledger.accounts fa ON fa.id = t.from_account_id
	JOIN ledger.accounts ta ON ta.id = t.to_account_id`
	transferSelect = `
	SELECT ` + transferColumns + transferJoins
)

func scanTransfer(row pgx.Row, extra ...any) (bank.Transfer, error) {
	var t bank.Transfer
	var id, keyOwner, createdBy uuid.UUID
	var fromOwner, toOwner uuid.NullUUID
	var ap approvalRow
	dest := append([]any{&id, &t.Kind, &keyOwner, &t.Reference, &t.RequestHash, &t.FromAccount, &t.ToAccount,
		&fromOwner, &toOwner, &t.Amount, &t.Narration, &t.Status, &t.FailureCode, &createdBy, &t.CreatedAt, &t.CompletedAt},
		ap.dest()...)
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return bank.Transfer{}, err
	}
	t.Approval = ap.approval()
	t.ID, t.KeyOwner, t.CreatedBy = id.String(), keyOwner.String(), createdBy.String()
	if fromOwner.Valid {
		t.FromOwnerID = fromOwner.UUID.String()
	}
	if toOwner.Valid {
		t.ToOwnerID = toOwner.UUID.String()
	}
	return t, nil
}

func byKey(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, keyOwner, reference string) (bank.Transfer, error) {
	t, err := scanTransfer(q.QueryRow(ctx, transferSelect+` WHERE t.key_owner = $1 AND t.reference = $2`, keyOwner, reference))
	if errors.Is(err, pgx.ErrNoRows) {
		return bank.Transfer{}, bank.Errorf(bank.CodeNotFound, "transfer not found")
	}
	if err != nil {
		return bank.Transfer{}, fmt.Errorf("read transfer: %w", err)
	}
	return t, nil
}

// ByKey returns the transfer stored under (key owner, reference).
// Errors: NOT_FOUND.
func (l *Ledger) ByKey(ctx context.Context, keyOwner, reference string) (bank.Transfer, error) {
	if _, err := uuid.Parse(keyOwner); err != nil {
		return bank.Transfer{}, bank.Errorf(bank.CodeNotFound, "transfer not found")
	}
	return byKey(ctx, l.pool, keyOwner, reference)
}

// Entries lists an account's ledger entries newest first, after the entry id
// `before` (0 for the newest), at most limit of them; next is the cursor for
// the following page (0 when there is none).
func (l *Ledger) Entries(ctx context.Context, accountNumber string, limit int, before int64) (entries []bank.Entry, next int64, err error) {
	if limit <= 0 {
		return nil, 0, bank.Invalid("limit", "must be at least 1")
	}
	rows, err := l.pool.Query(ctx, `
		SELECT e.id, t.kind, t.reference, e.direction, e.amount, e.balance_after, ca.account_number, t.narration, e.created_at
		FROM ledger.accounts a
		JOIN ledger.entries e ON e.account_id = a.id
		JOIN ledger.transfers t ON t.id = e.transfer_id
		JOIN ledger.entries ce ON ce.transfer_id = e.transfer_id AND ce.direction <> e.direction
		JOIN ledger.accounts ca ON ca.id = ce.account_id
		WHERE a.account_number = $1 AND ($2::bigint = 0 OR e.id < $2)
		ORDER BY e.id DESC
		LIMIT $3`, accountNumber, before, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("list entries: %w", err)
	}
	entries, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (bank.Entry, error) {
		var e bank.Entry
		err := r.Scan(&e.ID, &e.Kind, &e.TransferReference, &e.Direction, &e.Amount, &e.BalanceAfter, &e.CounterpartyAccount, &e.Narration, &e.CreatedAt)
		return e, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list entries: %w", err)
	}
	if len(entries) > limit {
		entries = entries[:limit]
		next = entries[limit-1].ID
	}
	return entries, next, nil
}

// Audit is what the invariant checks read: every balance against its
// entries, and the total; holds and the daily limits (audit.go).
type Audit struct {
	Total            bank.Money
	Mismatched       []string // account numbers whose balance differs from their entries
	Negative         []string // customer accounts below zero
	AboveMax         []string // customer accounts above their tier's max balance
	Accounts         int
	CompletedPosted  int // completed transfers with exactly two entries
	CompletedMissing int // completed transfers without their two entries
	FailedWithEntry  int // failed transfers that nonetheless have entries
	HoldAudit
}

// RunAudit checks the ledger invariants of CONTRACT.md (1, 2, 5 and 6;
// Audit.Broken says which fail).
func (l *Ledger) RunAudit(ctx context.Context) (Audit, error) {
	var a Audit
	err := l.pool.QueryRow(ctx, `SELECT coalesce(sum(balance), 0), count(*) FROM ledger.accounts`).Scan(&a.Total, &a.Accounts)
	if err != nil {
		return a, err
	}
	rows, err := l.pool.Query(ctx, `
		SELECT a.account_number, a.kind, a.tier, a.balance,
			coalesce(sum(CASE e.direction WHEN 'CREDIT' THEN e.amount ELSE -e.amount END), 0)
		FROM ledger.accounts a LEFT JOIN ledger.entries e ON e.account_id = a.id
		GROUP BY a.id`)
	if err != nil {
		return a, err
	}
	for rows.Next() {
		var number, kind string
		var tier bank.Tier
		var balance, sum bank.Money
		if err := rows.Scan(&number, &kind, &tier, &balance, &sum); err != nil {
			rows.Close()
			return a, err
		}
		if balance != sum {
			a.Mismatched = append(a.Mismatched, number)
		}
		if kind == "customer" {
			if balance < 0 {
				a.Negative = append(a.Negative, number)
			}
			if m := tier.Limits().MaxBalance; m != nil && balance > *m {
				a.AboveMax = append(a.AboveMax, number)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return a, err
	}
	err = l.pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE t.status = 'COMPLETED' AND n = 2),
		       count(*) FILTER (WHERE t.status = 'COMPLETED' AND n <> 2),
		       count(*) FILTER (WHERE t.status = 'FAILED' AND n > 0)
		FROM ledger.transfers t
		CROSS JOIN LATERAL (SELECT count(*) AS n FROM ledger.entries e WHERE e.transfer_id = t.id) c`).
		Scan(&a.CompletedPosted, &a.CompletedMissing, &a.FailedWithEntry)
	if err != nil {
		return a, err
	}
	a.HoldAudit, err = auditHolds(ctx, l.pool)
	return a, err
}

// LookupTransfer reads both accounts and the transfer under (key owner,
// reference) in one round trip: three statements in one batch, each the
// one ByNumber or ByKey runs alone.
func (l *Ledger) LookupTransfer(ctx context.Context, keyOwner, reference, from, to string) (bank.TransferLookup, error) {
	var out bank.TransferLookup
	today := l.today()
	scanAccountToday := func(row pgx.Row) (bank.Account, error) { return scanAccount(row, today) }
	b := &pgx.Batch{}
	const account = `SELECT ` + accountColumns + ` FROM ledger.accounts WHERE account_number = $1 AND kind = 'customer'`
	for _, a := range []struct {
		number string
		dst    **bank.Account
	}{{from, &out.From}, {to, &out.To}} {
		if bank.ValidAccountNumber(a.number) {
			queueOptional(b, "read account", scanAccountToday, a.dst, account, a.number)
		}
	}
	if _, err := uuid.Parse(keyOwner); err == nil {
		queueOptional(b, "read transfer", func(row pgx.Row) (bank.Transfer, error) { return scanTransfer(row) }, &out.Stored,
			transferSelect+` WHERE t.key_owner = $1 AND t.reference = $2`, keyOwner, reference)
	}
	if b.Len() == 0 {
		return out, nil
	}
	if err := l.pool.SendBatch(ctx, b).Close(); err != nil {
		return bank.TransferLookup{}, err
	}
	return out, nil
}

// queueOptional queues a query for at most one row into b: scanned into
// *dst, which stays nil when there is none.
func queueOptional[T any](b *pgx.Batch, what string, scan func(pgx.Row) (T, error), dst **T, sql string, args ...any) {
	b.Queue(sql, args...).QueryRow(func(row pgx.Row) error {
		v, err := scan(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		*dst = &v
		return nil
	})
}
