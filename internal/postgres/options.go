package postgres

import (
	"time"

	"github.com/bankcore/bank/bank"
)

// Option configures the ledger and account stores.
type Option func(*settings)

type settings struct {
	// now, when set (tests), replaces the database's clock: the instant a
	// posting or a decision happens at (its created_at, completed_at,
	// decided_at, a hold's expiry) and so the Lagos day it counts against,
	// and the day daily_debit_used is read for. Unset, a posting's instant
	// is PostgreSQL's clock read under its row locks (clockSQL), and reads
	// take time.Now for today. One reading per posting, so its timestamps
	// and its day never disagree.
	now func() time.Time
	// Transfers at or above approvalThreshold wait for an operator (0:
	// none do); a held transfer expires approvalTimeout after acceptance.
	approvalThreshold bank.Money
	approvalTimeout   time.Duration
}

// WithClock replaces the stores' clock (PostgreSQL's under the locks for
// postings and decisions, time.Now for reads), so tests can cross Lagos
// midnight or an approval deadline.
func WithClock(now func() time.Time) Option { return func(s *settings) { s.now = now } }

// WithApproval holds transfers of threshold or more for approval, expiring
// timeout after acceptance (BANK_APPROVAL_THRESHOLD, BANK_APPROVAL_TIMEOUT;
// the defaults are bank.DefaultApprovalThreshold and
// bank.DefaultApprovalTimeout). A threshold of 0 turns approval off.
//
// Without this option no transfer is held: a caller that cannot yet wait
// for a decision (the transfer workflow before it learned to) never meets
// a PENDING_APPROVAL posting.
func WithApproval(threshold bank.Money, timeout time.Duration) Option {
	return func(s *settings) { s.approvalThreshold, s.approvalTimeout = threshold, timeout }
}

func newSettings(opts []Option) settings {
	s := settings{approvalTimeout: bank.DefaultApprovalTimeout}
	for _, o := range opts {
		o(&s)
	}
	return s
}

// instant is a posting's or a decision's time: the test clock's reading
// when there is one (at the precision PostgreSQL keeps, so what a posting
// returns equals what a later read of it returns), else locked, the
// database's clock read under the locks.
func (s settings) instant(locked time.Time) time.Time {
	if s.now != nil {
		return s.now().Truncate(time.Microsecond)
	}
	return locked
}

// today is the Lagos day reads report daily_debit_used for.
func (s settings) today() bank.Day {
	if s.now != nil {
		return bank.LagosDay(s.now())
	}
	return bank.LagosDay(time.Now())
}
