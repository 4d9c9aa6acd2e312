package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bankcore/bank/bank"
)

// Balances in time and statements read ledger.entries by (account_id,
// created_at, id) (migration 00017). Entry times follow each account's
// balance_after chain (writeSQL stamps them under the row lock), so "the
// last entry at or before t" is one index descent and its balance_after is
// the balance at t.

// balanceAtSQL is the balance_after of account $1's last entry at or
// before $2, or 0 when it has none.
const balanceAtSQL = `SELECT coalesce((SELECT balance_after FROM ledger.entries
	WHERE account_id = $1 AND created_at <= $2 ORDER BY created_at DESC, id DESC LIMIT 1), 0)`

// BalanceAt is the ledger balance of the account (its internal id) after
// every entry at or before at: the balance_after of the last such entry, by
// one index-only lookup; 0 before the first.
func (l *Ledger) BalanceAt(ctx context.Context, accountID int64, at time.Time) (bank.Money, error) {
	var b bank.Money
	if err := l.pool.QueryRow(ctx, balanceAtSQL, accountID, at).Scan(&b); err != nil {
		return 0, fmt.Errorf("balance at: %w", err)
	}
	return b, nil
}

// statementSummarySQL reads a period's head in one statement: the balance
// before $2, the balance before $3, and the credits, debits and number of
// entries in [$2, $3), all from the time index.
const statementSummarySQL = `
	SELECT
		coalesce((SELECT balance_after FROM ledger.entries
			WHERE account_id = $1 AND created_at < $2 ORDER BY created_at DESC, id DESC LIMIT 1), 0),
		coalesce((SELECT balance_after FROM ledger.entries
			WHERE account_id = $1 AND created_at < $3 ORDER BY created_at DESC, id DESC LIMIT 1), 0),
		coalesce(sum(amount) FILTER (WHERE direction = 'CREDIT'), 0)::bigint,
		coalesce(sum(amount) FILTER (WHERE direction = 'DEBIT'), 0)::bigint,
		count(*)
	FROM ledger.entries WHERE account_id = $1 AND created_at >= $2 AND created_at < $3`

// statementItemsSQL lists a period's entries oldest first, each with its
// transfer's kind, reference and narration and the counterparty's number.
const statementItemsSQL = `
	SELECT e.id, t.kind, t.reference, e.direction, e.amount, e.balance_after, ca.account_number, t.narration, e.created_at
	FROM ledger.entries e
	JOIN ledger.transfers t ON t.id = e.transfer_id
	JOIN ledger.entries ce ON ce.transfer_id = e.transfer_id AND ce.direction <> e.direction
	JOIN ledger.accounts ca ON ca.id = ce.account_id
	WHERE e.account_id = $1 AND e.created_at >= $2 AND e.created_at < $3
	ORDER BY e.created_at, e.id`

// Statement reads the account's entries with start <= created_at < end:
// first the summary (head), then every entry oldest first (item), each
// handed over as it arrives from PostgreSQL, so memory does not grow with
// the number of entries. Both reads see one snapshot (a read-only
// repeatable-read transaction), so the items are exactly what the summary
// counted even while money moves. head's or item's error stops the read
// and is returned as it is. A summary that does not add up (opening +
// credits - debits ≠ closing) is refused before anything is handed over:
// it would mean a broken ledger, and a statement must never show one.
func (l *Ledger) Statement(ctx context.Context, accountID int64, start, end time.Time,
	head func(bank.StatementSummary) error, item func(bank.Entry) error) error {
	tx, err := l.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("statement: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	var s bank.StatementSummary
	if err := tx.QueryRow(ctx, statementSummarySQL, accountID, start, end).
		Scan(&s.Opening, &s.Closing, &s.Credits, &s.Debits, &s.Items); err != nil {
		return fmt.Errorf("statement summary: %w", err)
	}
	if !s.Balanced() {
		return fmt.Errorf("statement of account %d from %v to %v does not add up: %+v", accountID, start, end, s)
	}
	if err := head(s); err != nil {
		return err
	}

	rows, err := tx.Query(ctx, statementItemsSQL, accountID, start, end)
	if err != nil {
		return fmt.Errorf("statement items: %w", err)
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		var e bank.Entry
		if err := rows.Scan(&e.ID, &e.Kind, &e.TransferReference, &e.Direction, &e.Amount, &e.BalanceAfter,
			&e.CounterpartyAccount, &e.Narration, &e.CreatedAt); err != nil {
			return fmt.Errorf("statement items: %w", err)
		}
		n++
		if err := item(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("statement items: %w", err)
	}
	if n != s.Items {
		// One snapshot gives both reads; anything else is a bug.
		return fmt.Errorf("statement of account %d: %d items listed, %d counted", accountID, n, s.Items)
	}
	return nil
}
