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

// failureLimiter counts failed attempts (not requests) per key in a sliding
// window, on httprate's counter. Wall-clock windows, so keys are comparable.
type failureLimiter struct {
	limit   int
	window  time.Duration
	limiter *httprate.RateLimiter
}

func newFailureLimiter(limit int, window time.Duration) *failureLimiter {
	if limit <= 0 {
		return nil
	}
	return &failureLimiter{limit: limit, window: window,
		limiter: httprate.NewRateLimiter(limit, window, httprate.WithLimitCounter(httprate.NewLocalLimitCounter(window)))}
}

// blocked reports whether any key has reached its limit of failures, and
// how long until the current window ends.
func (f *failureLimiter) blocked(keys ...string) (bool, time.Duration) {
	if f == nil {
		return false, 0
	}
	for _, k := range keys {
		if _, rate, err := f.limiter.Status(k); err == nil && int(rate) >= f.limit {
			now := time.Now().UTC()
			return true, now.Truncate(f.window).Add(f.window).Sub(now)
		}
	}
	return false, 0
}

func (f *failureLimiter) fail(keys ...string) {
	if f == nil {
		return
	}
	window := time.Now().UTC().Truncate(f.window)
	for _, k := range keys {
		_ = f.limiter.Counter().IncrementBy(k, window, 1) // the local counter never fails
	}
}

func retryAfter(w http.ResponseWriter, d time.Duration) {
	secs := int(d.Seconds()) + 1
	w.Header().Set("Retry-After", strconv.Itoa(secs))
}
