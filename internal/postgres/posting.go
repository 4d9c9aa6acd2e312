package postgres

import (
	"time"

	"github.com/bankcore/bank/bank"
)

// posting is what Post writes for one request, decided in Go under both
// row locks: the rules' verdict and the rows the write leaves behind
// (absolute values, as the balances: the locks make them exact).
type posting struct {
	status bank.TransferStatus
	code   bank.Code
	// acceptedDay is the Lagos day the transfer counts against; "" for a
	// refusal, which is not accepted.
	acceptedDay bank.Day
	// What the write leaves on the sender's and the receiver's rows.
	fromBalance, toBalance bank.Money
	fromOnHold             bank.Money
	counter                bank.DebitCounter
	// expiresAt is the approval deadline of a held transfer.
	expiresAt *time.Time
}

// plan applies the rules at now to a request between two locked accounts:
// a refusal changes no row; an accepted transfer counts against the
// sender's day; one that needs approval is held (the sender's on_hold
// grows, no balance moves) until its deadline; any other moves the money.
func (s settings) plan(req bank.TransferRequest, from, to lockedAccount, now time.Time) posting {
	day := bank.LagosDay(now)
	from.party.DebitsToday = from.counter.On(day)
	p := posting{fromBalance: from.party.Balance, toBalance: to.party.Balance, fromOnHold: from.party.OnHold, counter: from.counter}
	if p.code = bank.CheckTransfer(from.party, to.party, req.Amount); p.code != "" {
		p.status = bank.StatusFailed
		return p
	}
	p.acceptedDay = day
	p.status = bank.StatusCompleted
	if bank.NeedsApproval(req.Kind, req.Amount, s.approvalThreshold) {
		p.status = bank.StatusPendingApproval
	}
	if bank.CountsAgainstDay(req.Kind, p.status) {
		p.counter = p.counter.Count(day, req.Amount)
	}
	if p.status == bank.StatusPendingApproval {
		p.fromOnHold += req.Amount
		expires := now.Add(s.approvalTimeout)
		p.expiresAt = &expires
		return p
	}
	p.fromBalance -= req.Amount
	p.toBalance += req.Amount
	return p
}

// nullable turns the zero value into SQL NULL.
func nullable[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}
