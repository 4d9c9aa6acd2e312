package bank

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestErrorCodeAndMessage(t *testing.T) {
	if got := ErrorCode(nil); got != "" {
		t.Errorf("ErrorCode(nil) = %q, want empty", got)
	}
	_ = ErrorMessage(nil) // must not panic

	secret := errors.New(`pq: duplicate key value violates unique constraint "users_email_key" (ada@example.com)`)
	for _, err := range []error{secret, io.EOF, fmt.Errorf("dial tcp 10.0.0.5:5432: %w", secret)} {
		if got := ErrorCode(err); got != CodeInternal {
			t.Errorf("ErrorCode(%v) = %q, want %q", err, got, CodeInternal)
		}
		msg := ErrorMessage(err)
		if msg == "" || strings.Contains(msg, "ada@example.com") || strings.Contains(msg, "pq:") || strings.Contains(msg, "10.0.0.5") || strings.Contains(msg, "EOF") {
			t.Errorf("ErrorMessage(%v) = %q: must be generic", err, msg)
		}
		if msg != ErrorMessage(errors.New("something else")) {
			t.Errorf("ErrorMessage differs between plain errors: %q", msg)
		}
	}

	e := Errorf(CodeInsufficientFunds, "balance %s is short of %s", Money(100), Money(250))
	if e.Message != "balance 1.00 is short of 2.50" || e.Field != "" {
		t.Errorf("Errorf = %+v", e)
	}
	wrapped := fmt.Errorf("transfer activity: %w", fmt.Errorf("posting: %w", e))
	if got := ErrorCode(wrapped); got != CodeInsufficientFunds {
		t.Errorf("ErrorCode(wrapped) = %q, want %q", got, CodeInsufficientFunds)
	}
	if got := ErrorMessage(wrapped); got != e.Message {
		t.Errorf("ErrorMessage(wrapped) = %q, want %q (no wrapping context)", got, e.Message)
	}
	joined := errors.Join(errors.New("cleanup failed"), Invalid("amount", "bad"))
	if ErrorCode(joined) != CodeValidation || ErrorMessage(joined) != "bad" {
		t.Errorf("joined: %q %q", ErrorCode(joined), ErrorMessage(joined))
	}
}

func TestTypedNilErrorDoesNotPanic(t *testing.T) {
	var e *Error
	var err error = e // a typed nil in an interface is a non-nil error
	wrapped := fmt.Errorf("ctx: %w", err)
	for _, err := range []error{err, wrapped} {
		if got := ErrorCode(err); got != CodeInternal {
			t.Errorf("ErrorCode(typed nil) = %q, want %q", got, CodeInternal)
		}
		if got := ErrorMessage(err); got == "" {
			t.Errorf("ErrorMessage(typed nil) is empty")
		}
	}
}

func TestErrorString(t *testing.T) {
	if got := Invalid("email", "must be %s", "valid").Error(); got != "VALIDATION_FAILED: email: must be valid" {
		t.Errorf("Invalid(...).Error() = %q", got)
	}
	if got := Errorf(CodeNotFound, "account not found").Error(); got != "NOT_FOUND: account not found" {
		t.Errorf("Errorf(...).Error() = %q", got)
	}
	// Every code is stable UPPER_SNAKE.
	for _, c := range []Code{CodeValidation, CodeUnauthenticated, CodeForbidden, CodeNotFound, CodeEmailTaken,
		CodeKYCFailed, CodeKYCUnavailable, CodeIdentityInUse, CodeIdempotencyReused, CodeInsufficientFunds,
		CodeSingleLimit, CodeReceiverLimit, CodeSameAccount, CodeTierNotHigher, CodeRateLimited,
		CodeUnsupportedMedia, CodeBodyTooLarge, CodeMethodNotAllowed, CodeUnavailable, CodeInternal} {
		if c == "" || strings.ToUpper(string(c)) != string(c) || strings.Trim(string(c), "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != "" {
			t.Errorf("code %q is not UPPER_SNAKE", c)
		}
	}
	// The contract's names.
	for c, want := range map[Code]string{
		CodeValidation: "VALIDATION_FAILED", CodeUnauthenticated: "UNAUTHENTICATED", CodeNotFound: "NOT_FOUND",
		CodeEmailTaken: "EMAIL_TAKEN", CodeKYCFailed: "KYC_FAILED", CodeIdentityInUse: "IDENTITY_IN_USE",
		CodeIdempotencyReused: "IDEMPOTENCY_KEY_REUSED", CodeInsufficientFunds: "INSUFFICIENT_FUNDS",
		CodeSingleLimit: "SINGLE_LIMIT_EXCEEDED", CodeReceiverLimit: "RECEIVER_BALANCE_LIMIT",
		CodeSameAccount: "SAME_ACCOUNT", CodeTierNotHigher: "TIER_NOT_HIGHER", CodeRateLimited: "RATE_LIMITED",
	} {
		if string(c) != want {
			t.Errorf("code %q, contract says %q", c, want)
		}
	}
}
