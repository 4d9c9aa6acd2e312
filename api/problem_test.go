package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/bankcore/bank/bank"
)

type sqlStateErr string

func (e sqlStateErr) Error() string    { return "pg error " + string(e) }
func (e sqlStateErr) SQLState() string { return string(e) }

func TestWriteErrorStatus(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter bool
	}{
		{"BankCode", bank.Errorf(bank.CodeInsufficientFunds, "short"), 422, "INSUFFICIENT_FUNDS", false},
		{"DailyLimit", bank.Errorf(bank.CodeDailyLimit, "over the day"), 422, "DAILY_LIMIT_EXCEEDED", false},
		{"Bug", errors.New("nil map"), 500, "INTERNAL", false},
		{"ConnectionRefused", fmt.Errorf("read user: %w", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), 503, "SERVICE_UNAVAILABLE", true},
		{"ConnectionReset", fmt.Errorf("post: %w", syscall.ECONNRESET), 503, "SERVICE_UNAVAILABLE", true},
		{"CutMidAnswer", fmt.Errorf("scan: %w", io.ErrUnexpectedEOF), 503, "SERVICE_UNAVAILABLE", true},
		{"AdminShutdown", fmt.Errorf("post: %w", sqlStateErr("57P01")), 503, "SERVICE_UNAVAILABLE", true},
		{"ConnectionFailure", fmt.Errorf("post: %w", sqlStateErr("08006")), 503, "SERVICE_UNAVAILABLE", true},
		{"TooManyConnections", fmt.Errorf("read user: %w", sqlStateErr("53300")), 503, "SERVICE_UNAVAILABLE", true},
		{"ConstraintIsABug", fmt.Errorf("post: %w", sqlStateErr("23505")), 500, "INTERNAL", false},
		{"DeclaredUnavailable", bank.Errorf(bank.CodeUnavailable, "temporal down"), 503, "SERVICE_UNAVAILABLE", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			writeError(rec, httptest.NewRequest(http.MethodGet, "/", nil), tc.err)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			var p Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if p.Code != tc.code {
				t.Errorf("code = %s, want %s", p.Code, tc.code)
			}
			if got := rec.Header().Get("Retry-After") != ""; got != tc.retryAfter {
				t.Errorf("Retry-After present = %v, want %v", got, tc.retryAfter)
			}
			if tc.status >= 500 && strings.Contains(rec.Body.String(), tc.err.Error()) {
				t.Errorf("the cause leaked into the body: %s", rec.Body)
			}
		})
	}
}
