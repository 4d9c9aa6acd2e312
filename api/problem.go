package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/bankcore/bank/bank"
)

// statusOf is the one table from error code to HTTP status.
var statusOf = map[bank.Code]int{
	bank.CodeValidation:         http.StatusBadRequest,
	bank.CodeUnauthenticated:    http.StatusUnauthorized,
	bank.CodeForbidden:          http.StatusForbidden,
	bank.CodeNotFound:           http.StatusNotFound,
	bank.CodeMethodNotAllowed:   http.StatusMethodNotAllowed,
	bank.CodeNotAcceptable:      http.StatusNotAcceptable,
	bank.CodeEmailTaken:         http.StatusConflict,
	bank.CodeIdentityInUse:      http.StatusConflict,
	bank.CodeTierNotHigher:      http.StatusConflict,
	bank.CodeTransferNotPending: http.StatusConflict,
	bank.CodeBodyTooLarge:       http.StatusRequestEntityTooLarge,
	bank.CodeUnsupportedMedia:   http.StatusUnsupportedMediaType,
	bank.CodeKYCFailed:          http.StatusUnprocessableEntity,
	bank.CodeIdempotencyReused:  http.StatusUnprocessableEntity,
	bank.CodeInsufficientFunds:  http.StatusUnprocessableEntity,
	bank.CodeSingleLimit:        http.StatusUnprocessableEntity,
	bank.CodeDailyLimit:         http.StatusUnprocessableEntity,
	bank.CodeReceiverLimit:      http.StatusUnprocessableEntity,
	bank.CodeSameAccount:        http.StatusUnprocessableEntity,
	bank.CodeRateLimited:        http.StatusTooManyRequests,
	bank.CodeKYCUnavailable:     http.StatusServiceUnavailable,
	bank.CodeUnavailable:        http.StatusServiceUnavailable,
	bank.CodeInternal:           http.StatusInternalServerError,
}

// messages is the one table from error code to what the caller is told when
// only the code is known: a refusal a workflow came back with, or one
// stored under a key. Errors that carry their own message (validation,
// the stores' NOT_FOUND) say it themselves.
var messages = map[bank.Code]string{
	bank.CodeNotFound:           "account not found",
	bank.CodeValidation:         "the request is not valid for this operation",
	bank.CodeIdempotencyReused:  "this idempotency key (reference) was already used for a different request; use a new one",
	bank.CodeSameAccount:        "the sending and receiving accounts are the same",
	bank.CodeSingleLimit:        "the amount exceeds the sending account's single transaction limit",
	bank.CodeDailyLimit:         "the transfer would take the sending account's debits of the day above its daily limit",
	bank.CodeTransferNotPending: "the transfer is not, or no longer, waiting for approval",
	bank.CodeInsufficientFunds:  "the sending account's balance is too low",
	bank.CodeReceiverLimit:      "the credit would lift the receiving account above its maximum balance",
	bank.CodeEmailTaken:         "a user with this email already exists",
	bank.CodeIdentityInUse:      "this identity number already belongs to another user",
	bank.CodeKYCFailed:          "the KYC evidence could not be verified, or what is on file does not allow this tier (TIER_3 needs a verified BVN or NIN first)",
	bank.CodeTierNotHigher:      "only upgrades are possible",
}

// refusal is the caller-safe error for a bare code.
func refusal(code bank.Code) error {
	msg, ok := messages[code]
	if !ok {
		msg = "the request was refused"
	}
	return bank.Errorf(code, "%s", msg)
}

// Problem is an RFC 9457 problem details object with our stable code.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	// Field names the offending input for VALIDATION_FAILED.
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// Checks names each dependency's state in /readyz's 503.
	Checks map[string]string `json:"checks,omitempty"`
}

// ProblemFor builds the problem for err without writing it. Errors without
// a code become a generic 500: their text is logged, never echoed.
func ProblemFor(err error) Problem {
	code := bank.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = bank.CodeInternal, http.StatusInternalServerError
	}
	p := Problem{
		Type:   "https://github.com/bankcore/bank/blob/main/docs/errors.md#" + strings.ToLower(string(code)),
		Title:  http.StatusText(status),
		Status: status,
		Detail: bank.ErrorMessage(err),
		Code:   string(code),
	}
	if be := (*bank.Error)(nil); errors.As(err, &be) && be != nil {
		p.Field = be.Field
	}
	return p
}

// writeError writes err as problem+json and logs server-side failures. A
// dependency that is down (PostgreSQL restarting, a connection cut) is a
// 503 with Retry-After, not a 500: the client should retry with its key.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	if bank.ErrorCode(err) == bank.CodeInternal && isUnavailable(err) {
		err = fmt.Errorf("%w (%w)", bank.Errorf(bank.CodeUnavailable, "a dependency is unavailable; retry shortly with the same key"), err)
	}
	p := ProblemFor(err)
	p.RequestID = requestID(r.Context())
	if p.Status >= 500 {
		logger(r.Context()).Error("request failed", "err", err, "code", p.Code)
	}
	if p.Status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	writeProblem(w, p)
}

// isUnavailable recognises failures to reach a dependency, as opposed to
// bugs: network errors, a connection reset or cut mid-answer, and
// PostgreSQL's connection-exception (08), insufficient-resources (53: too
// many connections, out of memory or disk) and operator-intervention (57)
// classes, seen through the SQLSTATE any driver error exposes.
func isUnavailable(err error) bool {
	var netErr net.Error
	var state interface{ SQLState() string }
	switch {
	case errors.As(err, &netErr), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return true
	case errors.As(err, &state):
		c := state.SQLState()
		return strings.HasPrefix(c, "08") || strings.HasPrefix(c, "53") || strings.HasPrefix(c, "57")
	}
	return false
}

func writeProblem(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Default().Debug("write response", "err", err)
	}
}
