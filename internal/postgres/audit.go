package postgres

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bankcore/bank/bank"
)

// HoldAudit is the part of the audit that checks holds and daily limits
// (CONTRACT.md invariants 5 and 6), reading the ledger's own rows: each
// hold, each transfer, the tier history.
type HoldAudit struct {
	ActiveHolds int `json:"active_holds"`
	EndedHolds  int `json:"ended_holds"`
	// Accounts whose on_hold is not the sum of their active holds.
	OnHoldMismatched []string `json:"on_hold_mismatched,omitempty"`
	// Customer accounts whose available balance (balance - on_hold) is
	// negative.
	NegativeAvailable []string `json:"negative_available,omitempty"`
	// Transfers in a final state (COMPLETED, FAILED) with an active hold.
	FinalWithActiveHold int `json:"final_with_active_hold"`
	// PENDING_APPROVAL transfers without their active hold, or with
	// entries.
	PendingWithoutHold int `json:"pending_without_hold"`
	PendingWithEntry   int `json:"pending_with_entry"`
	// Holds that disagree with their transfer: another account or amount,
	// no approval record, an outcome its transfer's status contradicts
	// (POSTED is COMPLETED, RELEASED is FAILED), an end before its start;
	// and held transfers (an approval record) without a hold.
	HoldMismatched int `json:"hold_mismatched"`
	// Accounts whose daily counter is not the sum of the transfers that
	// count against the day it holds.
	CounterMismatched []string `json:"counter_mismatched,omitempty"`
	// "<account> <day>" where, at some acceptance, the day's counted debits
	// up to and including it exceeded the daily limit of the tier the
	// account had then.
	OverDailyLimit []string `json:"over_daily_limit,omitempty"`
	// Acceptances checked against the daily limit (those that could
	// exceed the lowest one).
	DailyChecked int `json:"daily_checked"`
}

// Broken lists the invariants the audit found broken, in words; none when
// the ledger is sound.
func (a Audit) Broken() []string {
	var out []string
	add := func(broken bool, format string, args ...any) {
		if broken {
			out = append(out, fmt.Sprintf(format, args...))
		}
	}
	add(a.Total != 0, "the balances sum to %s, not zero", a.Total)
	add(len(a.Mismatched) > 0, "balances differ from their entries: %v", a.Mismatched)
	add(len(a.Negative) > 0, "customer balances below zero: %v", a.Negative)
	add(len(a.AboveMax) > 0, "customer balances above their tier's max: %v", a.AboveMax)
	add(a.CompletedMissing > 0, "%d completed transfers without their two entries", a.CompletedMissing)
	add(a.FailedWithEntry > 0, "%d failed transfers with entries", a.FailedWithEntry)
	add(len(a.OnHoldMismatched) > 0, "on_hold differs from the active holds: %v", a.OnHoldMismatched)
	add(len(a.NegativeAvailable) > 0, "available balances below zero: %v", a.NegativeAvailable)
	add(a.FinalWithActiveHold > 0, "%d final transfers with an active hold", a.FinalWithActiveHold)
	add(a.PendingWithoutHold > 0, "%d pending approvals without their hold", a.PendingWithoutHold)
	add(a.PendingWithEntry > 0, "%d pending approvals with entries", a.PendingWithEntry)
	add(a.HoldMismatched > 0, "%d holds that disagree with their transfer", a.HoldMismatched)
	add(len(a.CounterMismatched) > 0, "daily counters differ from the day's transfers: %v", a.CounterMismatched)
	add(len(a.OverDailyLimit) > 0, "counted debits above the daily limit: %v", a.OverDailyLimit)
	return out
}

// OK reports whether every invariant the audit checks holds.
func (a Audit) OK() bool { return len(a.Broken()) == 0 }

func auditHolds(ctx context.Context, pool *pgxpool.Pool) (HoldAudit, error) {
	var a HoldAudit
	// Invariant 5, per account: on_hold is the sum of the active holds,
	// and what a customer may spend is never negative.
	rows, err := pool.Query(ctx, `
		SELECT a.account_number, a.on_hold <> coalesce(h.sum, 0), a.kind = 'customer' AND a.balance - a.on_hold < 0
		FROM ledger.accounts a
		LEFT JOIN (SELECT account_id, sum(amount) AS sum FROM ledger.holds WHERE ended_at IS NULL GROUP BY account_id) h
			ON h.account_id = a.id
		WHERE a.on_hold <> coalesce(h.sum, 0) OR (a.kind = 'customer' AND a.balance - a.on_hold < 0)`)
	if err != nil {
		return a, fmt.Errorf("audit holds: %w", err)
	}
	for rows.Next() {
		var number string
		var mismatched, negative bool
		if err := rows.Scan(&number, &mismatched, &negative); err != nil {
			rows.Close()
			return a, err
		}
		if mismatched {
			a.OnHoldMismatched = append(a.OnHoldMismatched, number)
		}
		if negative {
			a.NegativeAvailable = append(a.NegativeAvailable, number)
		}
	}
	if err := rows.Err(); err != nil {
		return a, err
	}

	// Invariant 5, per transfer: a held transfer has one hold, placed with
	// it, ended once and only when the transfer ended, the way it ended.
	// (Placed once: the hold's key is its transfer; ended at most once: a
	// trigger refuses any change to an ended hold.)
	err = pool.QueryRow(ctx, `
		SELECT
			count(*) FILTER (WHERE t.status IN ('COMPLETED', 'FAILED') AND h.transfer_id IS NOT NULL AND h.ended_at IS NULL),
			count(*) FILTER (WHERE t.status = 'PENDING_APPROVAL' AND (h.transfer_id IS NULL OR h.ended_at IS NOT NULL)),
			count(*) FILTER (WHERE (h.transfer_id IS NOT NULL AND (h.account_id <> t.from_account_id OR h.amount <> t.amount
					OR t.approval_status IS NULL OR h.ended_at < h.placed_at
					OR (h.outcome = 'POSTED' AND t.status <> 'COMPLETED') OR (h.outcome = 'RELEASED' AND t.status <> 'FAILED')))
				OR (t.approval_status IS NOT NULL AND h.transfer_id IS NULL)),
			count(h.transfer_id) FILTER (WHERE h.ended_at IS NULL),
			count(h.transfer_id) FILTER (WHERE h.ended_at IS NOT NULL)
		FROM ledger.transfers t LEFT JOIN ledger.holds h ON h.transfer_id = t.id`).
		Scan(&a.FinalWithActiveHold, &a.PendingWithoutHold, &a.HoldMismatched, &a.ActiveHolds, &a.EndedHolds)
	if err != nil {
		return a, fmt.Errorf("audit holds: %w", err)
	}
	var orphans int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM ledger.holds h
		WHERE NOT EXISTS (SELECT FROM ledger.transfers t WHERE t.id = h.transfer_id)`).Scan(&orphans); err != nil {
		return a, fmt.Errorf("audit holds: %w", err)
	}
	a.HoldMismatched += orphans // impossible with the foreign key; counted so the audit does not assume it
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM ledger.transfers t
		WHERE t.status = 'PENDING_APPROVAL' AND EXISTS (SELECT FROM ledger.entries e WHERE e.transfer_id = t.id)`).
		Scan(&a.PendingWithEntry); err != nil {
		return a, fmt.Errorf("audit holds: %w", err)
	}

	// The daily counters against the transfers (bank.CountsAgainstDay:
	// kind transfer, COMPLETED or PENDING_APPROVAL). One pass over the
	// transfers, grouped, rather than a lookup per account: the audit runs
	// right after a benchmark wrote most of the table, before statistics
	// catch up, and a per-account plan chosen on stale statistics can scan
	// the table once per account.
	rows, err = pool.Query(ctx, `
		WITH days AS (
			SELECT t.from_account_id AS account_id, t.accepted_day, sum(t.amount) AS sum
			FROM ledger.transfers t
			WHERE t.kind = 'transfer' AND t.status IN ('COMPLETED', 'PENDING_APPROVAL') AND t.accepted_day IS NOT NULL
			GROUP BY t.from_account_id, t.accepted_day)
		SELECT a.account_number FROM ledger.accounts a
		LEFT JOIN days d ON d.account_id = a.id AND d.accepted_day = a.debit_day
		WHERE a.debit_used <> coalesce(d.sum, 0)`)
	if err != nil {
		return a, fmt.Errorf("audit daily counters: %w", err)
	}
	for rows.Next() {
		var number string
		if err := rows.Scan(&number); err != nil {
			rows.Close()
			return a, err
		}
		a.CounterMismatched = append(a.CounterMismatched, number)
	}
	if err := rows.Err(); err != nil {
		return a, err
	}

	// Invariant 6, from the transfers and the tier history alone: at each
	// acceptance, the day's counted debits up to and including it against
	// the daily limit of the tier the account had then. Acceptances and
	// tier changes are ordered by ledger.account_event_seq (taken under
	// the account's row lock). Only sums above the lowest limit can break
	// a limit, so only those come back, capped at what Money holds (an
	// unlimited account's day may add up to more; no limit is that high).
	rows, err = pool.Query(ctx, `
		WITH counted AS (
			SELECT t.from_account_id AS account_id, t.accepted_day, t.seq,
				sum(t.amount) OVER (PARTITION BY t.from_account_id, t.accepted_day ORDER BY t.seq) AS running
			FROM ledger.transfers t
			WHERE t.kind = 'transfer' AND t.status IN ('COMPLETED', 'PENDING_APPROVAL') AND t.accepted_day IS NOT NULL)
		SELECT a.account_number, c.accepted_day, least(c.running, $2)::bigint, coalesce(
			(SELECT tc.to_tier FROM ledger.tier_changes tc WHERE tc.account_id = c.account_id AND tc.seq < c.seq
				ORDER BY tc.seq DESC LIMIT 1),
			(SELECT tc.from_tier FROM ledger.tier_changes tc WHERE tc.account_id = c.account_id AND tc.seq > c.seq
				ORDER BY tc.seq LIMIT 1),
			a.tier)
		FROM counted c JOIN ledger.accounts a ON a.id = c.account_id
		WHERE a.kind = 'customer' AND c.running > $1`, int64(lowestDailyLimit()), int64(math.MaxInt64))
	if err != nil {
		return a, fmt.Errorf("audit daily limits: %w", err)
	}
	seen := map[string]bool{}
	for rows.Next() {
		var number string
		var day time.Time
		var running bank.Money
		var tier bank.Tier
		if err := rows.Scan(&number, &day, &running, &tier); err != nil {
			rows.Close()
			return a, err
		}
		a.DailyChecked++
		if l := tier.Limits().DailyDebit; l != nil && running > *l {
			key := number + " " + string(dayOf(&day))
			if !seen[key] {
				seen[key] = true
				a.OverDailyLimit = append(a.OverDailyLimit, key)
			}
		}
	}
	return a, rows.Err()
}

// lowestDailyLimit is the smallest daily debit limit of any tier.
func lowestDailyLimit() bank.Money {
	low := bank.MaxMoney
	for _, t := range []bank.Tier{bank.Tier1, bank.Tier2, bank.Tier3} {
		if l := t.Limits().DailyDebit; l != nil && *l < low {
			low = *l
		}
	}
	return low
}
