package bank

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNeedsApproval(t *testing.T) {
	const threshold = DefaultApprovalThreshold
	if threshold != 1_000_000_00 || DefaultApprovalTimeout != 24*time.Hour {
		t.Fatalf("defaults %s / %s, want 1000000.00 / 24h (CONTRACT.md)", threshold, DefaultApprovalTimeout)
	}
	for _, c := range []struct {
		name      string
		kind      TransferKind
		amount    Money
		threshold Money
		want      bool
	}{
		{"one kobo below the threshold", KindTransfer, threshold - kobo, threshold, false},
		{"at the threshold", KindTransfer, threshold, threshold, true},
		{"above the threshold", KindTransfer, 50_000_000_00, threshold, true},
		{"deposits never wait", KindDeposit, 50_000_000_00, threshold, false},
		{"threshold 0 turns approval off", KindTransfer, 50_000_000_00, 0, false},
		{"a low threshold", KindTransfer, 1_00, 1_00, true},
	} {
		if got := NeedsApproval(c.kind, c.amount, c.threshold); got != c.want {
			t.Errorf("%s: NeedsApproval(%s, %s, %s) = %v, want %v", c.name, c.kind, c.amount, c.threshold, got, c.want)
		}
	}
}

func TestDecisionValidate(t *testing.T) {
	const operator, owner = "6f1c2a7e-0d4b-4c55-9a51-2b7f1f0c9e11", "7a2d3b8f-1e5c-4d66-8b62-3c8f2a1d0f22"
	good := func(a DecisionAction) Decision {
		d := Decision{ID: "update-1", TransferID: "0b7f0c8e-3a55-4d6e-9c1b-2f4a6e8d0c12", Action: a, By: operator}
		switch a {
		case ActionReject:
			d.Note = "beneficiary not verified"
		case ActionCancel:
			d.By = owner
		case ActionExpire:
			d.By = ""
		}
		return d
	}
	for _, a := range []DecisionAction{ActionApprove, ActionReject, ActionCancel, ActionExpire} {
		if err := good(a).Validate(); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	withNote := good(ActionApprove)
	withNote.Note = strings.Repeat("é", MaxNoteRunes) // characters, not bytes
	if err := withNote.Validate(); err != nil {
		t.Errorf("a note of %d characters: %v", MaxNoteRunes, err)
	}
	multiline := good(ActionReject)
	multiline.Note = "line one\nline two"
	if err := multiline.Validate(); err != nil {
		t.Errorf("a reason over two lines: %v", err)
	}

	for _, c := range []struct {
		name  string
		edit  func(*Decision)
		field string
	}{
		{"no decision id", func(d *Decision) { d.ID = "" }, "decision_id"},
		{"decision id too long", func(d *Decision) { d.ID = strings.Repeat("x", MaxDecisionIDBytes+1) }, "decision_id"},
		{"no transfer", func(d *Decision) { d.TransferID = "" }, "id"},
		{"unknown action", func(d *Decision) { d.Action = "POST" }, "action"},
		{"approval by nobody", func(d *Decision) { d.By = "" }, "decided_by"},
		{"expiry by somebody", func(d *Decision) { d.Action, d.By = ActionExpire, operator }, "decided_by"},
		{"note too long", func(d *Decision) { d.Note = strings.Repeat("a", MaxNoteRunes+1) }, "note"},
		{"note not UTF-8", func(d *Decision) { d.Note = "\xff" }, "note"},
		{"note with a control character", func(d *Decision) { d.Note = "ok\x00" }, "note"},
		{"rejection without a reason", func(d *Decision) { d.Action, d.Note = ActionReject, "" }, "reason"},
		{"rejection with a blank reason", func(d *Decision) { d.Action, d.Note = ActionReject, " \n " }, "reason"},
		{"rejection reason too long", func(d *Decision) { d.Action, d.Note = ActionReject, strings.Repeat("a", MaxNoteRunes+1) }, "reason"},
		{"cancellation with a note", func(d *Decision) { d.Action, d.Note = ActionCancel, "changed my mind" }, "note"},
		{"expiry with a note", func(d *Decision) { d.Action, d.By, d.Note = ActionExpire, "", "late" }, "note"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := good(ActionApprove)
			c.edit(&d)
			err := d.Validate()
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeValidation || e.Field != c.field {
				t.Errorf("Validate = %v, want VALIDATION_FAILED on %s", err, c.field)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	const owner, operator = "7a2d3b8f-1e5c-4d66-8b62-3c8f2a1d0f22", "6f1c2a7e-0d4b-4c55-9a51-2b7f1f0c9e11"
	accepted := time.Date(2026, 12, 5, 9, 0, 0, 0, Lagos)
	deadline := accepted.Add(DefaultApprovalTimeout)
	pending := Held{Status: StatusPendingApproval, Amount: 2_000_000_00, KeyOwner: owner, Approval: ApprovalPending, ExpiresAt: deadline}
	ended := func(status TransferStatus, approval ApprovalStatus, id string) Held {
		h := pending
		h.Status, h.Approval, h.DecisionID = status, approval, id
		return h
	}
	roomy := Party{ID: 2, Tier: Tier3, Balance: 5_00}
	full := Party{ID: 2, Tier: Tier2, Balance: 1_000_000_00 - 2_000_000_00 + 1_000_000_00} // exactly at max
	tier2Room := Party{ID: 2, Tier: Tier2, Balance: 0}
	decision := func(id string, a DecisionAction, by string) Decision {
		return Decision{ID: id, TransferID: "t", Action: a, By: by}
	}
	before := deadline.Add(-time.Microsecond)

	cases := []struct {
		name string
		h    Held
		d    Decision
		to   Party
		now  time.Time
		want Verdict
		code Code // the error's, when refused
	}{
		{"approve posts", pending, decision("u1", ActionApprove, operator), roomy, accepted,
			Verdict{Post: true, Status: StatusCompleted, Approval: ApprovalApproved}, ""},
		{"approve just before the deadline", pending, decision("u1", ActionApprove, operator), roomy, before,
			Verdict{Post: true, Status: StatusCompleted, Approval: ApprovalApproved}, ""},
		{"approve re-checks the receiver's max", pending, decision("u1", ActionApprove, operator), full, accepted,
			Verdict{Status: StatusFailed, FailureCode: CodeReceiverLimit, Approval: ApprovalApproved}, ""},
		{"approve into a TIER_2 receiver with room", Held{Status: StatusPendingApproval, Amount: 1_000_000_00, KeyOwner: owner,
			Approval: ApprovalPending, ExpiresAt: deadline}, decision("u1", ActionApprove, operator), tier2Room, accepted,
			Verdict{Post: true, Status: StatusCompleted, Approval: ApprovalApproved}, ""},
		{"reject releases", pending, decision("u2", ActionReject, operator), roomy, accepted,
			Verdict{Status: StatusFailed, FailureCode: CodeRejected, Approval: ApprovalRejected}, ""},
		{"the owner cancels", pending, decision("u3", ActionCancel, owner), roomy, accepted,
			Verdict{Status: StatusFailed, FailureCode: CodeCancelled, Approval: ApprovalCancelled}, ""},
		{"expiry at the deadline", pending, decision("wf-expire", ActionExpire, ""), roomy, deadline,
			Verdict{Status: StatusFailed, FailureCode: CodeApprovalExpired, Approval: ApprovalExpired}, ""},
		{"expiry is taken whenever the timer comes", pending, decision("wf-expire", ActionExpire, ""), roomy, before,
			Verdict{Status: StatusFailed, FailureCode: CodeApprovalExpired, Approval: ApprovalExpired}, ""},

		// After the deadline only the expiry ends it.
		{"approve at the deadline", pending, decision("u1", ActionApprove, operator), roomy, deadline, Verdict{}, CodeTransferNotPending},
		{"reject after the deadline", pending, decision("u2", ActionReject, operator), roomy, deadline.Add(time.Hour), Verdict{}, CodeTransferNotPending},
		{"cancel after the deadline", pending, decision("u3", ActionCancel, owner), roomy, deadline, Verdict{}, CodeTransferNotPending},

		// Someone else's transfer is not found, whatever its state.
		{"cancel by another customer", pending, decision("u3", ActionCancel, operator), roomy, accepted, Verdict{}, CodeNotFound},
		{"cancel by another customer after the end", ended(StatusFailed, ApprovalRejected, "u2"), decision("u3", ActionCancel, operator), roomy, accepted, Verdict{}, CodeNotFound},

		// Exactly one decision wins; the same one again is a replay.
		{"the same approval retried", ended(StatusCompleted, ApprovalApproved, "u1"), decision("u1", ActionApprove, operator), roomy, deadline.Add(time.Hour),
			Verdict{Replay: true, Status: StatusCompleted, Approval: ApprovalApproved}, ""},
		{"the same failed approval retried", ended(StatusFailed, ApprovalApproved, "u1"), decision("u1", ActionApprove, operator), roomy, accepted,
			Verdict{Replay: true, Status: StatusFailed, Approval: ApprovalApproved}, ""},
		{"the same expiry retried", ended(StatusFailed, ApprovalExpired, "wf-expire"), decision("wf-expire", ActionExpire, ""), roomy, deadline,
			Verdict{Replay: true, Status: StatusFailed, Approval: ApprovalExpired}, ""},
		{"a second approval after an approval", ended(StatusCompleted, ApprovalApproved, "u1"), decision("u9", ActionApprove, operator), roomy, accepted, Verdict{}, CodeTransferNotPending},
		{"reject after an approval", ended(StatusCompleted, ApprovalApproved, "u1"), decision("u2", ActionReject, operator), roomy, accepted, Verdict{}, CodeTransferNotPending},
		{"approve after a cancellation", ended(StatusFailed, ApprovalCancelled, "u3"), decision("u1", ActionApprove, operator), roomy, accepted, Verdict{}, CodeTransferNotPending},
		{"cancel after an expiry", ended(StatusFailed, ApprovalExpired, "wf-expire"), decision("u3", ActionCancel, owner), roomy, accepted, Verdict{}, CodeTransferNotPending},
		{"the winning id with another action", ended(StatusFailed, ApprovalRejected, "u2"), decision("u2", ActionApprove, operator), roomy, accepted, Verdict{}, CodeTransferNotPending},

		// Transfers that were never held.
		{"a completed plain transfer", Held{Status: StatusCompleted, Amount: 5_00, KeyOwner: owner}, decision("u1", ActionApprove, operator), roomy, accepted, Verdict{}, CodeTransferNotPending},
		{"a refused plain transfer", Held{Status: StatusFailed, Amount: 5_00, KeyOwner: owner}, decision("u3", ActionCancel, owner), roomy, accepted, Verdict{}, CodeTransferNotPending},
		{"a plain transfer never matches an empty id", Held{Status: StatusCompleted, Amount: 5_00, KeyOwner: owner}, decision("", ActionApprove, operator), roomy, accepted, Verdict{}, CodeTransferNotPending},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Decide(c.h, c.d, c.to, c.now)
			if c.code != "" {
				if ErrorCode(err) != c.code {
					t.Fatalf("Decide = %+v, %v; want %s", got, err, c.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if got != c.want {
				t.Errorf("Decide = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestDecisionActionApproval(t *testing.T) {
	want := map[DecisionAction]ApprovalStatus{ActionApprove: ApprovalApproved, ActionReject: ApprovalRejected,
		ActionCancel: ApprovalCancelled, ActionExpire: ApprovalExpired, "": "", "APPROVED": ""}
	for a, s := range want {
		if got := a.Approval(); got != s {
			t.Errorf("%q.Approval() = %q, want %q", a, got, s)
		}
	}
}
