package metrics_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	dto "github.com/prometheus/client_model/go"

	"github.com/bankcore/bank/internal/metrics"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newMetrics(t *testing.T) *metrics.Metrics {
	t.Helper()
	m := metrics.New(quiet())
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// family gathers m and returns the named family, or nil.
func family(t *testing.T, m *metrics.Metrics, name string) *dto.MetricFamily {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return f
		}
	}
	return nil
}

// series finds the series of a family whose labels include want.
func series(f *dto.MetricFamily, want map[string]string) *dto.Metric {
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

func TestMetricsRegistriesAreIndependent(t *testing.T) {
	// Tests run several stacks in one process: two registries must neither
	// collide on registration nor see each other's values.
	a, b := newMetrics(t), newMetrics(t)
	a.Transfer("transfer", metrics.OutcomeCompleted)
	if s := series(family(t, a, metrics.NameTransfers), map[string]string{"outcome": "COMPLETED"}); s.GetCounter().GetValue() != 1 {
		t.Fatalf("registry a: COMPLETED = %v, want 1", s.GetCounter().GetValue())
	}
	if f := family(t, b, metrics.NameTransfers); len(f.GetMetric()) != 0 {
		t.Fatalf("registry b sees a's transfers: %v", f)
	}
}

func TestMetricsHTTPByRoutePattern(t *testing.T) {
	m := newMetrics(t)
	r := chi.NewRouter()
	r.Use(m.Middleware)
	r.Get("/accounts/{number}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) })
	r.Post("/transfers", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) })
	r.Get("/healthz", func(http.ResponseWriter, *http.Request) {}) // writes nothing: 200

	for _, req := range []struct{ method, path string }{
		{"GET", "/accounts/1234567890"},
		{"GET", "/accounts/9876543210"},
		{"POST", "/transfers"},
		{"GET", "/healthz"},
		{"GET", "/no/such/1234567890"},
		{"BREW", "/transfers"},
	} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(req.method, req.path, nil))
	}

	f := family(t, m, metrics.NameHTTPDuration)
	for _, tc := range []struct {
		labels map[string]string
		count  uint64
	}{
		// Raw paths (account numbers) never become labels.
		{map[string]string{"route": "/accounts/{number}", "method": "GET", "status": "404"}, 2},
		{map[string]string{"route": "/transfers", "method": "POST", "status": "201"}, 1},
		{map[string]string{"route": "/healthz", "method": "GET", "status": "200"}, 1},
		{map[string]string{"route": "unmatched", "method": "GET", "status": "404"}, 1},
		{map[string]string{"method": "OTHER", "status": "405"}, 1},
	} {
		s := series(f, tc.labels)
		if s.GetHistogram().GetSampleCount() != tc.count {
			t.Errorf("%v: %d samples, want %d", tc.labels, s.GetHistogram().GetSampleCount(), tc.count)
		}
	}
	for _, m := range f.GetMetric() {
		for _, lp := range m.GetLabel() {
			if strings.Contains(lp.GetValue(), "1234567890") {
				t.Errorf("a raw path became a label: %v", m.GetLabel())
			}
		}
	}
}

func TestMetricsTransferOutcomesAndNotifierLag(t *testing.T) {
	m := newMetrics(t)
	m.Transfer("transfer", metrics.OutcomeCompleted)
	m.Transfer("transfer", "INSUFFICIENT_FUNDS")
	m.Transfer("transfer", "INSUFFICIENT_FUNDS")
	m.Transfer("deposit", metrics.OutcomeReplayed)
	m.Transfer("transfer", "weird value {with} \"quotes\"")
	f := family(t, m, metrics.NameTransfers)
	for _, tc := range []struct {
		kind, outcome string
		want          float64
	}{
		{"transfer", "COMPLETED", 1}, {"transfer", "INSUFFICIENT_FUNDS", 2}, {"deposit", "REPLAYED", 1}, {"transfer", "OTHER", 1},
	} {
		if got := series(f, map[string]string{"kind": tc.kind, "outcome": tc.outcome}).GetCounter().GetValue(); got != tc.want {
			t.Errorf("%s/%s = %v, want %v", tc.kind, tc.outcome, got, tc.want)
		}
	}

	m.NotifierLag("transfer_completed", 40*time.Millisecond)
	m.NotifierLag("transfer_completed", -time.Second) // clock skew: counted as 0
	h := series(family(t, m, metrics.NameNotifierLag), map[string]string{"type": "transfer_completed"}).GetHistogram()
	if h.GetSampleCount() != 2 || h.GetSampleSum() < 0.039 || h.GetSampleSum() > 0.041 {
		t.Fatalf("lag histogram: count %d sum %v, want 2 and 0.04", h.GetSampleCount(), h.GetSampleSum())
	}
}

func TestMetricsTemporalSDKBridge(t *testing.T) {
	m := metrics.New(quiet())
	h := m.TemporalHandler().WithTags(map[string]string{"namespace": "default", "task_queue": "transfers"})
	h.Counter("temporal_request").Inc(3)
	h.Gauge("temporal_worker_task_slots_available").Update(7)
	h.Timer("temporal_request_latency").Record(20 * time.Millisecond)
	// Same name, other label names: logged and dropped, never a panic.
	m.TemporalHandler().WithTags(map[string]string{"other": "x"}).Counter("temporal_request").Inc(1)
	if err := m.Close(); err != nil { // Close reports what tally buffered
		t.Fatal(err)
	}

	labels := map[string]string{"namespace": "default", "task_queue": "transfers"}
	if v := series(family(t, m, "temporal_request_total"), labels).GetCounter().GetValue(); v != 3 {
		t.Errorf("temporal_request_total = %v, want 3", v)
	}
	if v := series(family(t, m, "temporal_worker_task_slots_available"), labels).GetGauge().GetValue(); v != 7 {
		t.Errorf("temporal_worker_task_slots_available = %v, want 7", v)
	}
	f := family(t, m, "temporal_request_latency_seconds")
	if f.GetType() != dto.MetricType_HISTOGRAM || series(f, labels).GetHistogram().GetSampleCount() != 1 {
		t.Errorf("temporal_request_latency_seconds = %v, want a histogram with one sample", f)
	}
}

func TestMetricsHandlerServesTextFormat(t *testing.T) {
	m := newMetrics(t)
	m.Transfer("transfer", metrics.OutcomePending)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := rec.Body.String()
	for _, want := range []string{
		`bank_transfers_total{kind="transfer",outcome="PENDING"} 1`,
		"go_goroutines ",
		"process_cpu_seconds_total ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestMetricsNilIsANoOp(t *testing.T) {
	var m *metrics.Metrics
	m.Transfer("transfer", metrics.OutcomeCompleted)
	m.NotifierLag("user_created", time.Second)
	m.ObserveHTTP("/x", "GET", 200, time.Second)
	m.TemporalHandler().Counter("x").Inc(1)
	called := false
	m.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })).
		ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if !called || m.Close() != nil || m.Registry() != nil {
		t.Fatal("nil Metrics must pass requests through and do nothing else")
	}
}
