package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/token"
)

const listQuery = `query($first: Int, $after: String) { getNotifications(first: $first, after: $after) { ` + notificationFields + ` } }`

func list(t *testing.T, in *instance, tok string, vars map[string]any) ([]notification, gqlResponse) {
	t.Helper()
	r := post(t, in.url, tok, listQuery, vars)
	var data struct {
		GetNotifications []notification `json:"getNotifications"`
	}
	if len(r.Data) > 0 && string(r.Data) != "null" {
		if err := json.Unmarshal(r.Data, &data); err != nil {
			t.Fatalf("data %s: %v", r.Data, err)
		}
	}
	return data.GetNotifications, r
}

func TestGetNotifications(t *testing.T) {
	e := newEnv(t)
	in := e.newInstance(instanceOptions{})
	alice, bob := uuid.NewString(), uuid.NewString()
	var stored []bank.Notification // alice's
	for i := range 5 {
		ns := e.transfer(alice, bob, "1500.50")
		stored = append(stored, ns[0])
		if i == 0 {
			// One of bob's own, which alice must never see.
			e.transfer(bob, uuid.NewString(), "7")
		}
	}
	want, _, err := e.store.List(t.Context(), alice, 100, "")
	if err != nil || len(want) != 5 {
		t.Fatalf("store List = %d, %v", len(want), err)
	}

	t.Run("PagesNewestFirstByID", func(t *testing.T) {
		var got []notification
		var after any // null on the first page
		for page := 0; ; page++ {
			ns, r := list(t, in, e.token(alice), map[string]any{"first": 2, "after": after})
			r.ok(t)
			got = append(got, ns...)
			if len(ns) < 2 {
				break
			}
			after = ns[len(ns)-1].ID
			if page > 5 {
				t.Fatal("pagination does not end")
			}
		}
		if len(got) != len(want) {
			t.Fatalf("got %d notifications over the pages, want %d", len(got), len(want))
		}
		for i := range want {
			got[i].sameAs(t, want[i])
			// Compared as times: RFC 3339 strings with trimmed fractions do
			// not sort chronologically ("…53.12Z" > "…53.123Z").
			if i > 0 && parseTime(t, got[i].CreatedAt).After(parseTime(t, got[i-1].CreatedAt)) {
				t.Errorf("row %d is newer than row %d", i, i-1)
			}
		}
		// Money is a decimal string, as in REST.
		if got[0].Amount == nil || *got[0].Amount != "1500.50" || got[0].Type != "TRANSFER_DEBIT" {
			t.Errorf("first row = %+v", got[0])
		}
	})

	t.Run("DefaultPage", func(t *testing.T) {
		ns, r := list(t, in, e.token(alice), nil)
		r.ok(t)
		if len(ns) != 5 {
			t.Errorf("got %d without first, want all 5 (default 20)", len(ns))
		}
	})

	t.Run("OnlyOwn", func(t *testing.T) {
		ns, r := list(t, in, e.token(bob), map[string]any{"first": 100})
		r.ok(t)
		if len(ns) != 6 { // five credits and his own debit
			t.Fatalf("bob got %d notifications, want 6", len(ns))
		}
		for _, n := range ns {
			for _, a := range stored {
				if n.ID == a.ID {
					t.Errorf("bob sees alice's notification %s", n.ID)
				}
			}
		}
		ns, r = list(t, in, e.token(uuid.NewString()), nil)
		r.ok(t)
		if len(ns) != 0 || !strings.Contains(string(r.Data), `"getNotifications":[]`) {
			t.Errorf("a new user got %s, want []", r.Data)
		}
	})

	t.Run("ErrValidation", func(t *testing.T) {
		for _, first := range []int{0, -1, 101} {
			_, r := list(t, in, e.token(alice), map[string]any{"first": first})
			if got := r.wantCode(t, "VALIDATION_FAILED"); got.Extensions["field"] != "first" {
				t.Errorf("first=%d: field = %v, want first", first, got.Extensions["field"])
			}
		}
	})

	t.Run("ErrNotFoundCursor", func(t *testing.T) {
		bobs, _ := list(t, in, e.token(bob), nil)
		// Someone else's id as the cursor is exactly like an unknown one.
		var msgs []string
		for _, after := range []string{bobs[0].ID, uuid.NewString(), "not-an-id"} {
			_, r := list(t, in, e.token(alice), map[string]any{"after": after})
			msgs = append(msgs, r.wantCode(t, "NOT_FOUND").Message)
		}
		if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
			t.Errorf("messages differ: %q", msgs)
		}
	})
}

func TestMarkNotificationRead(t *testing.T) {
	e := newEnv(t)
	in := e.newInstance(instanceOptions{})
	alice, bob := uuid.NewString(), uuid.NewString()
	ns := e.transfer(alice, bob, "20")
	debit, credit := ns[0], ns[1]
	const mark = `mutation($id: ID!) { markNotificationRead(id: $id) { ` + notificationFields + ` } }`

	t.Run("OK", func(t *testing.T) {
		for range 2 { // marking again answers the same
			r := post(t, in.url, e.token(alice), mark, map[string]any{"id": debit.ID})
			r.ok(t)
			var data struct {
				MarkNotificationRead notification `json:"markNotificationRead"`
			}
			if err := json.Unmarshal(r.Data, &data); err != nil {
				t.Fatal(err)
			}
			read := debit
			read.Read = true
			data.MarkNotificationRead.sameAs(t, read)
		}
		got, r := list(t, in, e.token(alice), nil)
		r.ok(t)
		if len(got) != 1 || !got[0].Read {
			t.Errorf("alice's list after marking = %+v", got)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		var msgs []string
		for _, id := range []string{credit.ID, uuid.NewString(), "x"} {
			r := post(t, in.url, e.token(alice), mark, map[string]any{"id": id})
			if string(r.Data) != "null" {
				t.Errorf("data = %s, want null", r.Data)
			}
			msgs = append(msgs, r.wantCode(t, "NOT_FOUND").Message)
		}
		if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
			t.Errorf("someone else's and unknown ids answer differently: %q", msgs)
		}
		// Bob's copy stays unread.
		got, r := list(t, in, e.token(bob), nil)
		r.ok(t)
		if len(got) != 1 || got[0].Read {
			t.Errorf("bob's list = %+v, want his credit unread", got)
		}
	})
}

func TestUnauthenticated(t *testing.T) {
	e := newEnv(t)
	in := e.newInstance(instanceOptions{})
	user := uuid.NewString()
	e.transfer(user, uuid.NewString(), "1")
	forged, _ := token.NewIssuer([]byte("some-other-secret-of-32-bytes!!!"), time.Hour).
		Issue(token.Principal{UserID: user, Role: bank.RoleCustomer})
	expired, _ := token.NewIssuer(e.secret, -time.Minute).Issue(token.Principal{UserID: user, Role: bank.RoleCustomer})

	for name, header := range map[string]string{
		"Missing":   "",
		"NotBearer": "Basic dXNlcjpwYXNz",
		"Garbage":   "Bearer not-a-jwt",
		"Forged":    "Bearer " + forged,
		"Expired":   "Bearer " + expired,
	} {
		t.Run(name, func(t *testing.T) {
			for _, q := range []string{listQuery, `mutation { markNotificationRead(id: "` + uuid.NewString() + `") { id } }`} {
				body, _ := json.Marshal(map[string]any{"query": q})
				r := postWithHeader(t, in.url, header, body)
				r.wantCode(t, "UNAUTHENTICATED")
				if string(r.Data) != "null" {
					t.Errorf("data = %s, want null", r.Data)
				}
			}
		})
	}
}

func postWithHeader(t *testing.T, url, authorization string, body []byte) gqlResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return do(t, req)
}

// failingStore fails as a broken database would: with an error whose text
// must never reach a client.
type failingStore struct{ Notifications }

var errSecret = errors.New(`pgx: connect to 10.0.0.7:5432 user=bank password=hunter2: refused`)

func (failingStore) CursorAt(_ context.Context, _, _ string) (string, error) { return "", errSecret }

func (failingStore) List(_ context.Context, _ string, _ int, _ string) ([]bank.Notification, string, error) {
	return nil, "", errSecret
}

func (failingStore) MarkRead(_ context.Context, _, _ string) (bank.Notification, error) {
	panic("MarkRead exploded: " + errSecret.Error())
}

// syncBuffer is a log sink safe for the handler's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestInternalErrorsAreLoggedNotEchoed(t *testing.T) {
	e := &env{t: t, issuer: token.NewIssuer([]byte("graph-test-secret-internal-errors"), time.Hour)}
	var logs syncBuffer
	in := e.serve(nil, instanceOptions{store: failingStore{}, log: &logs})
	tok := e.token(uuid.NewString())

	for name, q := range map[string]string{
		"Error": listQuery,
		"Panic": `mutation { markNotificationRead(id: "x") { id } }`,
	} {
		t.Run(name, func(t *testing.T) {
			r := post(t, in.url, tok, q, nil)
			got := r.wantCode(t, "INTERNAL")
			if got.Message != "internal error" || strings.Contains(r.Raw, "hunter2") || strings.Contains(r.Raw, "10.0.0.7") {
				t.Errorf("response leaks or is not generic: %s", r.Raw)
			}
			reqID := r.Header.Get("X-Request-Id")
			if got.Extensions["requestId"] != reqID || reqID == "" {
				t.Errorf("requestId = %v, want the request's %q", got.Extensions["requestId"], reqID)
			}
			// The cause is in the log, under the request id.
			var line string
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "request_id="+reqID) {
					line = l
				}
			}
			if !strings.Contains(line, "hunter2") {
				t.Errorf("no log line with request_id=%s and the cause:\n%s", reqID, logs.String())
			}
		})
	}
}

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("createdAt %q: %v", s, err)
	}
	return v
}
