package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
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

// StartTransfer is how the edge starts the workflow of req (Transfer, or
// Deposit for a deposit) under its key's id, and the id.
func StartTransfer(req bank.TransferRequest) (_ client.StartWorkflowOptions, workflowType string) {
	id, typ := TransferID(req.KeyOwner, req.Reference), "Transfer"
	if req.Kind == bank.KindDeposit {
		id, typ = DepositID(req.Reference), DepositWorkflow
	}
	return client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                QueueTransfers,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		// Postgres, not Temporal, is the lasting idempotency record: a run
		// that failed or that an operator terminated may run again under
		// its key, and PostTransfer answers from the stored row if money
		// moved. A completed run is never run twice.
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		// Where the API and the transfers worker share a process the server
		// hands the first (and only) workflow task back in the start's
		// answer: a third less server CPU per transfer.
		EnableEagerStart: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			AttrReference.ValueSet(req.Reference),
			AttrFromAccount.ValueSet(req.FromAccount),
			AttrToAccount.ValueSet(req.ToAccount),
			AttrUserID.ValueSet(req.CreatedBy),
		),
	}, typ
}

// The Transfer workflow's versions (workflow.GetVersion): a history
// recorded before a version replays down the branch it was recorded on.
const (
	transferShape = "transfer-shape"
	// shapeAnswers: the workflow answers its caller itself (AnswerCaller),
	// once the posting and its event are done. Before it, the posting and
	// the publish handed the outcome over on their own.
	shapeAnswers workflow.Version = 1
)

var (
	ledgerActs *activities.Ledger
	answerActs *activities.Answers
)

// Transfer posts a transfer or a deposit, announces the outcome, and
// answers its caller. Every step is a local activity (idempotent: the
// posting by its key, the event by its id), so the whole workflow usually
// completes in one workflow task: on 2 cores the server's cost per task,
// not Postgres, bounds throughput. A refusal fails the workflow with the
// refusal's code as its type, after its event and the answer.
func Transfer(ctx workflow.Context, in TransferInput) (TransferResult, error) {
	shape := workflow.GetVersion(ctx, transferShape, workflow.DefaultVersion, shapeAnswers)
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
			NonRetryableErrorTypes: nonRetryable(),
		},
	})

	var posted activities.PostTransferResult
	err := workflow.ExecuteLocalActivity(lctx, ledgerActs.PostTransfer, activities.PostTransferInput{Request: in.Request}).Get(ctx, &posted)
	t, refused := refusalOf(err)
	switch {
	case refused:
	case err != nil:
		// Nothing was stored. A final error (NOT_FOUND, IDEMPOTENCY_KEY_REUSED)
		// is the caller's answer; after any other the retries ran out, and
		// the caller finds out from the key later.
		if code := CodeOf(err); code != "" && shape >= shapeAnswers {
			answerCaller(ctx, bank.Answer{Refusal: code})
		}
		return TransferResult{}, err
	default:
		t = posted.Transfer
	}

	// What follows a posting is the event: the sender of a refused
	// transfer hears of it, a refused deposit concerns only the operator,
	// who gets the answer.
	if !refused || t.Kind == bank.KindTransfer {
		if err := workflow.ExecuteLocalActivity(lctx, evtActs.PublishEvent, transferEvent(ctx, t)).Get(ctx, nil); err != nil {
			return TransferResult{}, err
		}
	}
	// Then the caller: the answer never comes before its notification is
	// on its way.
	if shape >= shapeAnswers {
		answerCaller(ctx, bank.AnswerFor(t, t.RequestHash))
	}
	if refused {
		return TransferResult{}, temporal.NewNonRetryableApplicationError(
			"transfer refused: "+string(t.FailureCode), string(t.FailureCode), nil, activities.TransferRefusal{Transfer: t})
	}
	return TransferResult{Transfer: t}, nil
}

// answerCaller hands a to the handler waiting in this process, if the
// workflow runs where it was started (eager start). Elsewhere nobody waits
// and the handler reads the result or the stored row. It is tried once and
// never fails the transfer.
func answerCaller(ctx workflow.Context, a bank.Answer) {
	actx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	in := activities.AnswerCallerInput{WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, Answer: a}
	_ = workflow.ExecuteLocalActivity(actx, answerActs.AnswerCaller, in).Get(ctx, nil)
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
