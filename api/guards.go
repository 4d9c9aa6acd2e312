package api

import (
	"net/http"

	"github.com/bankcore/bank/bank"
)

// oneIdempotencyKey refuses a request that carries the Idempotency-Key
// header more than once, for the reason duplicate JSON keys are refused:
// net/http reads the first, and a proxy or a log may have read the other.
// (Proxies that merge repeated headers send "a, b", which no key matches.)
func oneIdempotencyKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.Header.Values("Idempotency-Key")) > 1 {
			writeError(w, r, bank.Invalid("Idempotency-Key", "must be sent once"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
