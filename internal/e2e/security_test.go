package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bankcore/bank/internal/testenv"
)

// execSQL runs one statement against the stack's database, as an
// administrator would (deleting or demoting a user has no API yet).
func execSQL(t *testing.T, st *testenv.Stack, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, st.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

type meBody struct {
	User struct {
		ID       string `json:"id"`
		Email    string `json:"email"`
		FullName string `json:"full_name"`
		Role     string `json:"role"`
	} `json:"user"`
	Accounts []accountBody `json:"accounts"`
}

func me(t *testing.T, c *testenv.Client) meBody {
	t.Helper()
	r := c.Do("GET", "/me", nil)
	if r.Status != 200 {
		t.Fatalf("GET /me: %d %s", r.Status, r.Body)
	}
	var m meBody
	r.Decode(t, &m)
	return m
}

// Issue 15, finding 2: operator authority came from the token alone. A
// deposit trusted the role claim and never loaded the user, so a token for
// an id that names no user created money, and /me said the user did not
// exist while a deposit by the same token went through. Every
// authenticated call now loads the user and acts on its current role.
func TestOperatorAuthorityComesFromTheDatabase(t *testing.T) {
	st := testenv.SharedStack(t)
	secret := []byte(st.Config.JWTSecret)
	alice, areg := signUp(t, st)
	acc := areg.Account.AccountNumber
	depositAs := func(c *testenv.Client) (testenv.Response, string) {
		ref := newKey("dep")
		return c.Do("POST", "/accounts/"+acc+"/deposits", map[string]string{
			"reference": ref, "amount": "1000.00", "narration": "cash",
		}), ref
	}
	noMoneyMoved := func(t *testing.T, ref string) {
		t.Helper()
		if n := countRows(t, st, `SELECT count(*) FROM ledger.transfers WHERE reference = $1`, ref); n != 0 {
			t.Errorf("%d transfers stored under %s", n, ref)
		}
		wantBalance(t, alice, acc, "0.00")
	}

	t.Run("MeShowsIDAndRole", func(t *testing.T) {
		m := me(t, alice)
		if m.User.ID != areg.User.ID || m.User.Role != "customer" || m.User.Email == "" || m.User.FullName == "" {
			t.Errorf("GET /me user = %+v", m.User)
		}
		op := operator(t, st)
		if m := me(t, op); m.User.Role != "operator" || m.User.ID == "" || len(m.Accounts) != 0 {
			t.Errorf("operator's GET /me = %+v", m)
		}
	})

	t.Run("OperatorTokenForNoUser", func(t *testing.T) {
		ghost := st.Client(t)
		ghost.Token = signJWT(t, jwt.SigningMethodHS256, secret, jwtClaims(uuid.NewString(), "operator"))
		r, ref := depositAs(ghost)
		wantProblem(t, r, 401, "UNAUTHENTICATED")
		noMoneyMoved(t, ref)
		wantProblem(t, ghost.Do("GET", "/me", nil), 401, "UNAUTHENTICATED")
	})

	t.Run("TokenForNoUserElsewhere", func(t *testing.T) {
		// GraphQL and the codec server load the user too.
		tok := signJWT(t, jwt.SigningMethodHS256, secret, jwtClaims(uuid.NewString(), "operator"))
		ghost := st.Client(t)
		ghost.Token = tok
		wantGQLError(t, "getNotifications", gqlPost(t, ghost, `{ getNotifications { id } }`, nil), 200, "UNAUTHENTICATED")
		if code := socketInitCloseCode(t, st.URL, map[string]any{"Authorization": "Bearer " + tok}); code != 4401 {
			t.Errorf("socket closed with %d, want 4401", code)
		}
		wantProblem(t, ghost.Do("POST", "/codec/decode", `{"payloads":[]}`), 401, "UNAUTHENTICATED")
	})

	t.Run("CustomerTokenClaimingOperator", func(t *testing.T) {
		claimed := st.Client(t)
		claimed.Token = signJWT(t, jwt.SigningMethodHS256, secret, jwtClaims(areg.User.ID, "operator"))
		r, ref := depositAs(claimed)
		wantProblem(t, r, 403, "FORBIDDEN")
		noMoneyMoved(t, ref)
		if m := me(t, claimed); m.User.Role != "customer" {
			t.Errorf("GET /me role = %q, want the database's customer", m.User.Role)
		}
	})

	t.Run("DemotedOperator", func(t *testing.T) {
		op := operator(t, st)
		id := me(t, op).User.ID
		r, _ := depositAs(op)
		wantTransfer(t, r, 201)
		execSQL(t, st, `UPDATE auth.users SET role = 'customer' WHERE id = $1`, id)
		r, ref := depositAs(op)
		wantProblem(t, r, 403, "FORBIDDEN")
		if n := countRows(t, st, `SELECT count(*) FROM ledger.transfers WHERE reference = $1`, ref); n != 0 {
			t.Errorf("the demoted operator's token stored a deposit")
		}
		if m := me(t, op); m.User.Role != "customer" {
			t.Errorf("GET /me role = %q after the demotion", m.User.Role)
		}
	})

	t.Run("DeletedOperator", func(t *testing.T) {
		op := operator(t, st)
		id := me(t, op).User.ID
		execSQL(t, st, `DELETE FROM auth.users WHERE id = $1`, id)
		r, ref := depositAs(op)
		// The same answer as /me: the user is gone, whatever the token says.
		wantProblem(t, r, 401, "UNAUTHENTICATED")
		wantProblem(t, op.Do("GET", "/me", nil), 401, "UNAUTHENTICATED")
		if n := countRows(t, st, `SELECT count(*) FROM ledger.transfers WHERE reference = $1`, ref); n != 0 {
			t.Errorf("a deleted operator's token stored a deposit")
		}
	})
}

// rawPost sends body as is, with headers added (not set), so a header can
// be repeated.
func rawPost(t *testing.T, c *testenv.Client, base, path, body string, headers ...string) testenv.Response {
	t.Helper()
	req, err := http.NewRequest("POST", base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", c.Addr)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return testenv.Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// Issue 15, finding 6: an escaped lone surrogate ("\ud800") in a narration
// or a name was stored as U+FFFD, which the UTF-8 guard exists to prevent;
// two Idempotency-Key headers were accepted, the first one winning; and a
// GraphQL body with a duplicate "query" key was accepted, the last one
// winning, though REST refuses duplicate keys. All are 400 now, and nothing
// is written.
func TestAmbiguousInputIsRefused(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	alice, a := signUp(t, st)
	_, b := signUp(t, st)
	from, to := a.Account.AccountNumber, b.Account.AccountNumber
	deposit(t, op, from, "100")

	t.Run("LoneSurrogateInNarration", func(t *testing.T) {
		key := newKey("sur")
		body := `{"from_account":"` + from + `","to_account":"` + to + `","amount":"1.00","currency":"NGN","narration":"lunch \ud800"}`
		wantProblem(t, rawPost(t, alice, st.URL, "/transfers", body, "Idempotency-Key", key), 400, "VALIDATION_FAILED")
		if n := countRows(t, st, `SELECT count(*) FROM ledger.transfers WHERE reference = $1`, key); n != 0 {
			t.Errorf("a refused transfer was stored")
		}
		// A real character written as a surrogate pair is fine.
		body = strings.Replace(body, `\ud800`, `\ud83d\ude00`, 1)
		r := rawPost(t, alice, st.URL, "/transfers", body, "Idempotency-Key", key)
		if got := wantTransfer(t, r, 201); got.Narration != "lunch 😀" {
			t.Errorf("narration = %q", got.Narration)
		}
	})

	t.Run("LoneSurrogateInName", func(t *testing.T) {
		reg := newRegistration()
		raw, _ := json.Marshal(reg)
		body := strings.Replace(string(raw), `"full_name":"`, `"full_name":"\udc00`, 1)
		wantProblem(t, rawPost(t, st.Client(t), st.URL, "/auth/register", body), 400, "VALIDATION_FAILED")
		if n := countUsers(t, st, reg.Email); n != 0 {
			t.Errorf("%d users made from a refused registration", n)
		}
	})

	t.Run("TwoIdempotencyKeys", func(t *testing.T) {
		k1, k2 := newKey("one"), newKey("two")
		body := `{"from_account":"` + from + `","to_account":"` + to + `","amount":"1.00","currency":"NGN"}`
		p := wantProblem(t, rawPost(t, alice, st.URL, "/transfers", body, "Idempotency-Key", k1, "Idempotency-Key", k2), 400, "VALIDATION_FAILED")
		if p.Field != "Idempotency-Key" {
			t.Errorf("field = %q", p.Field)
		}
		if n := countRows(t, st, `SELECT count(*) FROM ledger.transfers WHERE reference IN ($1, $2)`, k1, k2); n != 0 {
			t.Errorf("%d transfers stored under either key", n)
		}
	})

	t.Run("GraphQLDuplicateQueryKey", func(t *testing.T) {
		body := `{"query":"{ getNotifications { id } }","query":"mutation { markNotificationRead(id: \"x\") { id } }"}`
		r := rawPost(t, alice, st.URL, "/graphql", body)
		var a gqlAnswer
		if err := json.Unmarshal(r.Body, &a); err != nil || r.Status != 400 || a.code() != "VALIDATION_FAILED" {
			t.Errorf("duplicate query key: %d %s", r.Status, r.Body)
		}
		for name, body := range map[string]string{
			"CaseVariant":   `{"query":"{ getNotifications { id } }","QUERY":"{ __typename }"}`,
			"LoneSurrogate": `{"query":"query($a: String) { getNotifications(after: $a) { id } }","variables":{"a":"\ud800"}}`,
		} {
			r := rawPost(t, alice, st.URL, "/graphql", body)
			if err := json.Unmarshal(r.Body, &a); err != nil || r.Status != 400 || a.code() != "VALIDATION_FAILED" {
				t.Errorf("%s: %d %s", name, r.Status, r.Body)
			}
		}
	})
}

// Issue 15, finding 7: /metrics on the public API port was unauthenticated
// (555 KB of business counters). It is on METRICS_ADDR only, for an API
// alone as for the rest, unless BANK_METRICS_ON_API puts it back.
func TestMetricsOffThePublicPort(t *testing.T) {
	st := testenv.SharedStack(t)
	wantProblem(t, st.Client(t).Do("GET", "/metrics", nil), 404, "NOT_FOUND")
	apiOnly := st.AddAPI(t)
	c := st.Client(t).WithBase(t, apiOnly.URL)
	if r := c.Do("GET", "/healthz", nil); r.Status != 200 {
		t.Fatalf("healthz: %d", r.Status)
	}
	wantProblem(t, c.Do("GET", "/metrics", nil), 404, "NOT_FOUND")
	scrape := func(url string) string {
		t.Helper()
		resp, err := http.Get(url) // #nosec G107 -- the test stack's own listener
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d", url, resp.StatusCode)
		}
		return string(body)
	}
	if body := scrape(apiOnly.MetricsURL); !strings.Contains(body, `bank_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"}`) {
		t.Errorf("an API alone has no request metrics on METRICS_ADDR:\n%.2000s", body)
	}

	back := testenv.NewStack(t, testenv.StackOptions{Env: map[string]string{"BANK_METRICS_ON_API": "true"}})
	if r := back.Client(t).Do("GET", "/healthz", nil); r.Status != 200 {
		t.Fatalf("healthz: %d", r.Status)
	}
	if body := scrape(back.URL + "/metrics"); !strings.Contains(body, `route="/healthz"`) {
		t.Errorf("BANK_METRICS_ON_API=true: no request metrics on the public port")
	}
}

// Issue 15, finding 7: the GraphQL playground sent no frame-ancestors, so
// any site could frame it (clickjacking a signed-in operator's session).
func TestPlaygroundCannotBeFramed(t *testing.T) {
	st := testenv.SharedStack(t)
	r := st.Client(t).Do("GET", "/graphql", nil, "Accept", "text/html")
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("playground: %d %q", r.Status, r.Header.Get("Content-Type"))
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q, want frame-ancestors 'none'", csp)
	}
	for h, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
}

// Issue 15, finding 8: after a few failed logins for any emails, every
// login from that address got 429 for a minute, the operator's correct one
// included; behind a NAT one person's typos (or an attacker) locked out
// everyone. Failures count per email and per (address, email); other users'
// failures from the address count only against its ceiling.
func TestLoginFromASharedAddress(t *testing.T) {
	st := testenv.NewStack(t, testenv.StackOptions{Env: map[string]string{
		"BANK_RATE_LOGIN_FAILURES": "3", "BANK_RATE_LOGIN_ADDRESS_FAILURES": "12",
	}})
	nat := st.Client(t) // everyone behind one address
	reg := newRegistration()
	if r := st.Client(t).Do("POST", "/auth/register", reg); r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	email, password := newOperator(t, st)
	loginAs := func(e, p string) testenv.Response {
		return nat.Do("POST", "/auth/login", map[string]string{"email": e, "password": p})
	}

	// Two people mistype their passwords until their own emails lock.
	for _, typist := range []string{"typo1-" + testenv.Suffix() + "@example.com", "typo2-" + testenv.Suffix() + "@example.com"} {
		for range 3 {
			wantProblem(t, loginAs(typist, "wrong-password-1"), 401, "UNAUTHENTICATED")
		}
		wantProblem(t, loginAs(typist, "wrong-password-1"), 429, "RATE_LIMITED")
	}
	// The operator and the customer behind the same address still get in,
	// even after a typo of their own.
	login(t, nat, email, password)
	wantProblem(t, loginAs(reg.Email, "wrong-password-1"), 401, "UNAUTHENTICATED")
	login(t, nat, reg.Email, reg.Password)

	// A spray over many emails reaches the address ceiling (12 failures);
	// then the address waits, whoever logs in, and other addresses do not.
	for range 5 {
		wantProblem(t, loginAs("spray-"+testenv.Suffix()+"@example.com", "wrong-password-1"), 401, "UNAUTHENTICATED")
	}
	r := loginAs(reg.Email, reg.Password)
	wantProblem(t, r, 429, "RATE_LIMITED")
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	login(t, st.Client(t), reg.Email, reg.Password)
}
