package bank

import (
	"math"
	"time"
)

// Day is a calendar day in Lagos (the zone is bank.Lagos, statement.go), as
// DateLayout (the format of a SQL date). The zero Day is no day.
type Day string

// LagosDay returns the Lagos calendar day of the instant t: the day starts
// at 00:00 in Lagos, which is 23:00 UTC the evening before.
func LagosDay(t time.Time) Day { return Day(t.In(Lagos).Format(DateLayout)) }

// Start is the instant the day begins in Lagos (the zero time for a Day
// that is not a date).
func (d Day) Start() time.Time {
	t, err := time.ParseInLocation(DateLayout, string(d), Lagos)
	if err != nil {
		return time.Time{}
	}
	return t
}

// CountsAgainstDay reports whether a transfer of kind in status counts
// against its sender's day: customer transfers while COMPLETED or
// PENDING_APPROVAL. Deposits come from the funding account, which has no
// limit; a reversal (when there are reversals) counts against nobody's day;
// a refused or released transfer stops counting.
func CountsAgainstDay(kind TransferKind, status TransferStatus) bool {
	return kind == KindTransfer && (status == StatusCompleted || status == StatusPendingApproval)
}

// DebitCounter is an account's counted debits of one Lagos day: what its
// transfers out accepted that day add up to while they are COMPLETED or
// PENDING_APPROVAL. The store keeps one per account (the day it holds and
// the sum), updated under the account's row lock, so the daily limit is
// checked against one row rather than a sum over the day's transfers.
type DebitCounter struct {
	Day  Day
	Used Money
}

// On returns the counted debits of day: what the counter holds if it holds
// that day, else nothing (a new day starts from zero).
func (c DebitCounter) On(day Day) Money {
	if c.Day != day {
		return 0
	}
	return c.Used
}

// Count adds a debit accepted on day. A counter that holds an earlier day
// starts over. It stops at the largest Money: only an unlimited account
// (TIER_3, money going round) could get there, and for it the counter
// decides nothing.
func (c DebitCounter) Count(day Day, amount Money) DebitCounter {
	used := c.On(day)
	if used > math.MaxInt64-amount {
		return DebitCounter{Day: day, Used: math.MaxInt64}
	}
	return DebitCounter{Day: day, Used: used + amount}
}

// Uncount takes back a debit accepted on day that stopped counting (a held
// transfer rejected, cancelled, expired or refused at approval). When the
// counter has moved on to another day it is left alone: that earlier day's
// sum no longer decides anything, and the audit reads it from the
// transfers themselves.
func (c DebitCounter) Uncount(day Day, amount Money) DebitCounter {
	if c.Day != day {
		return c
	}
	return DebitCounter{Day: day, Used: c.Used - amount}
}
