package postgres

import (
	"time"

	"github.com/bankcore/bank/bank"
)

// Option configures the ledger and account stores.
type Option func(*settings)

type settings struct {
	// now is the clock: the instant a posting or a decision happens at
	// (its created_at, completed_at, decided_at, a hold's expiry) and so the
	// Lagos day it counts against, and the day daily_debit_used is read
	// for. One reading per posting, so its timestamps and its day never
	// disagree.
	now func() time.Time
	// Transfers at or above approvalThreshold wait for an operator (0:
	// none do); a held transfer expires approvalTimeout after acceptance.
	approvalThreshold bank.Money
	approvalTimeout   time.Duration
}

// WithClock replaces time.Now as the stores' clock, so tests can cross
// Lagos midnight or an approval deadline.
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
	s := settings{now: time.Now, approvalTimeout: bank.DefaultApprovalTimeout}
	for _, o := range opts {
		o(&s)
	}
	return s
}

// clock reads the clock once, at the precision PostgreSQL keeps, so what a
// posting returns equals what a later read of it returns.
func (s settings) clock() time.Time { return s.now().Truncate(time.Microsecond) }

// today is the clock's Lagos day.
func (s settings) today() bank.Day { return bank.LagosDay(s.now()) }
