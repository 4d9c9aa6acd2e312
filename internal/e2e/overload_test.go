package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/bankcore/bank/internal/testenv"
)

// overloadInFlight is BANK_MAX_INFLIGHT for the overload stack: small, so
// 500 clients are far more than one instance takes at once.
const overloadInFlight = 32

// TestOverloadShedsLoad: 500 concurrent clients against one API instance
// (BANK_MAX_INFLIGHT=32). The instance sheds what it cannot take with 503
// SERVICE_UNAVAILABLE and Retry-After (or 429) instead of queueing without
// bound; no other 5xx; the heap stays bounded; and once the load stops,
// GET /me is about as fast as before it.
func TestOverloadShedsLoad(t *testing.T) {
	const (
		clients         = 500
		transferClients = 50 // the rest read GET /me
		loadFor         = 5 * time.Second
		heapBound       = 200 << 20
	)
	st := testenv.NewStack(t, testenv.StackOptions{Env: map[string]string{
		"BANK_MAX_INFLIGHT": fmt.Sprint(overloadInFlight),
	}})
	_, alice, _, from, to := funded(t, st, "100000.00")

	// One transport for every client, with room for all their connections:
	// the test measures the server, not the client's connection pool.
	transport := &http.Transport{MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2, IdleConnTimeout: time.Minute}
	defer transport.CloseIdleConnections()
	httpClient := &http.Client{Transport: transport, Timeout: 15 * time.Second}
	get := func(path string) (int, http.Header, []byte, error) {
		req, _ := http.NewRequest("GET", st.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+alice.Token)
		req.Header.Set("X-Forwarded-For", alice.Addr)
		resp, err := httpClient.Do(req)
		if err != nil {
			return 0, nil, nil, err
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, body, err
	}
	p50 := func(n int) time.Duration {
		var ds []time.Duration
		for range n {
			start := time.Now()
			if status, _, body, err := get("/me"); err != nil || status != 200 {
				t.Fatalf("GET /me: %d %v %s", status, err, body)
			}
			ds = append(ds, time.Since(start))
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	// Open WebSockets hold no slot: twice the limit of subscriptions stay
	// open through the load, and requests are still served.
	for range 2 * overloadInFlight {
		openSocket(t, st.URL, alice.Token)
	}
	p50(20) // warm the pool and caches; fails if the sockets hold the slots
	baseline := p50(40)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapAlloc

	var (
		mu            sync.Mutex
		statuses      = map[int]int{}
		bad           []string
		servedLatency []time.Duration // of GET /me answered 200
		errs          atomic.Int64
		peakHeap      atomic.Uint64
	)
	record := func(what string, status int, h http.Header, body []byte, err error) {
		if err != nil {
			if errs.Add(1) <= 5 {
				t.Logf("%s: %v", what, err)
			}
			return
		}
		mu.Lock()
		defer mu.Unlock()
		statuses[status]++
		if status < 500 {
			return
		}
		var p problem
		_ = json.Unmarshal(body, &p)
		if status != 503 || p.Code != "SERVICE_UNAVAILABLE" || h.Get("Retry-After") == "" ||
			h.Get("Content-Type") != "application/problem+json" {
			if len(bad) < 10 {
				bad = append(bad, fmt.Sprintf("%s: %d Retry-After=%q %s", what, status, h.Get("Retry-After"), body))
			}
		}
	}

	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > peakHeap.Load() { // the only writer
					peakHeap.Store(m.HeapAlloc)
				}
			}
		}
	}()

	deadline := time.Now().Add(loadFor)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := fmt.Sprintf("10.200.%d.%d", i/250, i%250)
			for n := 0; time.Now().Before(deadline); n++ {
				var req *http.Request
				what := "GET /me"
				if i < transferClients {
					what = "POST /transfers"
					body := fmt.Sprintf(`{"from_account":%q,"to_account":%q,"amount":"0.01","narration":"load"}`, from, to)
					req, _ = http.NewRequest("POST", st.URL+"/transfers", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Idempotency-Key", fmt.Sprintf("load-%d-%d-%s", i, n, testenv.Suffix()))
				} else {
					req, _ = http.NewRequest("GET", st.URL+"/me", nil)
				}
				req.Header.Set("Authorization", "Bearer "+alice.Token)
				req.Header.Set("X-Forwarded-For", addr)
				sent := time.Now()
				resp, err := httpClient.Do(req)
				if err != nil {
					record(what, 0, nil, nil, err)
					time.Sleep(50 * time.Millisecond)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				record(what, resp.StatusCode, resp.Header, body, err)
				if resp.StatusCode == 200 {
					mu.Lock()
					servedLatency = append(servedLatency, time.Since(sent))
					mu.Unlock()
				}
				if resp.StatusCode == 503 || resp.StatusCode == 429 {
					// A polite client backs off a little; most retry at once.
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	close(stopSampling)
	<-sampled
	loadEnded := time.Now()

	mu.Lock()
	slices.Sort(servedLatency)
	quantile := func(q float64) time.Duration {
		if len(servedLatency) == 0 {
			return 0
		}
		return servedLatency[int(q*float64(len(servedLatency)-1))]
	}
	t.Logf("statuses during load: %v; client errors: %d; heap before %d MiB, peak %d MiB; "+
		"GET /me p50 before %v, served under load p50 %v p99 %v",
		statuses, errs.Load(), heapBefore>>20, peakHeap.Load()>>20, baseline, quantile(0.5), quantile(0.99))
	for _, b := range bad {
		t.Errorf("5xx other than a shed 503: %s", b)
	}
	shed := statuses[503] + statuses[429]
	served := statuses[200] + statuses[201]
	mu.Unlock()
	if shed == 0 {
		t.Errorf("no 503 or 429 under %d concurrent clients: the instance queues instead of shedding "+
			"(is BANK_MAX_INFLIGHT wired through config, app and api.Deps.MaxInFlight?)", clients)
	}
	if served == 0 {
		t.Errorf("nothing was served under load")
	}
	if n := errs.Load(); n > 0 {
		t.Errorf("%d requests failed at the transport (timeouts or resets) instead of getting an answer", n)
	}
	if peak := peakHeap.Load(); peak > heapBefore+heapBound {
		t.Errorf("heap peaked at %d MiB, %d MiB over the %d MiB before the load (bound %d MiB)",
			peak>>20, (peak-heapBefore)>>20, heapBefore>>20, heapBound>>20)
	}

	// Recovery: within a few seconds GET /me is back to its usual speed.
	// Sub-millisecond baselines are noisy, hence the 2 ms floor.
	want := max(2*baseline, baseline+2*time.Millisecond)
	var after time.Duration
	for {
		after = p50(20)
		if after <= want {
			break
		}
		if time.Since(loadEnded) > 8*time.Second {
			t.Fatalf("GET /me p50 %v eight seconds after the load, baseline %v (want <= %v)", after, baseline, want)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("GET /me p50 %v, %v after the load (baseline %v)", after, time.Since(loadEnded).Round(time.Millisecond), baseline)
}

// openSocket opens a graphql-transport-ws socket, authenticated and
// acknowledged, and closes it when t ends.
func openSocket(t *testing.T, baseURL, token string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn := dialGraphQL(ctx, t, baseURL)
	raw, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + token}})
	if err := conn.Write(ctx, websocket.MessageText, raw); err != nil {
		t.Fatalf("write: %v", err)
	}
	_, msg, err := conn.Read(ctx)
	if err != nil || !strings.Contains(string(msg), "connection_ack") {
		t.Fatalf("connection_init answered %s, %v", msg, err)
	}
	// Keep reading (pings) so the socket stays healthy until closed.
	go func() {
		for {
			if _, _, err := conn.Read(context.Background()); err != nil {
				return
			}
		}
	}()
}
