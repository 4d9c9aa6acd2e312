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

// approvalColumns are a transfer's approval, read after transferSelect's
// other columns (approvalRow scans them).
const approvalColumns = `t.approval_status, t.expires_at, t.decided_by, t.decided_at, t.note, t.decision_id`

// approvalRow is approvalColumns as scanned.
type approvalRow struct {
	status     *string
	expiresAt  *time.Time
	decidedBy  uuid.NullUUID
	decidedAt  *time.Time
	note       *string
	decisionID *string
}

func (r *approvalRow) dest() []any {
	return []any{&r.status, &r.expiresAt, &r.decidedBy, &r.decidedAt, &r.note, &r.decisionID}
}

// approval is the record, nil for a transfer that was never held.
func (r *approvalRow) approval() *bank.Approval {
	if r.status == nil {
		return nil
	}
	a := &bank.Approval{Status: bank.ApprovalStatus(*r.status), DecidedAt: r.decidedAt}
	if r.expiresAt != nil {
		a.ExpiresAt = *r.expiresAt
	}
	if r.decidedBy.Valid {
		a.DecidedBy = r.decidedBy.UUID.String()
	}
	if r.note != nil {
		a.Note = *r.note
	}
	if r.decisionID != nil {
		a.DecisionID = *r.decisionID
	}
	return a
}

// decideLockSQL locks both accounts of a transfer in id order, as Post
// does, so a decision and any posting that touches either account run one
// after the other, and two decisions on one transfer too. Its columns are
// lockSQL's (scanLockedRow).
const decideLockSQL = `SELECT id, account_number, owner_id, kind = 'system', tier, balance, on_hold, debit_day, debit_used
	FROM ledger.accounts
	WHERE id IN (SELECT unnest(ARRAY[from_account_id, to_account_id]) FROM ledger.transfers WHERE id = $1)
	ORDER BY id FOR UPDATE`

// decideWriteSQL ends a held transfer: the transfer's status and approval,
// its hold (POSTED or RELEASED), the sender's balance, on_hold and daily
// counter, and, when the hold is posted ($11), the receiver's balance and
// both entries. Each part touches only what is still pending, and the
// counts it returns let the caller refuse to commit anything less than the
// whole.
const decideWriteSQL = `
	WITH t AS (
		UPDATE ledger.transfers SET status = $2, failure_code = $3, completed_at = $4, approval_status = $5,
			decided_by = $6, decided_at = $4, note = $7, decision_id = $8
		WHERE id = $1 AND status = 'PENDING_APPROVAL'
		RETURNING id, amount),
	h AS (
		UPDATE ledger.holds SET ended_at = $4, outcome = CASE WHEN $11::boolean THEN 'POSTED' ELSE 'RELEASED' END
		WHERE transfer_id = $1 AND ended_at IS NULL AND EXISTS (SELECT FROM t)
		RETURNING amount),
	b AS (
		UPDATE ledger.accounts SET balance = CASE id WHEN $9 THEN $12::bigint ELSE $13::bigint END,
			on_hold = CASE id WHEN $9 THEN $14::bigint ELSE on_hold END,
			debit_day = CASE id WHEN $9 THEN $15::date ELSE debit_day END,
			debit_used = CASE id WHEN $9 THEN $16::bigint ELSE debit_used END
		WHERE (id = $9 OR id = $10 AND $11::boolean) AND EXISTS (SELECT FROM t)
		RETURNING id),
	e AS (
		INSERT INTO ledger.entries (transfer_id, account_id, direction, amount, balance_after, created_at)
		SELECT t.id, v.account_id, v.direction, t.amount, v.balance_after, $4
		FROM t, (VALUES ($9::bigint, 'DEBIT', $12::bigint), ($10::bigint, 'CREDIT', $13::bigint))
			AS v (account_id, direction, balance_after)
		WHERE $11::boolean
		RETURNING id)
	SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM h), (SELECT coalesce(sum(amount), 0) FROM h),
		(SELECT count(*) FROM b), (SELECT count(*) FROM e)`

// Decide ends a held transfer with decision d (bank.Decide is the rule),
// in one transaction under the ordered locks of both its accounts:
//   - an approval posts the hold: the debit and the credit entries with
//     their balance_after, the sender's balance and on_hold down, the
//     receiver's balance up, the hold POSTED, the transfer COMPLETED; or,
//     when the credit would now lift the receiver above its max balance,
//     releases it and ends the transfer FAILED with RECEIVER_BALANCE_LIMIT
//     (its approval APPROVED);
//   - a rejection, cancellation or expiry releases the hold (on_hold down,
//     the hold RELEASED) and ends the transfer FAILED with REJECTED,
//     CANCELLED or APPROVAL_EXPIRED.
//
// A released transfer stops counting against the day it was accepted on:
// the sender's counter gives its amount back if it still holds that day.
// The first decision wins; the same decision again (same id and action:
// an activity retried after its commit) gets the stored transfer back and
// changes nothing; any other is TRANSFER_NOT_PENDING.
// Errors: VALIDATION_FAILED (bank.Decision.Validate), NOT_FOUND (no such
// transfer, or a cancellation by anyone but its sender),
// TRANSFER_NOT_PENDING.
func (l *Ledger) Decide(ctx context.Context, d bank.Decision) (bank.Transfer, error) {
	if err := d.Validate(); err != nil {
		return bank.Transfer{}, err
	}
	id, err := uuid.Parse(d.TransferID)
	if err != nil {
		return bank.Transfer{}, bank.Errorf(bank.CodeNotFound, "transfer not found")
	}
	if d.Action == bank.ActionApprove || d.Action == bank.ActionReject {
		if _, err := uuid.Parse(d.By); err != nil {
			return bank.Transfer{}, bank.Invalid("decided_by", "must be the operator's user id")
		}
	}
	// As in Post: ordered locks leave no deadlock, and the retry keeps one
	// a future change might bring from reaching the caller.
	for attempt := 0; ; attempt++ {
		out, err := l.decide(ctx, id, d)
		var pgErr *pgconn.PgError
		if attempt < 3 && errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") {
			continue
		}
		return out, err
	}
}

func (l *Ledger) decide(ctx context.Context, id uuid.UUID, d bank.Decision) (bank.Transfer, error) {
	var out bank.Transfer
	err := pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, decideLockSQL, id)
		if err != nil {
			return fmt.Errorf("lock accounts: %w", err)
		}
		locked, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (lockedAccount, error) { return scanLockedRow(r) })
		if err != nil {
			return fmt.Errorf("lock accounts: %w", err)
		}
		if len(locked) == 0 {
			return bank.Errorf(bank.CodeNotFound, "transfer not found")
		}

		// Read under the locks: a decision that got them first has
		// committed by now, and this read sees it. The clock too is read
		// under them, as a posting's is (clockSQL).
		var acceptedDay *time.Time
		var fromID, toID int64
		var lockedAt time.Time
		t, err := scanTransfer(tx.QueryRow(ctx, `SELECT `+transferColumns+`, t.accepted_day, t.from_account_id, t.to_account_id,
			clock_timestamp()`+transferJoins+` WHERE t.id = $1`, id), &acceptedDay, &fromID, &toID, &lockedAt)
		if err != nil {
			return fmt.Errorf("read transfer: %w", err)
		}
		from, to := pick(locked, fromID), pick(locked, toID)
		held := bank.Held{Status: t.Status, Amount: t.Amount, KeyOwner: t.KeyOwner}
		if t.Approval != nil {
			held.Approval, held.DecisionID, held.ExpiresAt = t.Approval.Status, t.Approval.DecisionID, t.Approval.ExpiresAt
		}
		now := l.instant(lockedAt)
		v, err := bank.Decide(held, d, to.party, now)
		if err != nil {
			return err
		}
		if v.Replay {
			out = t
			return nil
		}

		// What the decision leaves on the rows, from what the locks read.
		fromBalance, toBalance := from.party.Balance, to.party.Balance
		fromOnHold, counter := from.party.OnHold-t.Amount, from.counter
		if v.Post {
			fromBalance, toBalance = fromBalance-t.Amount, toBalance+t.Amount
		} else {
			counter = counter.Uncount(dayOf(acceptedDay), t.Amount)
		}
		decidedBy := any(nil)
		if d.Action == bank.ActionApprove || d.Action == bank.ActionReject {
			decidedBy = d.By
		}
		var nt, nh, nb, ne int
		var heldAmount int64
		err = tx.QueryRow(ctx, decideWriteSQL, id, string(v.Status), nullable(string(v.FailureCode)), now,
			string(v.Approval), decidedBy, nullable(d.Note), d.ID, from.party.ID, to.party.ID, v.Post,
			int64(fromBalance), int64(toBalance), int64(fromOnHold), nullable(string(counter.Day)), int64(counter.Used)).
			Scan(&nt, &nh, &heldAmount, &nb, &ne)
		if err != nil {
			return fmt.Errorf("end hold: %w", err)
		}
		// Under the locks the transfer was pending, so each part must
		// have written exactly its rows (the sender's row, and the
		// receiver's and two entries when posted): anything else is a bug,
		// and the transaction rolls back rather than end a hold by halves.
		wantB, wantE := 1, 0
		if v.Post {
			wantB, wantE = 2, 2
		}
		if nt != 1 || nh != 1 || heldAmount != int64(t.Amount) || nb != wantB || ne != wantE {
			return fmt.Errorf("end hold of transfer %s: wrote %d transfer, %d hold (%d), %d accounts, %d entries",
				id, nt, nh, heldAmount, nb, ne)
		}

		t.Status, t.FailureCode, t.CompletedAt = v.Status, v.FailureCode, &now
		t.Approval.Status, t.Approval.DecidedAt, t.Approval.Note, t.Approval.DecisionID = v.Approval, &now, d.Note, d.ID
		if decidedBy != nil {
			t.Approval.DecidedBy = d.By
		}
		out = t
		return nil
	})
	return out, err
}

// pick returns the locked account with the given id (the sender and the
// receiver are one row when they are one account).
func pick(locked []lockedAccount, id int64) lockedAccount {
	for _, a := range locked {
		if a.party.ID == id {
			return a
		}
	}
	return lockedAccount{}
}
