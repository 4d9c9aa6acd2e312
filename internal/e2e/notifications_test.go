package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/bankcore/bank/internal/testenv"
)

// subscriber is a graphql-transport-ws client of notificationAdded.
type subscriber struct {
	t    *testing.T
	conn *websocket.Conn
	got  chan map[string]any
}

func subscribe(t *testing.T, baseURL, token string) *subscriber {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn := dialGraphQL(ctx, t, baseURL)
	s := &subscriber{t: t, conn: conn, got: make(chan map[string]any, 16)}
	s.send(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + token}})
	if msg := s.read(ctx); msg["type"] != "connection_ack" {
		t.Fatalf("connection_init answered %v", msg)
	}
	s.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": "subscription { notificationAdded { id type amount reference accountNumber read } }",
	}})
	go s.loop()
	return s
}

// dialGraphQL opens a graphql-transport-ws socket to the API at baseURL,
// closed when t ends.
func dialGraphQL(ctx context.Context, t *testing.T, baseURL string) *websocket.Conn {
	t.Helper()
	url := "ws" + strings.TrimPrefix(baseURL, "http") + "/graphql"
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = conn.Close(websocket.StatusNormalClosure, "") })
	return conn
}

func (s *subscriber) send(v any) {
	raw, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.conn.Write(ctx, websocket.MessageText, raw); err != nil {
		s.t.Errorf("websocket write: %v", err)
	}
}

func (s *subscriber) read(ctx context.Context) map[string]any {
	_, raw, err := s.conn.Read(ctx)
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

func (s *subscriber) loop() {
	for {
		msg := s.read(context.Background())
		switch msg["type"] {
		case "ping":
			s.send(map[string]any{"type": "pong"})
		case "next":
			data, _ := msg["payload"].(map[string]any)["data"].(map[string]any)
			if n, ok := data["notificationAdded"].(map[string]any); ok {
				s.got <- n
			}
		case nil:
			close(s.got)
			return
		}
	}
}

// next waits for the next notification, failing after d.
func (s *subscriber) next(d time.Duration) map[string]any {
	s.t.Helper()
	select {
	case n, ok := <-s.got:
		if !ok {
			s.t.Fatal("subscription closed")
		}
		return n
	case <-time.After(d):
		s.t.Fatalf("no notification within %v", d)
	}
	return nil
}

func TestNotificationsReachBothPartiesOnAnyInstance(t *testing.T) {
	st := testenv.SharedStack(t)
	other := st.AddAPI(t) // a second API instance on the same system
	sender, senderReg := signUp(t, st)
	receiver, receiverReg := signUp(t, st)
	bystander, _ := signUp(t, st)
	deposit(t, operator(t, st), senderReg.Account.AccountNumber, "500.00")

	// Subscribers on instance B; the transfer goes through instance A.
	subSender := subscribe(t, other.URL, sender.Token)
	subReceiver := subscribe(t, other.URL, receiver.Token)
	subBystander := subscribe(t, other.URL, bystander.Token)
	time.Sleep(300 * time.Millisecond) // the protocol has no subscribe ack
	drain := func(s *subscriber) {     // the deposit's notification may arrive now
		for {
			select {
			case <-s.got:
			case <-time.After(200 * time.Millisecond):
				return
			}
		}
	}
	drain(subSender)

	ref := "notify-" + testenv.Suffix()
	start := time.Now()
	r := sender.Do("POST", "/transfers", map[string]any{
		"reference": ref, "from_account": senderReg.Account.AccountNumber,
		"to_account": receiverReg.Account.AccountNumber, "amount": "120.50",
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("transfer: %d %s", r.Status, r.Body)
	}
	debit := subSender.next(time.Second)
	credit := subReceiver.next(time.Second)
	t.Logf("both parties notified %v after the transfer began", time.Since(start))
	for _, c := range []struct {
		n    map[string]any
		typ  string
		acct string
	}{{debit, "TRANSFER_DEBIT", senderReg.Account.AccountNumber}, {credit, "TRANSFER_CREDIT", receiverReg.Account.AccountNumber}} {
		if c.n["type"] != c.typ || c.n["amount"] != "120.50" || c.n["reference"] != ref || c.n["read"] != false {
			t.Errorf("notification = %v, want %s of 120.50 for %s", c.n, c.typ, ref)
		}
	}
	select {
	case n := <-subBystander.got:
		t.Fatalf("a third user received %v", n)
	case <-time.After(500 * time.Millisecond):
	}

	// Stored exactly once per party, listed by either instance.
	for _, c := range []struct {
		client *testenv.Client
		typ    string
	}{{sender, "TRANSFER_DEBIT"}, {receiver, "TRANSFER_CREDIT"}} {
		list := graphqlOn(t, other.URL, c.client.Token, `{ getNotifications(first: 50) { id type reference } }`)
		count := 0
		for _, n := range list["getNotifications"].([]any) {
			m := n.(map[string]any)
			if m["reference"] == ref {
				count++
				if m["type"] != c.typ {
					t.Errorf("stored %v, want %s", m, c.typ)
				}
			}
		}
		if count != 1 {
			t.Errorf("%s stored %d times, want once", c.typ, count)
		}
	}
}

// graphqlOn posts a query to one instance and returns its data.
func graphqlOn(t *testing.T, baseURL, token, query string) map[string]any {
	t.Helper()
	c := &testenv.Client{Token: token, HTTP: &http.Client{Timeout: 10 * time.Second}}
	c = c.WithBase(t, baseURL)
	r := c.Do("POST", "/graphql", map[string]any{"query": query})
	var out struct {
		Data   map[string]any `json:"data"`
		Errors []any          `json:"errors"`
	}
	r.Decode(t, &out)
	if r.Status != 200 || len(out.Errors) > 0 {
		t.Fatalf("graphql %s: %d %s", query, r.Status, r.Body)
	}
	return out.Data
}
