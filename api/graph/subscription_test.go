package graph

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/token"
)

var protocols = []string{transportWS, legacyWS}

func TestNotificationAdded(t *testing.T) {
	for _, proto := range protocols {
		t.Run(proto, func(t *testing.T) {
			e := newEnv(t)
			in := e.newInstance(instanceOptions{})
			alice, bob := uuid.NewString(), uuid.NewString()

			aliceWS := e.subscribed(t, in.ws, proto, alice, "a1")
			bobWS := e.subscribed(t, in.ws, proto, bob, "b1")
			waitSubscribers(t, in.hub, 2)

			// Bob's goes out first: if alice could see it, it would be the
			// first thing she receives.
			forBob := e.transfer(bob, uuid.NewString(), "10")[0]
			e.publish(forBob)
			bobWS.notification("b1").sameAs(t, forBob)

			forAlice := e.transfer(alice, bob, "1500.50") // debit for alice, credit for bob
			e.publish(forAlice[0])
			e.publish(forAlice[1])
			aliceWS.notification("a1").sameAs(t, forAlice[0])
			bobWS.notification("b1").sameAs(t, forAlice[1])
			aliceWS.expectNothing()

			// Stopping the subscription, then closing the socket, releases
			// the hub's subscribers.
			aliceWS.unsubscribe("a1")
			waitSubscribers(t, in.hub, 1)
			bobWS.close()
			waitSubscribers(t, in.hub, 0)
			aliceWS.close()
		})
	}
}

func TestNotificationAddedRefusesWithoutValidToken(t *testing.T) {
	e := newEnv(t)
	in := e.newInstance(instanceOptions{})
	user := uuid.NewString()
	forged, _ := token.NewIssuer([]byte("some-other-secret-of-32-bytes!!!"), time.Hour).
		Issue(token.Principal{UserID: user, Role: bank.RoleCustomer})
	expired, _ := token.NewIssuer(e.secret, -time.Minute).Issue(token.Principal{UserID: user, Role: bank.RoleCustomer})

	for _, proto := range protocols {
		for name, authorization := range map[string]string{
			"Missing":   "",
			"NoScheme":  e.token(user),
			"Garbage":   "Bearer not-a-jwt",
			"Forged":    "Bearer " + forged,
			"Expired":   "Bearer " + expired,
			"BasicAuth": "Basic dXNlcjpwYXNz",
		} {
			t.Run(proto+"/"+name, func(t *testing.T) {
				c := dialWS(t, in.ws, proto)
				c.init(authorization)
				code, before := c.closedWith()
				if code != CloseUnauthorized {
					t.Errorf("close code = %d, want %d", code, CloseUnauthorized)
				}
				for _, m := range before {
					// The legacy protocol says why in connection_error; no
					// protocol may ack.
					if m.Type != "connection_error" || !strings.Contains(string(m.Payload), "token") {
						t.Errorf("before the close: %s %s", m.Type, m.Payload)
					}
				}
			})
		}
	}
	waitSubscribers(t, in.hub, 0)
}

func TestNotificationAddedAcrossInstances(t *testing.T) {
	e := newEnv(t)
	a := e.newInstance(instanceOptions{})
	b := e.newInstance(instanceOptions{})
	user, other := uuid.NewString(), uuid.NewString()

	onA := e.subscribed(t, a.ws, transportWS, user, "1")
	onB := e.subscribed(t, b.ws, transportWS, user, "1")
	otherOnB := e.subscribed(t, b.ws, legacyWS, other, "1")
	waitSubscribers(t, a.hub, 1)
	waitSubscribers(t, b.hub, 2)

	// The user acts through instance A (marks a notification read there);
	// the notifier's publish for them reaches their socket on B as well.
	n := e.transfer(user, other, "250")[0]
	post(t, a.url, e.token(user), `mutation($id: ID!) { markNotificationRead(id: $id) { id } }`,
		map[string]any{"id": n.ID}).ok(t)
	e.publish(n)
	onB.notification("1").sameAs(t, n)
	onA.notification("1").sameAs(t, n)
	otherOnB.expectNothing()
}

// The API server's ReadTimeout and WriteTimeout apply to requests; a
// subscription's socket must keep working long after both.
func TestNotificationAddedOutlivesServerTimeouts(t *testing.T) {
	e := newEnv(t)
	const readTimeout, writeTimeout = 300 * time.Millisecond, 500 * time.Millisecond
	in := e.newInstance(instanceOptions{readTimeout: readTimeout, writeTimeout: writeTimeout, keepAlive: 100 * time.Millisecond})
	for _, proto := range protocols {
		t.Run(proto, func(t *testing.T) {
			user := uuid.NewString()
			c := e.subscribed(t, in.ws, proto, user, "1")
			waitSubscribers(t, in.hub, 1)

			// Pings and keep-alives are written meanwhile, and the server
			// reads the pongs.
			time.Sleep(3 * writeTimeout)
			n := e.transfer(user, uuid.NewString(), "3")[0]
			e.publish(n)
			c.notification("1").sameAs(t, n)
			time.Sleep(writeTimeout)
			n = e.transfer(user, uuid.NewString(), "4")[0]
			e.publish(n)
			c.notification("1").sameAs(t, n)
			c.close()
			waitSubscribers(t, in.hub, 0)
		})
	}
	// Plain requests still get the server's timeouts and keep working.
	post(t, in.url, e.token(uuid.NewString()), listQuery, nil).ok(t)
}

func TestSocketClosesWhenTokenExpires(t *testing.T) {
	e := newEnv(t)
	in := e.newInstance(instanceOptions{})
	user := uuid.NewString()
	// JWT expiry has a resolution of one second.
	short, err := token.NewIssuer(e.secret, 2*time.Second).Issue(token.Principal{UserID: user, Role: bank.RoleCustomer})
	if err != nil {
		t.Fatal(err)
	}
	c := dialWS(t, in.ws, transportWS)
	c.connect(short)
	c.subscribe("1")
	waitSubscribers(t, in.hub, 1)
	start := time.Now()
	code, _ := c.closedWith()
	if code != websocket.StatusNormalClosure {
		t.Errorf("close code = %d, want %d (reconnect with a fresh token)", code, websocket.StatusNormalClosure)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("closed after %v, want at the token's expiry (within 2s)", took)
	}
	waitSubscribers(t, in.hub, 0)
}

func TestSocketWithoutInitIsClosed(t *testing.T) {
	e := newEnv(t)
	in := e.newInstance(instanceOptions{initTimeout: 200 * time.Millisecond})
	for _, proto := range protocols {
		c := dialWS(t, in.ws, proto)
		start := time.Now()
		code, _ := c.closedWith()
		if code != websocket.StatusProtocolError || time.Since(start) > 5*time.Second {
			t.Errorf("%s: closed with %d after %v, want %d after the init timeout", proto, code, time.Since(start), websocket.StatusProtocolError)
		}
	}
}

// Sockets come and go; none leaves a hub subscriber or a goroutine behind.
func TestSocketLifecycleDoesNotLeak(t *testing.T) {
	const workers, cycles = 10, 20 // 200 sockets
	e := newEnv(t)
	in := e.newInstance(instanceOptions{})
	users := make([]string, workers)
	tokens := make([]string, workers)
	for i := range users {
		users[i] = uuid.NewString()
		tokens[i] = e.token(users[i])
	}
	// Warm up connection pools so that their goroutines are in the baseline.
	warm := dialWS(t, in.ws, transportWS)
	warm.connect(tokens[0])
	warm.subscribe("1")
	waitSubscribers(t, in.hub, 1)
	n := e.transfer(users[0], uuid.NewString(), "1")[0]
	e.publish(n)
	warm.notification("1")
	warm.close()
	waitSubscribers(t, in.hub, 0)
	settle(t, runtime.NumGoroutine())
	baseline := runtime.NumGoroutine()

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for c := range cycles {
				proto := protocols[c%2]
				ws := dialWS(t, in.ws, proto)
				ws.connect(tokens[w])
				id := fmt.Sprint(c)
				ws.subscribe(id)
				// The subscription is live once a notification arrives; keep
				// publishing until one does (Redis drops what nobody hears).
				deadline := time.Now().Add(waitTimeout)
				for received := false; !received; {
					if time.Now().After(deadline) {
						t.Errorf("worker %d cycle %d: nothing delivered", w, c)
						break
					}
					if err := e.pub.Publish(t.Context(), bank.Notification{
						ID: uuid.NewString(), UserID: users[w], Type: bank.NotificationTierUpgraded,
						Title: "t", Message: "m", CreatedAt: time.Now(),
					}); err != nil {
						t.Errorf("publish: %v", err)
						return
					}
					select {
					case m, ok := <-ws.msgs:
						if !ok || m.ID != id {
							t.Errorf("worker %d cycle %d: got %+v (open %v)", w, c, m, ok)
							return
						}
						received = true
					case <-time.After(20 * time.Millisecond):
					}
				}
				// Every way a socket ends: stop then close, close with a
				// subscription running, and a dropped connection.
				switch c % 3 {
				case 0:
					ws.unsubscribe(id)
					ws.close()
				case 1:
					ws.close()
				case 2:
					ws.abort()
				}
			}
		})
	}
	wg.Wait()

	waitSubscribers(t, in.hub, 0)
	settle(t, baseline)
	if n := runtime.NumGoroutine(); n > baseline {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after 200 sockets, baseline %d:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
}

// settle waits until the goroutine count is at most n, or a while passes:
// closing sockets finish their close handshakes in the background.
func settle(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for runtime.NumGoroutine() > n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// http.Server.Shutdown neither closes nor waits for hijacked connections.
// Cancelling the server's BaseContext after it (as the app does) closes the
// sockets normally, so clients reconnect to another instance.
func TestSocketsCloseWithTheServersContext(t *testing.T) {
	e := newEnv(t)
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := e.newInstance(instanceOptions{baseContext: base})
	var clients []*wsClient
	for _, proto := range protocols {
		c := dialWS(t, in.ws, proto)
		c.connect(e.token(uuid.NewString()))
		c.subscribe("1")
		clients = append(clients, c)
	}
	waitSubscribers(t, in.hub, 2)
	cancel()
	for _, c := range clients {
		if code, _ := c.closedWith(); code != websocket.StatusNormalClosure {
			t.Errorf("%s: close code %d, want %d", c.proto, code, websocket.StatusNormalClosure)
		}
	}
	waitSubscribers(t, in.hub, 0)
}

// A page on another origin cannot open a socket (unless configured): the
// token is in the payload, not a cookie, but there is no reason to let it.
func TestWebSocketOrigin(t *testing.T) {
	e := newEnv(t)
	in := e.newInstance(instanceOptions{})
	// dial returns the handshake's status: 101 when the socket opened.
	dial := func(origin string) int {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		conn, resp, err := websocket.Dial(ctx, in.ws, &websocket.DialOptions{
			Subprotocols: []string{transportWS},
			HTTPHeader:   http.Header{"Origin": {origin}},
		})
		if err == nil {
			_ = conn.CloseNow()
		}
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		if resp.Body != nil {
			_ = resp.Body.Close()
		}
		return resp.StatusCode
	}
	if got := dial(in.srv.URL); got != http.StatusSwitchingProtocols {
		t.Errorf("same origin: status %d, want 101", got)
	}
	if got := dial("https://evil.example"); got != http.StatusForbidden {
		t.Errorf("other origin: status %d, want 403", got)
	}
}
