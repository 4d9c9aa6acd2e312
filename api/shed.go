package api

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/bankcore/bank/bank"
)

// ShedQueueWait is how long a request waits for a slot before it is
// answered 503: long enough to ride out a burst, short enough that a client
// retrying against another instance loses little. The number of slots is
// BANK_MAX_INFLIGHT (Deps.MaxInFlight).
const ShedQueueWait = 100 * time.Millisecond

// shedExempt are probes and scrapes: an overloaded instance must still
// answer its orchestrator and its monitoring.
var shedExempt = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// shedLoad bounds the requests one instance works on at once. A request
// that finds every slot taken waits at most wait (in FIFO order) and is
// then answered 503 SERVICE_UNAVAILABLE with Retry-After: 1, so an
// overloaded instance sheds load instead of queueing without bound and
// latency recovers as soon as the burst ends. At most maxInFlight requests
// wait; more are refused at once. maxInFlight <= 0 turns shedding off.
//
// /healthz, /readyz and /metrics are exempt. A WebSocket upgrade takes a
// slot for its handshake and gives it back when the connection is hijacked,
// so long-lived subscriptions never use up the request budget.
func shedLoad(maxInFlight int, wait time.Duration) func(http.Handler) http.Handler {
	if maxInFlight <= 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	sem := semaphore.NewWeighted(int64(maxInFlight))
	var waiting atomic.Int64
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if shedExempt[r.URL.Path] {
				next.ServeHTTP(w, r)
				return
			}
			if !sem.TryAcquire(1) {
				if waiting.Add(1) > int64(maxInFlight) {
					waiting.Add(-1)
					shed(w, r)
					return
				}
				ctx, cancel := context.WithTimeout(r.Context(), wait)
				err := sem.Acquire(ctx, 1)
				cancel()
				waiting.Add(-1)
				if err != nil {
					shed(w, r)
					return
				}
			}
			var once sync.Once
			release := func() { once.Do(func() { sem.Release(1) }) }
			defer release()
			if isWebSocketUpgrade(r) {
				w = &releaseOnHijack{ResponseWriter: w, release: release}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// shed answers 503 without writeError's error log: under overload a log
// line per refused request would add to the load (the access log and the
// metrics count them).
func shed(w http.ResponseWriter, r *http.Request) {
	p := ProblemFor(bank.Errorf(bank.CodeUnavailable, "the server is busy; retry in a second"))
	p.RequestID = requestID(r.Context())
	w.Header().Set("Retry-After", "1")
	writeProblem(w, p)
}

func isWebSocketUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// releaseOnHijack gives the request's slot back when the handler takes the
// connection over (a WebSocket upgrade): from then on it is a connection,
// not a request.
type releaseOnHijack struct {
	http.ResponseWriter
	release func()
}

func (w *releaseOnHijack) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.release()
	}
	return conn, rw, err
}

func (w *releaseOnHijack) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (w *releaseOnHijack) Unwrap() http.ResponseWriter { return w.ResponseWriter }
