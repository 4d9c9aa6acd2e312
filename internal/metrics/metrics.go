// Package metrics holds one process's Prometheus registry and the bank's own
// metrics: HTTP latency by route, answers to transfers and deposits by
// outcome, notifier lag, and the Temporal SDK's client and worker metrics.
//
// Every App gets its own registry (never prometheus.DefaultRegisterer), so
// tests that run several stacks in one process never collide. A nil
// *Metrics is valid and records nothing, so components can be built without
// metrics.
//
// The SDK's metrics go through go.temporal.io/sdk/contrib/tally and tally's
// Prometheus reporter, the path Temporal documents for the Go SDK: the names,
// labels and units (temporal_request_total,
// temporal_workflow_task_schedule_to_start_latency_seconds_bucket, …) are
// the ones Temporal's SDK dashboards and metric reference use.
package metrics

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	tally "github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// Metric names, for dashboards, alerts and docs/operations.md.
const (
	NameHTTPDuration    = "bank_http_request_duration_seconds"
	NameTransfers       = "bank_transfers_total"
	NameTransferAnswers = "bank_transfer_answers_total"
	NameNotifierLag     = "bank_notifier_lag_seconds"
)

// Outcomes of a transfer or deposit answer besides the refusal codes
// (INSUFFICIENT_FUNDS, SAME_ACCOUNT, …, IDEMPOTENCY_KEY_REUSED).
const (
	OutcomeCompleted = "COMPLETED"
	OutcomeReplayed  = "REPLAYED" // answered from Postgres: the key was known
	OutcomePending   = "PENDING"  // 202: the workflow had not finished in time
	OutcomeError     = "ERROR"    // 5xx: Temporal or Postgres unavailable, a bug
)

// unmatchedRoute labels requests no route matched, so that scanners probing
// random paths cannot create label values.
const unmatchedRoute = "unmatched"

// sdkReportInterval is how often tally moves the SDK's counters and gauges
// into the registry; timers are recorded at once.
const sdkReportInterval = time.Second

// Metrics is one process's registry and instruments. Safe for concurrent
// use.
type Metrics struct {
	reg         *prometheus.Registry
	handler     http.Handler
	httpLatency *prometheus.HistogramVec
	transfers   *prometheus.CounterVec
	answers     *prometheus.CounterVec
	notifierLag *prometheus.HistogramVec

	sdkScope  tally.Scope
	sdkCloser io.Closer
}

// New makes a fresh registry with the Go runtime and process collectors,
// the bank's metrics and the SDK bridge. Close stops the SDK bridge's
// reporting loop.
func New(logger *slog.Logger) *Metrics {
	if logger == nil {
		logger = slog.Default()
	}
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		httpLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    NameHTTPDuration,
			Help:    "HTTP request latency by chi route pattern, method and status code.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method", "status"}),
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameTransfers,
			Help: "Answers to POST /transfers (kind=transfer) and deposits (kind=deposit) by outcome: " +
				"COMPLETED, REPLAYED, PENDING, ERROR or the refusal code.",
		}, []string{"kind", "outcome"}),
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameTransferAnswers,
			Help: "Answers to newly started transfers and deposits by source: handoff (the workflow, running in this " +
				"process, handed its answer over once the posting and its event were done), workflow (the workflow's " +
				"result) or ledger (the row stored under the key, while the workflow was still running).",
		}, []string{"source"}),
		notifierLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    NameNotifierLag,
			Help:    "Seconds from an event's occurred_at to its notifications being stored, by event type.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900},
		}, []string{"type"}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpLatency, m.transfers, m.answers, m.notifierLag,
	)
	m.handler = promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slogPrintln{logger},
		ErrorHandling: promhttp.ContinueOnError,
		// Scrapes are cheap, but a stuck scraper must not pile up goroutines.
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	}))

	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:       reg,
		DefaultTimerType: tallyprom.HistogramTimerType,
		// The reporter panics by default when a metric name comes back with
		// other label names; a worker must never die of its metrics.
		OnRegisterError: func(err error) {
			logger.Warn("Temporal SDK metric not exported", "err", err)
		},
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:         reporter,
		Separator:              tallyprom.DefaultSeparator,
		SanitizeOptions:        &sdktally.PrometheusSanitizeOptions,
		OmitCardinalityMetrics: true,
	}, sdkReportInterval)
	m.sdkScope = sdktally.NewPrometheusNamingScope(scope)
	m.sdkCloser = closer
	return m
}

// Registry is the process's registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler serves the registry in the Prometheus text format (or OpenMetrics
// when asked). It needs no authentication, so it must not be reachable from
// the internet: serve it on an internal port or block /metrics at the edge.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return m.handler
}

// TemporalHandler is the MetricsHandler for client.Options: the SDK's client
// and worker metrics land in this registry.
func (m *Metrics) TemporalHandler() client.MetricsHandler {
	if m == nil {
		return client.MetricsNopHandler
	}
	return sdktally.NewMetricsHandler(m.sdkScope)
}

// Close stops the SDK bridge after a last report.
func (m *Metrics) Close() error {
	if m == nil || m.sdkCloser == nil {
		return nil
	}
	return m.sdkCloser.Close()
}

// Middleware times every request and labels it with the route pattern chi
// matched (not the raw path, which carries account numbers and references),
// the method and the status. Mount it on the root router, outside the
// handlers that write errors, so panics turned into 500s are counted.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := chimw.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			return // a socket's lifetime is not a request's latency
		}
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK // nothing written: net/http sends 200
		}
		m.ObserveHTTP(routeOf(r), r.Method, status, time.Since(start))
	})
}

// ObserveHTTP records one request. Unknown methods become OTHER, so the
// label set stays bounded whatever clients send.
func (m *Metrics) ObserveHTTP(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = unmatchedRoute
	}
	m.httpLatency.WithLabelValues(route, normalizeMethod(method), strconv.Itoa(status)).Observe(d.Seconds())
}

// Where a transfer's or deposit's first-run answer came from.
const (
	AnswerHandOff  = "handoff"  // the workflow, running in this process, handed it over
	AnswerWorkflow = "workflow" // the workflow's result
	AnswerLedger   = "ledger"   // the row stored under the key, the workflow still running
)

// TransferAnswer counts where the answer to a newly started transfer or
// deposit came from (source: AnswerHandOff, AnswerWorkflow or AnswerLedger).
func (m *Metrics) TransferAnswer(source string) {
	if m == nil {
		return
	}
	m.answers.WithLabelValues(source).Inc()
}

// Transfer counts one answer to a transfer or deposit request. kind is
// "transfer" or "deposit"; outcome is one of the Outcome constants or a
// refusal code.
func (m *Metrics) Transfer(kind, outcome string) {
	if m == nil {
		return
	}
	if !boundedLabel(outcome) {
		outcome = "OTHER"
	}
	m.transfers.WithLabelValues(kind, outcome).Inc()
}

// NotifierLag records how long after it occurred an event's notifications
// were stored. Negative lags (clock skew between hosts) count as zero.
func (m *Metrics) NotifierLag(eventType string, d time.Duration) {
	if m == nil {
		return
	}
	if d < 0 {
		d = 0
	}
	if !boundedLabel(eventType) {
		eventType = "other"
	}
	m.notifierLag.WithLabelValues(eventType).Observe(d.Seconds())
}

func routeOf(r *http.Request) string {
	rctx := chi.RouteContext(r.Context())
	if rctx == nil {
		return unmatchedRoute
	}
	if p := rctx.RoutePattern(); p != "" {
		return p
	}
	return unmatchedRoute
}

func normalizeMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// boundedLabel accepts the short identifier-like values our code passes
// (codes, event types) and nothing that could come from a client.
func boundedLabel(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, r := range s {
		letter := r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z'
		if !letter && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}

// slogPrintln adapts slog to promhttp's ErrorLog.
type slogPrintln struct{ l *slog.Logger }

func (s slogPrintln) Println(v ...any) { s.l.Warn("metrics scrape", "err", fmt.Sprint(v...)) }
