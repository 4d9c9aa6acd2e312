package activities

import (
	"context"

	"github.com/bankcore/bank/bank"
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
// the stored transfer (workflows.AnswerOf reads it).
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
		return PostTransferResult{}, asActivityError(err)
	}
	if t.Status == bank.StatusFailed {
		return PostTransferResult{}, Refusal("transfer refused: "+string(t.FailureCode), t.FailureCode, TransferRefusal{Transfer: t})
	}
	return PostTransferResult{Transfer: t}, nil
}
