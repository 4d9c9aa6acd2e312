package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bankcore/bank/bank"
)

// ByID returns a transfer or deposit by its id, with its approval when it
// was held. Operators read any; callers that serve customers check the
// owner. Errors: NOT_FOUND.
func (l *Ledger) ByID(ctx context.Context, id string) (bank.Transfer, error) {
	tid, err := uuid.Parse(id)
	if err != nil {
		return bank.Transfer{}, bank.Errorf(bank.CodeNotFound, "transfer not found")
	}
	t, err := scanTransfer(l.pool.QueryRow(ctx, transferSelect+` WHERE t.id = $1`, tid))
	if errors.Is(err, pgx.ErrNoRows) {
		return bank.Transfer{}, bank.Errorf(bank.CodeNotFound, "transfer not found")
	}
	if err != nil {
		return bank.Transfer{}, fmt.Errorf("read transfer: %w", err)
	}
	return t, nil
}

// statusCondition is the SQL of each status filter, written out rather
// than bound: the approvals queue's condition must match the partial index
// transfers_pending_approval in the statement's text for a generic plan to
// use it. The keys are the only values a filter may hold (Validate).
var statusCondition = map[bank.TransferStatus]string{
	bank.StatusPending:         `t.status = 'PENDING'`,
	bank.StatusPendingApproval: `t.status = 'PENDING_APPROVAL'`,
	bank.StatusCompleted:       `t.status = 'COMPLETED'`,
	bank.StatusFailed:          `t.status = 'FAILED'`,
}

// ListTransfers lists transfers and deposits of every account, newest
// first (in acceptance order), that match the filter: at most limit (1 to
// bank.MaxPageSize) after the cursor `before` (0 for the newest); next is
// the cursor of the following page, 0 when there is none. Each filter has
// an index: an account's transfers on either side (two index scans merged),
// a reference, the approvals queue; the other statuses walk the newest
// first and skip what does not match.
// Errors: VALIDATION_FAILED (a bad filter or limit).
func (l *Ledger) ListTransfers(ctx context.Context, f bank.TransferFilter, limit int, before int64) (transfers []bank.Transfer, next int64, err error) {
	if err := f.Validate(); err != nil {
		return nil, 0, err
	}
	if err := bank.ValidatePageSize(limit); err != nil {
		return nil, 0, err
	}
	args := []any{limit + 1}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var conds []string
	if before > 0 {
		conds = append(conds, `t.seq < `+arg(before))
	}
	if f.Status != "" {
		conds = append(conds, statusCondition[f.Status])
	}
	if f.Reference != "" {
		conds = append(conds, `t.reference = `+arg(f.Reference))
	}
	where := func(extra ...string) string {
		all := append(append([]string(nil), conds...), extra...)
		if len(all) == 0 {
			return ""
		}
		s := " WHERE " + all[0]
		for _, c := range all[1:] {
			s += " AND " + c
		}
		return s
	}
	page := `SELECT t.id, t.seq FROM ledger.transfers t` + where() + ` ORDER BY t.seq DESC LIMIT $1`
	if f.Account != "" {
		// Either side: the newest of each side's own index scan, merged.
		a := arg(f.Account)
		side := func(col string) string {
			return `(SELECT t.id, t.seq FROM ledger.transfers t` +
				where(`t.`+col+` = (SELECT id FROM ledger.accounts WHERE account_number = `+a+`)`) +
				` ORDER BY t.seq DESC LIMIT $1)`
		}
		page = `SELECT id, seq FROM (` + side("from_account_id") + ` UNION ` + side("to_account_id") +
			`) s ORDER BY seq DESC LIMIT $1`
	}
	rows, err := l.pool.Query(ctx, `WITH page AS (`+page+`) SELECT `+transferColumns+`, t.seq`+transferJoins+`
		JOIN page ON page.id = t.id ORDER BY t.seq DESC`, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list transfers: %w", err)
	}
	var seqs []int64
	transfers, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (bank.Transfer, error) {
		var seq int64
		t, err := scanTransfer(r, &seq)
		seqs = append(seqs, seq)
		return t, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list transfers: %w", err)
	}
	if len(transfers) > limit {
		transfers = transfers[:limit]
		next = seqs[limit-1]
	}
	return transfers, next, nil
}
