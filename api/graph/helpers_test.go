package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	chimw "github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/fanout"
	"github.com/bankcore/bank/internal/postgres"
	"github.com/bankcore/bank/internal/testsvc"
	"github.com/bankcore/bank/internal/token"
)

// waitTimeout bounds every wait on the services; generous for -race.
const waitTimeout = 10 * time.Second

// quiet is how long a test listens to be reasonably sure nothing arrives.
const quiet = 300 * time.Millisecond

const notificationFields = `id type title message amount reference accountNumber read createdAt`

// env is one test's slice of the real services: its own database, a Redis
// prefix of its own, and an issuer. Instances (API processes) share them.
type env struct {
	t      *testing.T
	store  *postgres.Notifications
	secret []byte
	issuer *token.Issuer
	prefix string
	pub    *fanout.Publisher
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := postgres.Connect(ctx, testsvc.Database(t), 0)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(pool.Close)
	e := &env{
		t:      t,
		store:  postgres.NewNotifications(pool),
		secret: []byte("graph-test-secret-" + testsvc.Suffix() + testsvc.Suffix()),
		prefix: "test-graph-" + testsvc.Suffix() + ":",
	}
	e.issuer = token.NewIssuer(e.secret, time.Hour)
	e.pub = fanout.NewPublisher(newRedis(t), e.prefix)
	return e
}

func newRedis(t *testing.T) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(testsvc.RedisURL)
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis is needed for these tests (set REDIS_URL): %v", err)
	}
	return rdb
}

func testLogger(w io.Writer) *slog.Logger {
	if w == nil {
		if !testing.Verbose() {
			return slog.New(slog.DiscardHandler)
		}
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// instance is one API process: its own Redis connection and Hub, and an
// HTTP server with the handler at /graphql.
type instance struct {
	hub *fanout.Hub
	srv *httptest.Server
	url string // http://127.0.0.1:port/graphql
	ws  string // ws://127.0.0.1:port/graphql
}

type instanceOptions struct {
	readTimeout, writeTimeout time.Duration
	keepAlive, initTimeout    time.Duration
	tokens                    Tokens
	store                     Notifications
	log                       io.Writer
	baseContext               context.Context // the server's BaseContext
}

type requestIDKey struct{}

// apiLike stands in for the API's middleware: a request id in the context
// and the response writer wrapped, as chi's access log wraps it.
func apiLike(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := "req-" + testsvc.Suffix()
		w.Header().Set("X-Request-Id", id)
		ww := chimw.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func (e *env) newInstance(opts instanceOptions) *instance {
	t := e.t
	t.Helper()
	hub := fanout.NewHub(newRedis(t), e.prefix, testLogger(nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hub: %v", err)
		}
	})
	select {
	case <-hub.Ready():
	case err := <-done:
		t.Fatalf("hub stopped: %v", err)
	case <-time.After(waitTimeout):
		t.Fatal("hub did not subscribe")
	}
	return e.serve(hub, opts)
}

func (e *env) serve(hub Hub, opts instanceOptions) *instance {
	t := e.t
	t.Helper()
	deps := Deps{
		Notifications: e.store,
		Hub:           hub,
		Tokens:        e.issuer,
		Logger:        testLogger(opts.log),
		RequestID:     requestIDFrom,
		KeepAlive:     opts.keepAlive,
		InitTimeout:   opts.initTimeout,
	}
	if opts.tokens != nil {
		deps.Tokens = opts.tokens
	}
	if opts.store != nil {
		deps.Notifications = opts.store
	}
	mux := http.NewServeMux()
	h := apiLike(Handler(deps))
	mux.Handle("/graphql", h)
	mux.Handle("/graphql/playground/", h) // as api mounts it
	srv := httptest.NewUnstartedServer(mux)
	// The API's timeouts, or shorter ones a test wants to outlast.
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 15*time.Second, 30*time.Second
	if opts.readTimeout > 0 {
		srv.Config.ReadTimeout = opts.readTimeout
	}
	if opts.writeTimeout > 0 {
		srv.Config.WriteTimeout = opts.writeTimeout
	}
	if opts.baseContext != nil {
		srv.Config.BaseContext = func(net.Listener) context.Context { return opts.baseContext }
	}
	srv.Start()
	t.Cleanup(srv.Close)
	in := &instance{srv: srv, url: srv.URL + "/graphql", ws: "ws" + strings.TrimPrefix(srv.URL, "http") + "/graphql"}
	if h, ok := hub.(*fanout.Hub); ok {
		in.hub = h
	}
	return in
}

// token returns a valid access token for a new or given user.
func (e *env) token(userID string) string {
	e.t.Helper()
	tok, err := e.issuer.Issue(token.Principal{UserID: userID, Role: bank.RoleCustomer})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// transfer stores the notifications of one completed transfer from sender
// to receiver, as the notifier does, and returns them (debit first).
func (e *env) transfer(sender, receiver, amount string) []bank.Notification {
	e.t.Helper()
	eventID := "test/" + uuid.NewString()
	ns, err := bank.NotificationsFor(bank.Event{
		ID: eventID, Type: bank.EventTransferCompleted, UserID: sender, CounterpartyID: receiver,
		AccountNumber: "0123456789", CounterpartAccount: "9876543210", Reference: "ref-" + testsvc.Suffix(), Amount: amount,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	stored, err := e.store.InsertForEvent(context.Background(), eventID, ns)
	if err != nil {
		e.t.Fatalf("InsertForEvent: %v", err)
	}
	return stored
}

// publish sends a stored notification to Redis, as the notifier does.
func (e *env) publish(n bank.Notification) {
	e.t.Helper()
	if err := e.pub.Publish(context.Background(), n); err != nil {
		e.t.Fatalf("Publish: %v", err)
	}
}

// --- GraphQL over HTTP ---

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type gqlResponse struct {
	Status int
	Header http.Header
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
	Raw    string
}

func (r gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// wantCode asserts exactly one error, with the code.
func (r gqlResponse) wantCode(t *testing.T, code string) gqlError {
	t.Helper()
	if len(r.Errors) != 1 || r.code() != code {
		t.Fatalf("want one %s error, got status %d: %s", code, r.Status, r.Raw)
	}
	return r.Errors[0]
}

func (r gqlResponse) ok(t *testing.T) {
	t.Helper()
	if r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("status %d: %s", r.Status, r.Raw)
	}
}

func post(t *testing.T, url, tok, query string, vars map[string]any) gqlResponse {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	return postRaw(t, url, tok, "application/json", body)
}

func postRaw(t *testing.T, url, tok, contentType string, body []byte) gqlResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) gqlResponse {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", req.Method, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := gqlResponse{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("status %d, body is not JSON: %s", resp.StatusCode, raw)
	}
	return out
}

// notification is the GraphQL Notification as a client decodes it.
type notification struct {
	ID            string  `json:"id"`
	Type          string  `json:"type"`
	Title         string  `json:"title"`
	Message       string  `json:"message"`
	Amount        *string `json:"amount"`
	Reference     *string `json:"reference"`
	AccountNumber *string `json:"accountNumber"`
	Read          bool    `json:"read"`
	CreatedAt     string  `json:"createdAt"`
}

// sameAs asserts that a GraphQL notification shows the stored one.
func (n notification) sameAs(t *testing.T, want bank.Notification) {
	t.Helper()
	str := func(p *string) string {
		if p == nil {
			return "<null>"
		}
		return *p
	}
	wantAmount := "<null>"
	if want.Amount != nil {
		wantAmount = want.Amount.String()
	}
	got := fmt.Sprintf("%s %s %q %q %s %s %s %v", n.ID, n.Type, n.Title, n.Message, str(n.Amount), str(n.Reference), str(n.AccountNumber), n.Read)
	exp := fmt.Sprintf("%s %s %q %q %s %s %s %v", want.ID, want.Type, want.Title, want.Message, wantAmount, want.Reference, want.AccountNumber, want.Read)
	if got != exp {
		t.Errorf("notification\n got %s\nwant %s", got, exp)
	}
	at, err := time.Parse(time.RFC3339Nano, n.CreatedAt)
	if err != nil || !at.Equal(want.CreatedAt) {
		t.Errorf("createdAt = %q (%v), want %v", n.CreatedAt, err, want.CreatedAt.UTC().Format(time.RFC3339Nano))
	}
}

// --- GraphQL over WebSocket ---

const (
	transportWS = "graphql-transport-ws"
	legacyWS    = "graphql-ws"
)

type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// wsClient speaks either subprotocol. A reader goroutine answers pings
// (as graphql-ws clients do), drops "ka" keep-alives and queues the rest.
type wsClient struct {
	t       testing.TB
	proto   string
	conn    *websocket.Conn
	msgs    chan wsMessage
	readErr error // why the reader stopped; read after msgs is closed
	once    sync.Once
}

func dialWS(t testing.TB, url, proto string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{proto}})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	if resp.Body != nil {
		_ = resp.Body.Close()
	}
	if conn.Subprotocol() != proto {
		t.Fatalf("negotiated %q, want %q", conn.Subprotocol(), proto)
	}
	c := &wsClient{t: t, proto: proto, conn: conn, msgs: make(chan wsMessage, 64)}
	go c.read()
	t.Cleanup(func() { _ = conn.CloseNow() })
	return c
}

func (c *wsClient) read() {
	defer close(c.msgs)
	for {
		_, data, err := c.conn.Read(context.Background())
		if err != nil {
			c.readErr = err
			return
		}
		var m wsMessage
		if err := json.Unmarshal(data, &m); err != nil {
			c.readErr = fmt.Errorf("server sent %q: %w", data, err)
			return
		}
		switch m.Type {
		case "ka":
			continue
		case "ping":
			_ = c.conn.Write(context.Background(), websocket.MessageText, []byte(`{"type":"pong"}`))
			continue
		}
		c.msgs <- m
	}
}

func (c *wsClient) send(m wsMessage) {
	c.t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write %s: %v", b, err)
	}
}

// init sends connection_init; authorization "" sends an empty payload.
func (c *wsClient) init(authorization string) {
	c.t.Helper()
	payload := json.RawMessage(`{}`)
	if authorization != "" {
		payload, _ = json.Marshal(map[string]string{"Authorization": authorization})
	}
	c.send(wsMessage{Type: "connection_init", Payload: payload})
}

// connect initialises with a token and waits for the ack.
func (c *wsClient) connect(tok string) {
	c.t.Helper()
	c.init("Bearer " + tok)
	if m := c.next(); m.Type != "connection_ack" {
		c.t.Fatalf("got %s %s, want connection_ack", m.Type, m.Payload)
	}
}

func (c *wsClient) subscribe(id string) {
	c.t.Helper()
	typ := "subscribe"
	if c.proto == legacyWS {
		typ = "start"
	}
	payload, _ := json.Marshal(map[string]string{"query": "subscription { notificationAdded { " + notificationFields + " } }"})
	c.send(wsMessage{ID: id, Type: typ, Payload: payload})
}

func (c *wsClient) unsubscribe(id string) {
	c.t.Helper()
	typ := "complete"
	if c.proto == legacyWS {
		typ = "stop"
	}
	c.send(wsMessage{ID: id, Type: typ})
}

func (c *wsClient) next() wsMessage {
	c.t.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			c.t.Fatalf("socket ended: %v", c.readErr)
		}
		return m
	case <-time.After(waitTimeout):
		c.t.Fatal("no message from the server")
	}
	panic("unreachable")
}

// notification waits for the next notificationAdded of subscription id.
func (c *wsClient) notification(id string) notification {
	c.t.Helper()
	m := c.next()
	wantType := "next"
	if c.proto == legacyWS {
		wantType = "data"
	}
	if m.Type != wantType || m.ID != id {
		c.t.Fatalf("got %s (id %q) %s, want %s for %s", m.Type, m.ID, m.Payload, wantType, id)
	}
	var p struct {
		Data struct {
			NotificationAdded notification `json:"notificationAdded"`
		} `json:"data"`
		Errors []gqlError `json:"errors"`
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) > 0 {
		c.t.Fatalf("payload %s: %v", m.Payload, err)
	}
	return p.Data.NotificationAdded
}

func (c *wsClient) expectNothing() {
	c.t.Helper()
	select {
	case m, ok := <-c.msgs:
		if ok {
			c.t.Errorf("unexpected %s %s", m.Type, m.Payload)
		}
	case <-time.After(quiet):
	}
}

// closedWith waits until the server closes the socket and returns the
// close code (-1 when it ended without one). Messages before the close are
// returned too.
func (c *wsClient) closedWith() (websocket.StatusCode, []wsMessage) {
	c.t.Helper()
	var before []wsMessage
	deadline := time.After(waitTimeout)
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				return websocket.CloseStatus(c.readErr), before
			}
			before = append(before, m)
		case <-deadline:
			c.t.Fatal("socket not closed by the server")
		}
	}
}

// close ends the socket from the client side with a normal closure and
// waits for the reader.
func (c *wsClient) close() {
	c.once.Do(func() {
		_ = c.conn.Close(websocket.StatusNormalClosure, "bye")
		for range c.msgs {
		}
	})
}

// abort drops the connection without a close handshake, as a lost network
// would.
func (c *wsClient) abort() {
	c.once.Do(func() {
		_ = c.conn.CloseNow()
		for range c.msgs {
		}
	})
}

// waitSubscribers waits until hub has n live subscriptions.
func waitSubscribers(t testing.TB, hub *fanout.Hub, n int) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for hub.Stats() != n {
		if time.Now().After(deadline) {
			t.Fatalf("hub has %d subscribers, want %d", hub.Stats(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
