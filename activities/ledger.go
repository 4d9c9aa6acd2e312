package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/handoff"
)

// LedgerStore posts transfers atomically and idempotently.
// Errors: NOT_FOUND, IDEMPOTENCY_KEY_REUSED; refusals come back as a stored
// transfer with status FAILED.
type LedgerStore interface {
	Post(ctx context.Context, req bank.TransferRequest) (bank.Transfer, error)
}

// Ledger holds the posting activity.
type Ledger struct {
	Ledger LedgerStore
	// Outcomes, when set, gets every posting's outcome under its workflow
	// id, for an API handler in this process that started the workflow
	// (eager start runs it here) and answers once money has moved and the
	// event is confirmed. Set, it needs a real activity context
	// (activity.GetInfo), as the SDK and its test environment give.
	Outcomes *handoff.Hub
}

// PostTransferInput is the validated request; no PII (account numbers and
// amounts stay readable for operators).
type PostTransferInput struct {
	Request bank.TransferRequest
}

// PostTransferResult is the stored transfer.
type PostTransferResult struct {
	Transfer bank.Transfer
}

// TransferRefusal is the detail of a refused transfer's application error:
// the stored transfer, so the workflow can announce it.
type TransferRefusal struct {
	Transfer bank.Transfer
}

// PostTransfer runs the one posting transaction. A refusal (stored, sticky)
// is a non-retryable application error typed by its code and carrying the
// stored transfer; everything else but NOT_FOUND and IDEMPOTENCY_KEY_REUSED
// is retried, and a retry after a commit returns the stored result.
func (a *Ledger) PostTransfer(ctx context.Context, in PostTransferInput) (PostTransferResult, error) {
	t, err := a.Ledger.Post(ctx, in.Request)
	if err != nil {
		var be *bank.Error
		if errors.As(err, &be) && businessCodes[be.Code] {
			a.handOff(ctx, handoff.Outcome{Err: be})
		}
		return PostTransferResult{}, asActivityError(err)
	}
	if t.Status == bank.StatusFailed && t.Kind == bank.KindDeposit {
		// The workflow announces no refused deposit: answer now.
		a.handOff(ctx, handoff.Outcome{Transfer: t})
	} else {
		// The workflow publishes the event next; PublishEvent releases it.
		a.Outcomes.Hold(workflowID(ctx, a.Outcomes), handoff.Outcome{Transfer: t})
	}
	if t.Status == bank.StatusFailed {
		return PostTransferResult{}, Refusal("transfer refused: "+string(t.FailureCode), t.FailureCode, TransferRefusal{Transfer: t})
	}
	return PostTransferResult{Transfer: t}, nil
}

func (a *Ledger) handOff(ctx context.Context, o handoff.Outcome) {
	a.Outcomes.Deliver(workflowID(ctx, a.Outcomes), o)
}

// workflowID is the id outcomes are handed over under; "" when there is no
// Hub (the activity info is not read for nothing).
func workflowID(ctx context.Context, h *handoff.Hub) string {
	if h == nil {
		return ""
	}
	return activity.GetInfo(ctx).WorkflowExecution.ID
}
