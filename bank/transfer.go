package bank

import (
	"crypto/sha256"
	"errors"
	"math"
	"regexp"
	"strconv"
	"time"
)

// TransferStatus is where a transfer stands.
type TransferStatus string

// Transfer statuses.
const (
	StatusPending   TransferStatus = "PENDING"
	StatusCompleted TransferStatus = "COMPLETED"
	StatusFailed    TransferStatus = "FAILED"
	// StatusPendingApproval is a large transfer that passed every check and
	// waits, with its amount on hold, for an operator's decision.
	StatusPendingApproval TransferStatus = "PENDING_APPROVAL"
)

// Valid reports whether s is a status a stored transfer can have.
func (s TransferStatus) Valid() bool {
	switch s {
	case StatusPending, StatusCompleted, StatusFailed, StatusPendingApproval:
		return true
	}
	return false
}

// Final reports whether a transfer in status s has ended: money moved
// (COMPLETED) or never will (FAILED).
func (s TransferStatus) Final() bool { return s == StatusCompleted || s == StatusFailed }

// TransferKind tells customer transfers from operator deposits.
type TransferKind string

// Transfer kinds.
const (
	KindTransfer TransferKind = "transfer"
	KindDeposit  TransferKind = "deposit"
)

// SystemKeyOwner owns the idempotency keys of deposits: deposits are keyed by
// reference alone, whichever operator sends them.
const SystemKeyOwner = "00000000-0000-0000-0000-000000000000"

// Transfer is one movement of money between two ledger accounts, keyed by
// (KeyOwner, Reference).
type Transfer struct {
	ID          string         `json:"id"`
	Kind        TransferKind   `json:"kind"`
	KeyOwner    string         `json:"key_owner"`
	Reference   string         `json:"reference"`
	RequestHash []byte         `json:"request_hash"`
	FromAccount string         `json:"from_account"`
	ToAccount   string         `json:"to_account"`
	FromOwnerID string         `json:"from_owner_id,omitempty"`
	ToOwnerID   string         `json:"to_owner_id,omitempty"`
	Amount      Money          `json:"amount"`
	Narration   string         `json:"narration"`
	Status      TransferStatus `json:"status"`
	FailureCode Code           `json:"failure_code,omitempty"`
	CreatedBy   string         `json:"created_by"`
	CreatedAt   time.Time      `json:"created_at"`
	CompletedAt *time.Time     `json:"completed_at,omitempty"`
	// Approval is set on a transfer that was held for approval.
	Approval *Approval `json:"approval,omitempty"`
}

// TransferRequest is a validated request to move money.
type TransferRequest struct {
	Kind        TransferKind
	KeyOwner    string // the caller's user id; SystemKeyOwner for deposits
	Reference   string
	FromAccount string
	ToAccount   string
	Amount      Money
	Narration   string
	CreatedBy   string // who asked: the customer or the operator
}

// Hash is the digest of the request's canonical form: the same key with
// another hash is IDEMPOTENCY_KEY_REUSED.
func (r TransferRequest) Hash() []byte {
	h := sha256.New()
	for _, p := range []string{string(r.Kind), r.FromAccount, r.ToAccount, strconv.FormatInt(int64(r.Amount), 10), Currency, r.Narration} {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write([]byte(p))
	}
	return h.Sum(nil)
}

var referencePattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// ValidateReference checks an idempotency key: 1-64 of [A-Za-z0-9._:-].
func ValidateReference(field, ref string) error {
	if !referencePattern.MatchString(ref) {
		return Invalid(field, "must be 1 to 64 characters of A-Z a-z 0-9 . _ : -")
	}
	return nil
}

// MaxNarrationRunes bounds a narration.
const MaxNarrationRunes = 140

// Party is an account as the posting rules see it, read under its row lock.
type Party struct {
	ID      int64
	System  bool   // the funding account: no limits, may go below zero
	OwnerID string // "" for the funding account
	Tier    Tier
	Balance Money
	// OnHold is the sum of the account's active holds: Balance - OnHold is
	// what it may spend (the available balance).
	OnHold Money
	// DebitsToday is what counts against the daily limit of the day the
	// transfer is accepted on (DebitCounter.On).
	DebitsToday Money
}

// Available is the balance less the active holds.
func (p Party) Available() Money { return p.Balance - p.OnHold }

// Party is the account as the rules see it.
func (a Account) Party() Party {
	return Party{ID: a.ID, OwnerID: a.OwnerID, Tier: a.Tier, Balance: a.Balance}
}

// CheckSender checks that req may take money from the account from (nil:
// no such account). A customer sends only from an account of their own,
// so another's account and a missing one are the very same NOT_FOUND and
// the answer never tells which account numbers exist; a deposit comes from
// the funding account only (anything else is a bug, not a request). The
// API checks it before it starts a workflow, the posting again under the
// row locks. Errors: NOT_FOUND.
func CheckSender(req TransferRequest, from *Party) error {
	if req.Kind == KindDeposit {
		if from == nil || !from.System {
			return errors.New("deposits come from the system account")
		}
		return nil
	}
	if from == nil || from.System || from.OwnerID != req.KeyOwner {
		return &Error{Code: CodeNotFound, Field: "from_account", Message: "account not found"}
	}
	return nil
}

// CheckReceiver checks that req may pay into the account to (nil: no such
// account): money goes to customer accounts only, the funding account is
// nobody's to pay into. Errors: NOT_FOUND.
func CheckReceiver(req TransferRequest, to *Party) error {
	if to != nil && !to.System {
		return nil
	}
	if req.Kind == KindDeposit {
		return Errorf(CodeNotFound, "account not found") // the account in the path
	}
	return &Error{Code: CodeNotFound, Field: "to_account", Message: "the receiving account does not exist"}
}

// CheckTransfer applies the contract's rules, in the contract's order, to a
// movement of amount from one locked account to another. It returns "" when
// the transfer may proceed, else the refusal code.
func CheckTransfer(from, to Party, amount Money) Code {
	if from.ID == to.ID {
		return CodeSameAccount
	}
	if !from.System {
		l := from.Tier.Limits()
		if l.SingleTransaction != nil && amount > *l.SingleTransaction {
			return CodeSingleLimit
		}
		// Written as a difference: used is never above the limit, so
		// neither side can overflow.
		if l.DailyDebit != nil && amount > *l.DailyDebit-from.DebitsToday {
			return CodeDailyLimit
		}
		if from.Available() < amount {
			return CodeInsufficientFunds
		}
	} else if from.Balance < Money(math.MinInt64)+amount {
		return CodeInsufficientFunds // the funding account may go below zero, not below what int64 holds
	}
	return CheckCredit(to, amount)
}

// CheckCredit is the receiver's rule: a customer account never goes above
// its tier's max balance. It is checked when a transfer is accepted and
// again when a held transfer is approved (the receiver may have received
// other money meanwhile). "" when the credit may proceed.
func CheckCredit(to Party, amount Money) Code {
	if to.System {
		return ""
	}
	if to.Balance > Money(math.MaxInt64)-amount {
		return CodeReceiverLimit // beyond what the ledger can hold
	}
	if l := to.Tier.Limits().MaxBalance; l != nil && to.Balance+amount > *l {
		return CodeReceiverLimit
	}
	return ""
}

// Entry is one side of a posted transfer as an account's history shows it.
type Entry struct {
	ID                  int64
	Kind                TransferKind // of the transfer it belongs to
	TransferReference   string
	Direction           string // DEBIT or CREDIT
	Amount              Money
	BalanceAfter        Money
	CounterpartyAccount string
	Narration           string
	CreatedAt           time.Time
}
