// Package bank is the domain vocabulary of the bank: money, tiers and their
// limits, users, accounts, events and the error codes every transport maps.
// It imports nothing of ours, so every other package may import it.
package bank

import (
	"errors"
	"fmt"
	"slices"
)

// Code is a stable, UPPER_SNAKE error code. Clients switch on it; the REST
// and GraphQL transports map it to a status in one table each, and workflows
// use it as the type of non-retryable application errors.
type Code string

// Error codes of the public contract.
const (
	CodeValidation        Code = "VALIDATION_FAILED"
	CodeUnauthenticated   Code = "UNAUTHENTICATED"
	CodeForbidden         Code = "FORBIDDEN"
	CodeNotFound          Code = "NOT_FOUND"
	CodeEmailTaken        Code = "EMAIL_TAKEN"
	CodeKYCFailed         Code = "KYC_FAILED"
	CodeKYCUnavailable    Code = "KYC_UNAVAILABLE"
	CodeIdentityInUse     Code = "IDENTITY_IN_USE"
	CodeIdempotencyReused Code = "IDEMPOTENCY_KEY_REUSED"
	CodeInsufficientFunds Code = "INSUFFICIENT_FUNDS"
	CodeSingleLimit       Code = "SINGLE_LIMIT_EXCEEDED"
	CodeDailyLimit        Code = "DAILY_LIMIT_EXCEEDED"
	CodeReceiverLimit     Code = "RECEIVER_BALANCE_LIMIT"
	CodeSameAccount       Code = "SAME_ACCOUNT"
	CodeTierNotHigher     Code = "TIER_NOT_HIGHER"
	CodeRateLimited       Code = "RATE_LIMITED"
	CodeUnsupportedMedia  Code = "UNSUPPORTED_MEDIA_TYPE"
	CodeBodyTooLarge      Code = "BODY_TOO_LARGE"
	CodeMethodNotAllowed  Code = "METHOD_NOT_ALLOWED"
	CodeNotAcceptable     Code = "NOT_ACCEPTABLE"
	CodeUnavailable       Code = "SERVICE_UNAVAILABLE"
	CodeInternal          Code = "INTERNAL"
)

// finalCodes are the codes of final answers, sorted: the request was
// refused for what it is or what the bank holds, and asking again cannot
// change that. Anything else (a timeout, an outage, a bug) may succeed when
// retried. A slice, not a map: workflow code reads it (retry policies), and
// must see one order every time.
var finalCodes = []Code{
	CodeDailyLimit,
	CodeEmailTaken,
	CodeIdempotencyReused,
	CodeIdentityInUse,
	CodeInsufficientFunds,
	CodeKYCFailed,
	CodeNotFound,
	CodeReceiverLimit,
	CodeSameAccount,
	CodeSingleLimit,
	CodeTierNotHigher,
	CodeTransferNotPending,
	CodeValidation,
}

// Final reports whether an error with this code is a final answer, one that
// retrying cannot change (workflows fail with it rather than retry).
func (c Code) Final() bool { return slices.Contains(finalCodes, c) }

// FinalCodes lists the codes of final answers, sorted.
func FinalCodes() []Code { return slices.Clone(finalCodes) }

// Codes of held transfers (CONTRACT.md, "Large transfers: holds and
// approval").
const (
	// CodeTransferNotPending refuses a decision (approve, reject, cancel)
	// on a transfer that is not, or no longer, PENDING_APPROVAL.
	CodeTransferNotPending Code = "TRANSFER_NOT_PENDING"

	// The failure codes of held transfers that did not go through: a
	// transfer's failure_code, never an error returned to a caller.
	CodeRejected        Code = "REJECTED"         // an operator rejected it
	CodeCancelled       Code = "CANCELLED"        // its sender cancelled it
	CodeApprovalExpired Code = "APPROVAL_EXPIRED" // nobody decided before the deadline
)

// Error is the one error type that crosses package borders with a code.
// Message is safe to show to the caller: it never holds secrets or PII.
type Error struct {
	Code    Code
	Message string
	// Field names the offending input field for VALIDATION_FAILED.
	Field string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports a validation failure of one input field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeValidation, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, CodeInternal for errors without one and
// "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e != nil { // a typed nil *Error carries no code
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the caller-safe message of err; errors without a code
// get a generic message so internals are never echoed.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e.Message
	}
	return "internal error"
}
