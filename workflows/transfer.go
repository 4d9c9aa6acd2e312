package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/bankcore/bank/activities"
	"github.com/bankcore/bank/bank"
)

// TransferID is the workflow id of a customer's transfer: keys are scoped
// to the caller.
func TransferID(userID, reference string) string { return "transfer/" + userID + "/" + reference }

// DepositWorkflow is the type name deposits run under: the Transfer
// workflow's code, told apart in the Web UI.
const DepositWorkflow = "Deposit"

// DepositID is the workflow id of a deposit.
func DepositID(reference string) string { return "deposit/" + reference }

// TransferInput is the request to post. No PII.
type TransferInput struct {
	Request bank.TransferRequest
}

// TransferResult is the posted transfer.
type TransferResult struct {
	Transfer bank.Transfer
}

var ledgerActs *activities.Ledger

// Transfer posts a transfer or a deposit and announces the outcome. Both
// steps are local activities (idempotent: the posting by its key, the event
// by its id), so the whole workflow usually completes in one workflow task:
// on 2 cores the server's cost per task, not Postgres, bounds throughput.
// A refusal fails the workflow with the refusal's code as its type, after
// the transfer_failed event.
func Transfer(ctx workflow.Context, in TransferInput) (TransferResult, error) {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		// Without it the SDK bounds all attempts together by the
		// StartToCloseTimeout: a Postgres or RabbitMQ outage of more than
		// ~10 s would fail the workflow, losing a completed transfer's
		// event or leaving its key answered by a failed run. A long-running
		// local activity heartbeats the workflow task (3 events per ~8 s),
		// so the bound stays well below the history limits.
		ScheduleToCloseTimeout: time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        50 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Second,
			NonRetryableErrorTypes: activities.BusinessCodes(),
		},
	})

	var posted activities.PostTransferResult
	err := workflow.ExecuteLocalActivity(lctx, ledgerActs.PostTransfer, activities.PostTransferInput{Request: in.Request}).Get(ctx, &posted)
	if err != nil {
		var appErr *temporal.ApplicationError
		var refusal activities.TransferRefusal
		if errors.As(err, &appErr) && appErr.HasDetails() && appErr.Details(&refusal) == nil && refusal.Transfer.ID != "" {
			// The sender of a refused transfer hears of it; a refused deposit
			// concerns only the operator, who got the answer.
			if refusal.Transfer.Kind == bank.KindTransfer {
				ev := transferEvent(ctx, refusal.Transfer)
				if perr := workflow.ExecuteLocalActivity(lctx, evtActs.PublishEvent, ev).Get(ctx, nil); perr != nil {
					return TransferResult{}, perr
				}
			}
			return TransferResult{}, temporal.NewNonRetryableApplicationError(
				"transfer refused: "+appErr.Type(), appErr.Type(), nil, refusal)
		}
		return TransferResult{}, err
	}
	ev := transferEvent(ctx, posted.Transfer)
	if err := workflow.ExecuteLocalActivity(lctx, evtActs.PublishEvent, ev).Get(ctx, nil); err != nil {
		return TransferResult{}, err
	}
	return TransferResult{Transfer: posted.Transfer}, nil
}

// transferEvent is the event announcing t; its id is derived from the
// transfer, so every retry publishes the same message.
func transferEvent(ctx workflow.Context, t bank.Transfer) bank.Event {
	ev := bank.Event{
		OccurredAt:         workflow.Now(ctx).UTC(),
		AccountNumber:      t.FromAccount,
		CounterpartAccount: t.ToAccount,
		Reference:          t.Reference,
		Amount:             t.Amount.String(),
		UserID:             t.FromOwnerID,
		CounterpartyID:     t.ToOwnerID,
	}
	switch {
	case t.Status == bank.StatusFailed:
		ev.Type, ev.FailureCode = bank.EventTransferFailed, t.FailureCode
		ev.UserID, ev.CounterpartyID = t.FromOwnerID, ""
	case t.Kind == bank.KindDeposit:
		ev.Type = bank.EventDepositCompleted
		ev.UserID, ev.CounterpartyID = t.ToOwnerID, ""
		ev.AccountNumber, ev.CounterpartAccount = t.ToAccount, t.FromAccount
	default:
		ev.Type = bank.EventTransferCompleted
	}
	ev.ID = string(ev.Type) + "/" + t.ID
	return ev
}
