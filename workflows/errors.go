package workflows

import (
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/bankcore/bank/activities"
	"github.com/bankcore/bank/bank"
)

// CodeOf returns the bank code an error from an activity or a workflow
// carries: the type of its application error when that is a final code, ""
// otherwise (a timeout, Temporal unreachable, a bug).
func CodeOf(err error) bank.Code {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && bank.Code(appErr.Type()).Final() {
		return bank.Code(appErr.Type())
	}
	return ""
}

// refusalOf reads the refused transfer a posting's error, or a Transfer
// workflow's, carries (activities.TransferRefusal).
func refusalOf(err error) (bank.Transfer, bool) {
	var appErr *temporal.ApplicationError
	var r activities.TransferRefusal
	if errors.As(err, &appErr) && appErr.HasDetails() && appErr.Details(&r) == nil && r.Transfer.ID != "" {
		return r.Transfer, true
	}
	return bank.Transfer{}, false
}

// AnswerOf reads how a Transfer workflow ended (its result, or the error
// its Get returned) as the answer to its own request (bank.Answer.For
// makes it another request's): the transfer it posted, the refusal it
// stored, or the final error that stored nothing. ok is false when it ended
// otherwise (terminated, timed out, Temporal unreachable).
func AnswerOf(res TransferResult, err error) (_ bank.Answer, ok bool) {
	if err == nil {
		return bank.Answer{Transfer: res.Transfer}, true
	}
	if t, ok := refusalOf(err); ok {
		return bank.AnswerFor(t, t.RequestHash), true
	}
	if code := CodeOf(err); code != "" {
		return bank.Answer{Refusal: code}, true
	}
	return bank.Answer{}, false
}

// nonRetryable is the retry policies' list of final error types.
func nonRetryable() []string {
	codes := bank.FinalCodes()
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = string(c)
	}
	return out
}
