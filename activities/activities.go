// Package activities holds the Temporal activities: thin methods on structs
// that hold their dependencies. They translate bank error codes into
// non-retryable application errors whose type is the code, and leave every
// other error retryable.
package activities

import (
	"errors"
	"slices"

	"go.temporal.io/sdk/temporal"

	"github.com/bankcore/bank/bank"
)

// businessCodes are final answers: retrying cannot change them.
var businessCodes = map[bank.Code]bool{
	bank.CodeValidation:        true,
	bank.CodeNotFound:          true,
	bank.CodeEmailTaken:        true,
	bank.CodeKYCFailed:         true,
	bank.CodeIdentityInUse:     true,
	bank.CodeIdempotencyReused: true,
	bank.CodeInsufficientFunds: true,
	bank.CodeSingleLimit:       true,
	bank.CodeDailyLimit:        true,
	bank.CodeReceiverLimit:     true,
	bank.CodeSameAccount:       true,
	bank.CodeTierNotHigher:     true,
}

// BusinessCodes lists the application error types that workflows treat as
// final (also used as NonRetryableErrorTypes in retry policies).
func BusinessCodes() []string { return slices.Clone(sortedBusinessCodes) }

// sortedBusinessCodes is businessCodes in a fixed order, made once: a
// workflow's retry policy must be the same on every run, and a map's order
// is not (workflowcheck).
var sortedBusinessCodes = func() []string {
	out := make([]string, 0, len(businessCodes))
	for c := range businessCodes {
		out = append(out, string(c))
	}
	slices.Sort(out)
	return out
}()

// asActivityError turns a business *bank.Error into a non-retryable
// application error typed by its code; other errors stay retryable.
func asActivityError(err error) error {
	if err == nil {
		return nil
	}
	var be *bank.Error
	if errors.As(err, &be) && businessCodes[be.Code] {
		return Refusal(be.Message, be.Code)
	}
	return err
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

// CodeOf returns the bank code carried by an error that came back from an
// activity or a workflow ("" when it carries none).
func CodeOf(err error) bank.Code {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && businessCodes[bank.Code(appErr.Type())] {
		return bank.Code(appErr.Type())
	}
	return ""
}
