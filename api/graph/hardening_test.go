package graph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// Issue 15, finding 7: the playground page may not be framed by other sites.
func TestPlaygroundSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	in := e.newInstance(instanceOptions{})
	req, _ := http.NewRequest(http.MethodGet, in.url, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v", resp.Header)
	}
}

// subscribeWith sends a subscribe (start) message with any query.
func (c *wsClient) subscribeWith(id, query string) {
	c.t.Helper()
	typ := "subscribe"
	if c.proto == legacyWS {
		typ = "start"
	}
	payload, _ := json.Marshal(map[string]string{"query": query})
	c.send(wsMessage{ID: id, Type: typ, Payload: payload})
}

// operationError waits until operation id ends and returns the code of
// the error it ended with: a document refused before it runs comes as an
// "error" message, a resolver's refusal as a result with errors ("next" or
// "data"); gqlgen follows both with "complete".
func (c *wsClient) operationError(id string) string {
	c.t.Helper()
	code := ""
	for {
		m := c.next()
		if m.ID != id {
			c.t.Fatalf("got %s (id %q) %s while waiting for %s to end", m.Type, m.ID, m.Payload, id)
		}
		switch m.Type {
		case "complete":
			if code == "" {
				c.t.Fatalf("%s completed without an error", id)
			}
			return code
		case "error", "next", "data":
			var errs []gqlError
			var result struct {
				Errors []gqlError `json:"errors"`
			}
			switch {
			case json.Unmarshal(m.Payload, &errs) == nil:
			case json.Unmarshal(m.Payload, &result) == nil:
				errs = result.Errors
			}
			if len(errs) == 0 {
				c.t.Fatalf("%s for %s without errors: %s", m.Type, id, m.Payload)
			}
			code, _ = errs[0].Extensions["code"].(string)
		default:
			c.t.Fatalf("got %s for %s", m.Type, id)
		}
	}
}

// Issue 15, finding 5: a subscription with two root fields (aliases of
// one) and a root field under @include(if: false) answered INTERNAL; the
// spec makes both invalid documents.
func TestSubscriptionRootIsValidated(t *testing.T) {
	e := newEnv(t)
	in := e.newInstance(instanceOptions{})
	bad := map[string]string{
		"TwoAliases":    `subscription { a: notificationAdded { id } b: notificationAdded { id } }`,
		"IncludeFalse":  `subscription { notificationAdded @include(if: false) { id } }`,
		"SkipTrue":      `subscription { notificationAdded @skip(if: true) { id } }`,
		"SkipVariable":  `subscription($s: Boolean = false) { notificationAdded @skip(if: $s) { id } }`,
		"ViaFragment":   `subscription { ...F } fragment F on Subscription { a: notificationAdded { id } b: notificationAdded { type } }`,
		"InlineSkipped": `subscription { ... @skip(if: false) { notificationAdded { id } } }`,
	}
	for _, proto := range protocols {
		t.Run(proto, func(t *testing.T) {
			user := uuid.NewString()
			c := dialWS(t, in.ws, proto)
			c.connect(e.token(user))
			n := 0
			for name, q := range bad {
				n++
				id := fmt.Sprint("bad", n)
				c.subscribeWith(id, q)
				if code := c.operationError(id); code != "GRAPHQL_VALIDATION_FAILED" {
					t.Errorf("%s: code %s, want GRAPHQL_VALIDATION_FAILED", name, code)
				}
			}
			// The same field twice under one response name is one field.
			c.subscribeWith("ok", `subscription { notificationAdded { id } notificationAdded { type } }`)
			waitSubscribers(t, in.hub, 1)
			sent := e.transfer(user, uuid.NewString(), "5")[0]
			e.publish(sent)
			if got := c.notification("ok"); got.ID != sent.ID {
				t.Errorf("got %s, want %s", got.ID, sent.ID)
			}
			c.close()
			waitSubscribers(t, in.hub, 0)
		})
	}
	// Over HTTP too, before the "WebSocket only" answer.
	for name, q := range bad {
		r := post(t, in.url, e.token(uuid.NewString()), q, nil)
		if r.Status != http.StatusUnprocessableEntity || r.code() != "GRAPHQL_VALIDATION_FAILED" {
			t.Errorf("HTTP %s: %d %s", name, r.Status, r.Raw)
		}
	}
}

// Issue 15, finding 5: 300 subscriptions on one socket delivered each event
// 300 times. A socket holds at most MaxSubscriptionsPerSocket.
func TestSubscriptionsPerSocket(t *testing.T) {
	e := newEnv(t)
	in := e.newInstance(instanceOptions{})
	for _, proto := range protocols {
		t.Run(proto, func(t *testing.T) {
			user := uuid.NewString()
			c := dialWS(t, in.ws, proto)
			c.connect(e.token(user))
			for i := range MaxSubscriptionsPerSocket {
				c.subscribe(fmt.Sprint("s", i))
			}
			waitSubscribers(t, in.hub, MaxSubscriptionsPerSocket)
			c.subscribe("one-too-many")
			if code := c.operationError("one-too-many"); code != "RATE_LIMITED" {
				t.Errorf("subscription %d: code %s, want RATE_LIMITED", MaxSubscriptionsPerSocket+1, code)
			}
			sent := e.transfer(user, uuid.NewString(), "7")[0]
			e.publish(sent)
			got := map[string]int{}
			for range MaxSubscriptionsPerSocket {
				m := c.next()
				got[m.ID]++
			}
			c.expectNothing()
			for i := range MaxSubscriptionsPerSocket {
				if id := fmt.Sprint("s", i); got[id] != 1 {
					t.Errorf("subscription %s got the event %d times", id, got[id])
				}
			}
			// Ending one frees its slot.
			c.unsubscribe("s0")
			if proto == transportWS {
				if m := c.next(); m.Type != "complete" || m.ID != "s0" {
					t.Fatalf("after complete: %s %s", m.Type, m.ID)
				}
			}
			waitSubscribers(t, in.hub, MaxSubscriptionsPerSocket-1)
			c.subscribe("again")
			waitSubscribers(t, in.hub, MaxSubscriptionsPerSocket)
			// Another socket of the same user has slots of its own.
			other := dialWS(t, in.ws, proto)
			other.connect(e.token(user))
			other.subscribe("x")
			waitSubscribers(t, in.hub, MaxSubscriptionsPerSocket+1)
			c.close()
			other.close()
			waitSubscribers(t, in.hub, 0)
		})
	}
}

// Issue 15, finding 5: 540 aliases in one query were served.
func TestAliasAndFieldLimits(t *testing.T) {
	e := newEnv(t)
	in := e.newInstance(instanceOptions{})
	tok := e.token(uuid.NewString())
	aliased := func(n int) string {
		var b strings.Builder
		b.WriteString("{ ")
		for i := range n {
			fmt.Fprintf(&b, "a%d: __typename ", i)
		}
		return b.String() + "}"
	}
	for _, n := range []int{540, MaxAliases + 1} {
		r := post(t, in.url, tok, aliased(n), nil)
		got := r.wantCode(t, "COMPLEXITY_LIMIT_EXCEEDED")
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(got.Message, "aliases") {
			t.Errorf("%d aliases: %d %s", n, r.Status, r.Raw)
		}
	}
	post(t, in.url, tok, aliased(MaxAliases), nil).ok(t)
	many := "{ " + strings.Repeat("__typename ", MaxFields+1) + "}"
	r := post(t, in.url, tok, many, nil)
	if got := r.wantCode(t, "COMPLEXITY_LIMIT_EXCEEDED"); !strings.Contains(got.Message, "fields") {
		t.Errorf("%d fields: %s", MaxFields+1, r.Raw)
	}
	post(t, in.url, tok, "{ "+strings.Repeat("__typename ", MaxFields)+"}", nil).ok(t)
	// Fragments count where they are written.
	frag := "{ ...F } fragment F on Query { " + strings.Repeat("__typename ", MaxFields+1) + "}"
	post(t, in.url, tok, frag, nil).wantCode(t, "COMPLEXITY_LIMIT_EXCEEDED")
}

// Issue 15, finding 5: a body with a duplicate "query" key was accepted,
// the last one winning, though REST refuses duplicate keys.
func TestGraphQLBodyRulesMatchREST(t *testing.T) {
	e := newEnv(t)
	in := e.newInstance(instanceOptions{})
	tok := e.token(uuid.NewString())
	for name, body := range map[string]string{
		"DuplicateQuery": `{"query":"{ getNotifications { id } }","query":"{ __typename }"}`,
		"CaseVariant":    `{"query":"{ __typename }","Query":"{ __typename }"}`,
		"LoneSurrogate":  `{"query":"{ __typename }","operationName":"\ud800"}`,
	} {
		r := postRaw(t, in.url, tok, "application/json", []byte(body))
		if r.Status != http.StatusBadRequest || r.code() != "VALIDATION_FAILED" {
			t.Errorf("%s: %d %s", name, r.Status, r.Raw)
		}
	}
}

// Issue 15, finding 5: graphql-transport-ws protocol errors closed the
// socket with 1002 (or, for a reused id, not at all) instead of the
// protocol's codes.
func TestTransportWSCloseCodes(t *testing.T) {
	e := newEnv(t)
	in := e.newInstance(instanceOptions{})
	user := uuid.NewString()
	subscribe := func(c *wsClient, id string) {
		c.subscribeWith(id, "subscription { notificationAdded { id } }")
	}
	for name, tc := range map[string]struct {
		steps func(c *wsClient)
		code  websocket.StatusCode
	}{
		"SubscribeBeforeInit": {func(c *wsClient) { subscribe(c, "1") }, CloseUnauthorized},
		"SecondInit": {func(c *wsClient) {
			c.connect(e.token(user))
			c.init("Bearer " + e.token(user))
		}, CloseTooManyInits},
		"DuplicateID": {func(c *wsClient) {
			c.connect(e.token(user))
			subscribe(c, "1")
			subscribe(c, "1")
		}, CloseSubscriberInUse},
		"UnknownType": {func(c *wsClient) {
			c.connect(e.token(user))
			c.send(wsMessage{Type: "start", ID: "1"})
		}, CloseBadRequest},
		"DuplicateKey": {func(c *wsClient) {
			c.connect(e.token(user))
			_ = c.conn.Write(t.Context(), websocket.MessageText,
				[]byte(`{"type":"subscribe","id":"1","type":"complete"}`))
		}, CloseBadRequest},
	} {
		t.Run(name, func(t *testing.T) {
			c := dialWS(t, in.ws, transportWS)
			tc.steps(c)
			code, before := c.closedWith()
			if code != tc.code {
				t.Errorf("close code %d, want %d (after %v)", code, tc.code, before)
			}
		})
	}
	waitSubscribers(t, in.hub, 0)

	t.Run("IDFreeAfterComplete", func(t *testing.T) {
		c := dialWS(t, in.ws, transportWS)
		c.connect(e.token(user))
		subscribe(c, "1")
		waitSubscribers(t, in.hub, 1)
		c.unsubscribe("1")
		if m := c.next(); m.Type != "complete" || m.ID != "1" {
			t.Fatalf("got %s %s", m.Type, m.ID)
		}
		subscribe(c, "1")
		waitSubscribers(t, in.hub, 1)
		// And after the server ends it with an error (a refused document).
		c.subscribeWith("2", `subscription { a: notificationAdded { id } b: notificationAdded { id } }`)
		if code := c.operationError("2"); code != "GRAPHQL_VALIDATION_FAILED" {
			t.Fatalf("code %s", code)
		}
		subscribe(c, "2")
		waitSubscribers(t, in.hub, 2)
		c.close()
		waitSubscribers(t, in.hub, 0)
	})
}
