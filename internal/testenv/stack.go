package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/bankcore/bank/internal/app"
	"github.com/bankcore/bank/internal/config"
	"github.com/bankcore/bank/internal/testsvc"
)

// Stack is the whole bank (API, workers, notifier) running in-process on a
// free port against real services, with its own database, exchange, queue
// and Redis prefix.
type Stack struct {
	App      *app.App
	Config   config.Config
	URL      string // http://127.0.0.1:<port>
	Exchange string
	// MetricsURL is the /metrics listener (METRICS_ADDR),
	// http://127.0.0.1:<port>/metrics.
	MetricsURL string
}

// StackOptions adjust a stack; zero values take test defaults.
type StackOptions struct {
	Env map[string]string // extra or overriding settings
	// TemporalAddress of a server of the test's own; default: the package's.
	TemporalAddress string
}

// NewStack starts a stack for t and stops it when t ends.
func NewStack(t testing.TB, opts StackOptions) *Stack {
	t.Helper()
	if opts.TemporalAddress == "" {
		opts.TemporalAddress = Temporal(t)
	}
	st, stop, err := startStack(opts, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("stop stack: %v", err)
		}
	})
	return st
}

var (
	sharedOnce  sync.Once
	sharedStack *Stack
	sharedErr   error
)

// SharedStack is one stack for the whole test package, stopped by Main. Most
// tests need only users of their own, and one stack keeps a suite fast on
// 2 cores; tests that need other settings use NewStack.
func SharedStack(t testing.TB) *Stack {
	t.Helper()
	addr := Temporal(t)
	sharedOnce.Do(func() {
		var stop func() error
		sharedStack, stop, sharedErr = startStack(StackOptions{TemporalAddress: addr}, os.Stderr)
		if sharedErr == nil {
			testsvc.AtPackageEnd(func() {
				if err := stop(); err != nil {
					fmt.Fprintln(os.Stderr, "stop shared stack:", err)
				}
			})
		}
	})
	if sharedErr != nil {
		t.Fatalf("shared stack: %v", sharedErr)
	}
	return sharedStack
}

func startStack(opts StackOptions, logOut io.Writer) (_ *Stack, stop func() error, err error) {
	dsn, drop, err := testsvc.CreateDatabase()
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			_ = drop()
		}
	}()
	nsCtx, nsCancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer nsCancel()
	namespace, err := Namespace(nsCtx, opts.TemporalAddress)
	if err != nil {
		return nil, nil, err
	}
	env := testsvc.StackEnv("test", dsn, opts.TemporalAddress, namespace)
	env["HTTP_ADDR"], env["METRICS_ADDR"] = "127.0.0.1:0", "127.0.0.1:0"
	env["BCRYPT_COST"], env["KYC_TIMEOUT"] = "4", "200ms"
	// Tests give every client its own address in X-Forwarded-For, so
	// per-address limits of one test never trip another.
	env["BANK_TRUST_PROXY"] = "true"
	for k, v := range opts.Env {
		env[k] = v
	}
	cfg, err := config.FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		return nil, nil, fmt.Errorf("test config: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: logLevel()}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := app.Start(ctx, cfg, logger, app.Roles{API: true, Worker: true, Notifier: true})
	if err != nil {
		return nil, nil, fmt.Errorf("start stack: %w", err)
	}
	st := &Stack{App: a, Config: cfg, URL: "http://" + a.Addr(), Exchange: cfg.EventsExchange,
		MetricsURL: "http://" + a.MetricsAddr() + "/metrics"}
	stop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		err := a.Shutdown(ctx)
		testsvc.DeleteBrokerObjects(cfg)
		if derr := drop(); err == nil {
			err = derr
		}
		return err
	}
	return st, stop, nil
}

func logLevel() slog.Level {
	if os.Getenv("BANK_TEST_LOG") != "" {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

// testWriter sends logs to t.Log so they show only for failing tests. The
// stack stops in t's cleanup, so nothing logs after t ends.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// Client talks to a stack as one caller from one (fake) client address.
type Client struct {
	t     testing.TB
	base  string
	Addr  string // sent as X-Forwarded-For
	Token string // sent as a bearer token when set
	HTTP  *http.Client
}

// Client returns a caller with its own client address.
func (s *Stack) Client(t testing.TB) *Client {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return &Client{t: t, base: s.URL, Addr: fmt.Sprintf("10.%d.%d.%d", b[0], b[1], b[2]), HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Response is a finished HTTP exchange.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map (fails the test otherwise).
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response %d is not a JSON object: %v: %s", r.Status, err, r.Body)
	}
	return m
}

// Decode decodes the body into v.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode response %d: %v: %s", r.Status, err, r.Body)
	}
}

// Do sends a request. body may be nil, a []byte/string sent as is, or a
// value encoded as JSON; Content-Type is application/json unless headers
// override it.
func (c *Client) Do(method, path string, body any, headers ...string) Response {
	c.t.Helper()
	var rdr io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rdr = bytes.NewReader(b)
	case string:
		rdr = bytes.NewReader([]byte(b))
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.t.Fatalf("encode request: %v", err)
		}
		rdr = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rdr)
	if err != nil {
		c.t.Fatalf("new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Forwarded-For", c.Addr)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("read %s %s: %v", method, path, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// AddAPI starts one more API instance of the stack (same database, Temporal
// namespace, Redis prefix) on its own free port, stopped when t ends: what a
// second replica behind a load balancer would be.
func (s *Stack) AddAPI(t testing.TB) *Stack {
	t.Helper()
	return s.addAPI(t, s.Config.TemporalNamespace)
}

// AddAPIWithAmnesia starts an API instance on the stack's database whose
// Temporal namespace is new and empty: to it, every workflow the stack ran
// is forgotten, as after Temporal's retention. No worker serves it.
func (s *Stack) AddAPIWithAmnesia(t testing.TB) *Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ns, err := testsvc.Namespace(ctx, s.Config.TemporalAddress)
	if err != nil {
		t.Fatal(err)
	}
	return s.addAPI(t, ns)
}

func (s *Stack) addAPI(t testing.TB, namespace string) *Stack {
	cfg := s.Config
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.TemporalNamespace = namespace
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: logLevel()}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := app.Start(ctx, cfg, logger, app.Roles{API: true})
	if err != nil {
		t.Fatalf("start second API instance: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("stop second API instance: %v", err)
		}
	})
	return &Stack{App: a, Config: cfg, URL: "http://" + a.Addr(), Exchange: s.Exchange,
		MetricsURL: "http://" + a.MetricsAddr() + "/metrics"}
}

// WithBase returns a copy of c that talks to another instance.
func (c *Client) WithBase(t testing.TB, base string) *Client {
	cp := *c
	cp.t, cp.base = t, base
	if cp.Addr == "" {
		cp.Addr = "10.255.0.1"
	}
	return &cp
}
