// Package activities holds the Temporal activities: thin methods on structs
// that hold their dependencies. They translate bank errors into application
// errors typed by their code (non-retryable when the code is final) and
// leave every other error retryable. What happens next is the workflow's
// business, never an activity's.
package activities

import (
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/bankcore/bank/bank"
)

// asActivityError turns a *bank.Error into an application error typed by
// its code: non-retryable when the code is final (bank.Code.Final),
// retryable otherwise (KYC_UNAVAILABLE: a slow registry). Other errors stay
// as they are, retryable; nil stays nil (an activity's result is ignored
// when it returns an error).
func asActivityError(err error) error {
	var be *bank.Error
	if !errors.As(err, &be) || be == nil {
		return err
	}
	if be.Code.Final() {
		return Refusal(be.Message, be.Code)
	}
	return temporal.NewApplicationError(be.Message, string(be.Code))
}

// Refusal is the application error of a business refusal: typed by its
// code, never retried, and benign, so the SDK neither logs it as an error
// ("Activity error." at ERROR) nor counts it among failed activities. A
// refusal is an answer the bank gives, not a fault to page anyone about.
func Refusal(msg string, code bank.Code, details ...any) error {
	return temporal.NewApplicationErrorWithOptions(msg, string(code), temporal.ApplicationErrorOptions{
		NonRetryable: true,
		Category:     temporal.ApplicationErrorCategoryBenign,
		Details:      details,
	})
}
