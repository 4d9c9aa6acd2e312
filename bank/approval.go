package bank

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Defaults of the approval settings (BANK_APPROVAL_THRESHOLD,
// BANK_APPROVAL_TIMEOUT).
const (
	DefaultApprovalThreshold Money = 1_000_000_00
	DefaultApprovalTimeout         = 24 * time.Hour
)

// NeedsApproval reports whether an accepted transfer of amount is held for
// an operator's approval rather than posted: customer transfers at or above
// the threshold. A threshold of 0 turns approval off; deposits never wait.
func NeedsApproval(kind TransferKind, amount, threshold Money) bool {
	return kind == KindTransfer && threshold > 0 && amount >= threshold
}

// ApprovalStatus is where a held transfer's approval stands.
type ApprovalStatus string

// Approval statuses. PENDING is the only one that is not final.
const (
	ApprovalPending   ApprovalStatus = "PENDING"
	ApprovalApproved  ApprovalStatus = "APPROVED"
	ApprovalRejected  ApprovalStatus = "REJECTED"
	ApprovalCancelled ApprovalStatus = "CANCELLED"
	ApprovalExpired   ApprovalStatus = "EXPIRED"
)

// Approval is the decision record of a held transfer.
type Approval struct {
	Status    ApprovalStatus `json:"status"`
	ExpiresAt time.Time      `json:"expires_at"`
	// DecidedBy is the operator who approved or rejected; empty for a
	// cancellation, an expiry, and while pending.
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	// Note is the operator's note on an approval or the reason of a
	// rejection.
	Note string `json:"note,omitempty"`
	// DecisionID identifies the decision that ended it (the Temporal
	// Update's id, or the workflow's own id for a timer's expiry), so the
	// same decision retried gets this outcome back.
	DecisionID string `json:"decision_id,omitempty"`
}

// DecisionAction is what a decision does to a held transfer.
type DecisionAction string

// Decision actions: an operator approves or rejects, the sender cancels,
// the deadline expires it.
const (
	ActionApprove DecisionAction = "APPROVE"
	ActionReject  DecisionAction = "REJECT"
	ActionCancel  DecisionAction = "CANCEL"
	ActionExpire  DecisionAction = "EXPIRE"
)

// Approval is the approval status the action leaves.
func (a DecisionAction) Approval() ApprovalStatus {
	switch a {
	case ActionApprove:
		return ApprovalApproved
	case ActionReject:
		return ApprovalRejected
	case ActionCancel:
		return ApprovalCancelled
	case ActionExpire:
		return ApprovalExpired
	}
	return ""
}

// Bounds of a decision's text.
const (
	MaxNoteRunes       = 280
	MaxDecisionIDBytes = 255
)

// Decision ends a held transfer.
type Decision struct {
	// ID makes the decision idempotent: the caller passes the Temporal
	// Update id (or, for an expiry, an id the workflow derives), so an
	// activity retried after its commit gets the stored outcome.
	ID         string
	TransferID string
	Action     DecisionAction
	// By is who decides: the operator (approve, reject) or the sender's
	// user id (cancel, checked against the transfer's owner); empty for an
	// expiry.
	By string
	// Note: optional on approval, the required reason of a rejection,
	// none otherwise. At most MaxNoteRunes characters.
	Note string
}

// Validate checks the decision's shape. Errors: VALIDATION_FAILED.
func (d Decision) Validate() error {
	if d.ID == "" || len(d.ID) > MaxDecisionIDBytes {
		return Invalid("decision_id", "must be 1 to %d bytes", MaxDecisionIDBytes)
	}
	if d.TransferID == "" {
		return Invalid("id", "is required")
	}
	if d.Action.Approval() == "" {
		return Invalid("action", "must be one of APPROVE, REJECT, CANCEL, EXPIRE")
	}
	switch {
	case d.Action == ActionExpire && d.By != "":
		return Invalid("decided_by", "an expiry is decided by nobody")
	case d.Action != ActionExpire && d.By == "":
		return Invalid("decided_by", "is required")
	}
	field := "note"
	if d.Action == ActionReject {
		field = "reason"
	}
	if !utf8.ValidString(d.Note) || utf8.RuneCountInString(d.Note) > MaxNoteRunes {
		return Invalid(field, "must be at most %d characters", MaxNoteRunes)
	}
	if strings.IndexFunc(d.Note, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }) >= 0 {
		return Invalid(field, "must not contain control characters")
	}
	switch d.Action {
	case ActionReject:
		if strings.TrimSpace(d.Note) == "" {
			return Invalid(field, "is required: say why the transfer is rejected")
		}
	case ActionCancel, ActionExpire:
		if d.Note != "" {
			return Invalid(field, "is not taken by %s", d.Action)
		}
	}
	return nil
}

// Held is a held transfer as a decision sees it, read under the locks of
// both its accounts.
type Held struct {
	Status     TransferStatus
	Amount     Money
	KeyOwner   string // the sender's user id
	Approval   ApprovalStatus
	DecisionID string // of the decision that ended it, if one did
	ExpiresAt  time.Time
}

// Verdict is what a decision does to a held transfer.
type Verdict struct {
	// Replay: the same decision already ended the transfer; answer the
	// stored outcome and change nothing.
	Replay bool
	// Post: the hold becomes the debit and the credit. Otherwise it is
	// released.
	Post        bool
	Status      TransferStatus // COMPLETED or FAILED
	FailureCode Code
	Approval    ApprovalStatus
}

// Decide applies decision d, taken at now, to the held transfer h, whose
// receiver (read under its row lock) is to. Exactly one decision ends a
// held transfer: once it has ended, the same decision again (same id and
// action) is a replay, any other is TRANSFER_NOT_PENDING. An approval,
// rejection or cancellation at or after the deadline is refused too (the
// expiry is the workflow's timer, which comes at the deadline; the store
// takes it whenever it comes, as the timer's clock and ours may differ by a
// little). An approval re-checks the receiver's max balance: if the credit
// no longer fits, the transfer ends FAILED with RECEIVER_BALANCE_LIMIT and
// the approval stays APPROVED.
// Errors: NOT_FOUND (a cancellation by anyone but the sender, exactly as if
// the transfer did not exist), TRANSFER_NOT_PENDING.
func Decide(h Held, d Decision, to Party, now time.Time) (Verdict, error) {
	if d.Action == ActionCancel && d.By != h.KeyOwner {
		return Verdict{}, Errorf(CodeNotFound, "transfer not found")
	}
	if h.Status != StatusPendingApproval {
		if h.DecisionID != "" && h.DecisionID == d.ID && h.Approval == d.Action.Approval() {
			return Verdict{Replay: true, Status: h.Status, Approval: h.Approval}, nil
		}
		return Verdict{}, Errorf(CodeTransferNotPending, "the transfer is not pending approval")
	}
	if d.Action != ActionExpire && !now.Before(h.ExpiresAt) {
		return Verdict{}, Errorf(CodeTransferNotPending, "the transfer's approval deadline has passed")
	}
	v := Verdict{Status: StatusFailed, Approval: d.Action.Approval()}
	switch d.Action {
	case ActionApprove:
		if v.FailureCode = CheckCredit(to, h.Amount); v.FailureCode == "" {
			v.Post, v.Status = true, StatusCompleted
		}
	case ActionReject:
		v.FailureCode = CodeRejected
	case ActionCancel:
		v.FailureCode = CodeCancelled
	case ActionExpire:
		v.FailureCode = CodeApprovalExpired
	}
	return v, nil
}
