package activities

import (
	"context"

	"github.com/bankcore/bank/bank"
)

// Caller is whoever waits in this process for a workflow's answer: the HTTP
// handler that started the workflow, when eager start ran it on this
// process's worker. Deliver never blocks; with no one waiting it does
// nothing.
type Caller interface {
	Deliver(workflowID string, a bank.Answer)
}

// Answers holds the activity that carries a workflow's answer to its
// caller. Caller nil: nobody in this process waits (a worker without the
// API, or the in-process answer turned off).
type Answers struct {
	Caller Caller
}

// AnswerCallerInput is the answer for the workflow's own request, and whose
// caller it is.
type AnswerCallerInput struct {
	WorkflowID string
	Answer     bank.Answer
}

// AnswerCaller hands the answer over. The workflow decides when (a
// transfer once its posting and its event are done); this only carries it,
// and cannot fail: a caller who is not here reads the workflow's result or
// the stored row instead.
func (a *Answers) AnswerCaller(_ context.Context, in AnswerCallerInput) error {
	if a.Caller != nil {
		a.Caller.Deliver(in.WorkflowID, in.Answer)
	}
	return nil
}
