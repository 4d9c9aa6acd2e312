package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	chimw "github.com/go-chi/chi/v5/middleware"
)

// gate is a handler that holds every request until released.
type gate struct {
	entered chan struct{}
	release chan struct{}
}

func newGate() *gate { return &gate{entered: make(chan struct{}, 1000), release: make(chan struct{})} }

func (g *gate) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	g.entered <- struct{}{}
	<-g.release
	w.WriteHeader(http.StatusOK)
}

func shedHandler(limit int, wait time.Duration, next http.Handler) http.Handler {
	return withRequestID(slog.New(slog.NewTextHandler(io.Discard, nil)))(shedLoad(limit, wait)(next))
}

func serve(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// fill starts n requests that hold their slot until g is released.
func fill(t *testing.T, h http.Handler, g *gate, n int) *sync.WaitGroup {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() { defer wg.Done(); serve(h, "/me") }()
	}
	for range n {
		select {
		case <-g.entered:
		case <-time.After(5 * time.Second):
			t.Fatal("held requests did not start")
		}
	}
	return &wg
}

func wantShed(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503: %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("body: %v: %s", err, rec.Body)
	}
	if p.Code != "SERVICE_UNAVAILABLE" || p.Status != 503 || p.RequestID == "" || p.Detail == "" {
		t.Errorf("problem = %+v", p)
	}
}

func TestShedRefusesBeyondLimitAfterWait(t *testing.T) {
	g := newGate()
	h := shedHandler(2, 50*time.Millisecond, g)
	wg := fill(t, h, g, 2)
	defer wg.Wait()
	defer close(g.release)

	start := time.Now()
	rec := serve(h, "/me")
	took := time.Since(start)
	wantShed(t, rec)
	if took < 40*time.Millisecond || took > 2*time.Second {
		t.Errorf("shed after %v, want about the 50ms queue wait", took)
	}
}

func TestShedWaiterGetsFreedSlot(t *testing.T) {
	var inFlight atomic.Int32
	release := make(chan struct{})
	h := shedHandler(1, 5*time.Second, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := inFlight.Add(1); n > 1 {
			t.Errorf("%d requests in flight, limit 1", n)
		}
		defer inFlight.Add(-1)
		if r.URL.Path == "/hold" {
			<-release
		}
		w.WriteHeader(http.StatusOK)
	}))
	holder := make(chan int)
	go func() { holder <- serve(h, "/hold").Code }()
	waitFor(t, func() bool { return inFlight.Load() == 1 })

	waiter := make(chan int)
	go func() { waiter <- serve(h, "/me").Code }()
	time.Sleep(50 * time.Millisecond) // the waiter queues
	close(release)
	if got := <-holder; got != http.StatusOK {
		t.Fatalf("holder = %d", got)
	}
	if got := <-waiter; got != http.StatusOK {
		t.Fatalf("waiter = %d, want 200 once the slot was freed", got)
	}
}

func TestShedQueueIsBounded(t *testing.T) {
	g := newGate()
	h := shedHandler(1, 10*time.Second, g)
	wg := fill(t, h, g, 1)
	defer wg.Wait()
	defer close(g.release)

	// One request may wait (the queue holds as many as the limit)...
	queued := make(chan int, 1)
	go func() { queued <- serve(h, "/me").Code }()
	time.Sleep(100 * time.Millisecond)
	// ...the next is refused at once instead of waiting 10s.
	start := time.Now()
	rec := serve(h, "/me")
	wantShed(t, rec)
	if took := time.Since(start); took > time.Second {
		t.Errorf("over-queue request waited %v, want an immediate 503", took)
	}
	select {
	case code := <-queued:
		t.Fatalf("queued request answered %d before a slot was free", code)
	default:
	}
}

func TestShedExemptsProbes(t *testing.T) {
	g := newGate()
	var probes atomic.Int32
	h := shedHandler(1, 10*time.Millisecond, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/me" {
			g.ServeHTTP(w, r)
			return
		}
		probes.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	wg := fill(t, h, g, 1)
	defer wg.Wait()
	defer close(g.release)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if rec := serve(h, path); rec.Code != http.StatusOK {
			t.Errorf("%s = %d while full, want 200 (exempt)", path, rec.Code)
		}
	}
	wantShed(t, serve(h, "/me"))
	wantShed(t, serve(h, "/healthz/x")) // exact paths only
	if probes.Load() != 3 {
		t.Errorf("probes served = %d, want 3", probes.Load())
	}
}

func TestShedOff(t *testing.T) {
	g := newGate()
	h := shedHandler(0, time.Millisecond, g)
	wg := fill(t, h, g, 50)
	close(g.release)
	wg.Wait()
}

func TestShedAbandonedWaiterLeaksNoSlot(t *testing.T) {
	g := newGate()
	h := shedHandler(1, 10*time.Second, g)
	wg := fill(t, h, g, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/me", nil).WithContext(ctx))
		done <- rec.Code
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case code := <-done:
		if code != http.StatusServiceUnavailable {
			t.Errorf("abandoned waiter answered %d", code)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("abandoned waiter still waiting")
	}
	close(g.release)
	wg.Wait()
	// The slot is back: the next request runs at once (the gate is open).
	start := time.Now()
	if rec := serve(h, "/me"); rec.Code != http.StatusOK || time.Since(start) > time.Second {
		t.Fatalf("status = %d after %v: a slot leaked", rec.Code, time.Since(start))
	}
}

// TestShedStorm: many concurrent clients never see more than the limit in
// flight, and every answer is a 200 or a shed 503.
func TestShedStorm(t *testing.T) {
	const limit = 8
	var inFlight, peak atomic.Int32
	h := shedHandler(limit, 5*time.Millisecond, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		inFlight.Add(-1)
		w.WriteHeader(http.StatusOK)
	}))
	var ok, shedN atomic.Int32
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				switch rec := serve(h, "/me"); rec.Code {
				case http.StatusOK:
					ok.Add(1)
				case http.StatusServiceUnavailable:
					shedN.Add(1)
				default:
					t.Errorf("status %d", rec.Code)
				}
			}
		}()
	}
	wg.Wait()
	if peak.Load() > limit {
		t.Fatalf("peak in flight %d, limit %d", peak.Load(), limit)
	}
	if ok.Load() == 0 || shedN.Load() == 0 {
		t.Fatalf("ok=%d shed=%d: want both", ok.Load(), shedN.Load())
	}
	t.Logf("ok=%d shed=%d peak=%d", ok.Load(), shedN.Load(), peak.Load())
}

// TestShedWebSocketLeavesTheCountOnceUpgraded runs a real server: a
// connection upgraded (hijacked) through chi's response-writer wrappers, as
// the GraphQL handler does, gives its slot back, so it does not block other
// requests while it stays open.
func TestShedWebSocketLeavesTheCountOnceUpgraded(t *testing.T) {
	hijacked := make(chan struct{})
	closeSocket := make(chan struct{})
	defer close(closeSocket)
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isWebSocketUpgrade(r) {
			w.WriteHeader(http.StatusOK)
			return
		}
		// Find the hijacker the way coder/websocket does.
		var hj http.Hijacker
		for rw := w; hj == nil; {
			switch t := rw.(type) {
			case http.Hijacker:
				hj = t
			case interface{ Unwrap() http.ResponseWriter }:
				rw = t.Unwrap()
			default:
				http.Error(w, "no hijacker", http.StatusInternalServerError)
				return
			}
		}
		if err := http.NewResponseController(w).SetReadDeadline(time.Time{}); err != nil {
			t.Errorf("clear read deadline through the wrapper: %v", err)
		}
		conn, brw, err := hj.Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		close(hijacked)
		<-closeSocket // the socket stays open, the handler keeps running
	})
	// chi's wrapper inside the shedder, as accessLog and metrics wrap.
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(chimw.NewWrapResponseWriter(w, r.ProtoMajor), r)
	})
	srv := httptest.NewServer(shedHandler(1, 20*time.Millisecond, wrapped))
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /graphql HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(status, "101") {
		t.Fatalf("upgrade answer %q, %v", status, err)
	}
	<-hijacked
	for range 3 {
		resp, err := srv.Client().Get(srv.URL + "/me")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /me with an open WebSocket = %d, want 200 (the socket holds no slot)", resp.StatusCode)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
