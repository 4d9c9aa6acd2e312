package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/httprate"

	"github.com/bankcore/bank/bank"
)

// limitByAddr limits requests per client address per minute; 0 turns it off.
func limitByAddr(perMinute int, trustProxy bool) func(http.Handler) http.Handler {
	if perMinute <= 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	return httprate.LimitBy(perMinute, time.Minute,
		func(r *http.Request) (string, error) { return clientAddr(r, trustProxy), nil },
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, r, bank.Errorf(bank.CodeRateLimited, "too many requests; retry later"))
		}))
}

// limitByCaller limits requests per signed-in caller (the token's user id)
// per minute; 0 turns it off. It must run after authenticate. Keyed by user
// rather than address, so one customer cannot walk a directory from many
// addresses, and customers behind one NAT do not share a budget.
func limitByCaller(perMinute int) func(http.Handler) http.Handler {
	if perMinute <= 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	return httprate.LimitBy(perMinute, time.Minute,
		func(r *http.Request) (string, error) { return principal(r).UserID, nil },
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, r, bank.Errorf(bank.CodeRateLimited, "too many requests; retry later"))
		}))
}

func retryAfter(w http.ResponseWriter, d time.Duration) {
	secs := int(d.Seconds()) + 1
	w.Header().Set("Retry-After", strconv.Itoa(secs))
}
