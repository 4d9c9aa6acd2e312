package e2e

// OWASP API Security Top 10 (2023) checks that apply to the REST API:
// API1 broken object level authorisation (BOLA), API2 broken authentication,
// API3 broken object property level authorisation (mass assignment), API4
// unrestricted resource consumption (body and page size caps, slow
// clients), API5 broken function level authorisation (customer on operator
// routes). Rate limits on login and registration are in
// registration_test.go (TestLoginRateLimited, TestRegisterRateLimited);
// overload shedding in overload_test.go.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/bankcore/bank/internal/testenv"
)

// sameAnswer asserts that two answers cannot be told apart: status,
// content type and body, except the request id.
func sameAnswer(t *testing.T, what string, got, want testenv.Response) {
	t.Helper()
	if got.Status != want.Status || got.Header.Get("Content-Type") != want.Header.Get("Content-Type") {
		t.Fatalf("%s: %d %s, but the missing resource gives %d %s", what,
			got.Status, got.Header.Get("Content-Type"), want.Status, want.Header.Get("Content-Type"))
	}
	strip := func(r testenv.Response) map[string]any {
		m := r.JSON(t)
		delete(m, "request_id")
		return m
	}
	if g, w := strip(got), strip(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("%s: body %s differs from the missing resource's %s", what, got.Body, want.Body)
	}
}

// TestBOLA: another customer's account, history, transfers and tier are
// 404 NOT_FOUND, byte for byte as if they did not exist, and touching them
// changes nothing.
func TestBOLA(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	alice, aliceReg := signUp(t, st)
	bob, bobReg := signUp(t, st)
	aliceAcc, bobAcc := aliceReg.Account.AccountNumber, bobReg.Account.AccountNumber
	deposit(t, op, aliceAcc, "1000.00")
	deposit(t, op, bobAcc, "1000.00")
	bobKey := newKey("bob")
	wantTransfer(t, send(bob, bobKey, transferReq(bobAcc, aliceAcc, "10.00", "to alice")), 201)
	missing := unknownAccount()

	t.Run("Account", func(t *testing.T) {
		sameAnswer(t, "GET other's account", alice.Do("GET", "/accounts/"+bobAcc, nil), alice.Do("GET", "/accounts/"+missing, nil))
		wantProblem(t, alice.Do("GET", "/accounts/"+bobAcc, nil), 404, "NOT_FOUND")
		// The system funding account is nobody's, not even an operator's to read.
		sameAnswer(t, "GET system account", alice.Do("GET", "/accounts/0000000000", nil), alice.Do("GET", "/accounts/"+missing, nil))
		wantProblem(t, op.Do("GET", "/accounts/0000000000", nil), 404, "NOT_FOUND")
	})

	t.Run("History", func(t *testing.T) {
		sameAnswer(t, "GET other's history", alice.Do("GET", "/accounts/"+bobAcc+"/transactions", nil),
			alice.Do("GET", "/accounts/"+missing+"/transactions", nil))
		// With a cursor and limit too: the ownership check comes first.
		q := "/transactions?limit=5&cursor=" + base64.RawURLEncoding.EncodeToString([]byte("999999"))
		sameAnswer(t, "GET other's history page", alice.Do("GET", "/accounts/"+bobAcc+q, nil), alice.Do("GET", "/accounts/"+missing+q, nil))
		wantProblem(t, alice.Do("GET", "/accounts/"+bobAcc+"/transactions", nil), 404, "NOT_FOUND")
	})

	t.Run("Tier", func(t *testing.T) {
		before := tierChangeCount(t, st, bobAcc)
		sameAnswer(t, "upgrade other's account", alice.Do("POST", "/accounts/"+bobAcc+"/tier", tierBody("TIER_2", newBVN())),
			alice.Do("POST", "/accounts/"+missing+"/tier", tierBody("TIER_2", newBVN())))
		// An operator may read any account but upgrades are the owner's.
		sameAnswer(t, "operator upgrades a customer", op.Do("POST", "/accounts/"+bobAcc+"/tier", tierBody("TIER_2", newBVN())),
			op.Do("POST", "/accounts/"+missing+"/tier", tierBody("TIER_2", newBVN())))
		wantTier(t, bob, bobAcc, "TIER_1")
		if after := tierChangeCount(t, st, bobAcc); after != before {
			t.Fatalf("tier changes of %s: %d, was %d", bobAcc, after, before)
		}
	})

	t.Run("TransferFromOthersAccount", func(t *testing.T) {
		key := newKey("steal")
		sameAnswer(t, "send from other's account", send(alice, key, transferReq(bobAcc, aliceAcc, "100.00", "mine now")),
			send(alice, newKey("steal"), transferReq(missing, aliceAcc, "100.00", "mine now")))
		// The reference in the body instead of the header: same.
		body := transferReq(bobAcc, aliceAcc, "100.00", "mine now")
		body["reference"] = newKey("steal")
		wantProblem(t, alice.Do("POST", "/transfers", body), 404, "NOT_FOUND")
		// Operators may read every account but send from none.
		sameAnswer(t, "operator sends from a customer", send(op, newKey("op"), transferReq(bobAcc, aliceAcc, "100.00", "x")),
			send(op, newKey("op"), transferReq(missing, aliceAcc, "100.00", "x")))
		wantBalance(t, bob, bobAcc, "990.00")
		if n := countRows(t, st, `SELECT count(*) FROM ledger.transfers WHERE reference = $1`, key); n != 0 {
			t.Fatalf("%d transfers stored under the refused key", n)
		}
	})

	t.Run("TransferByReference", func(t *testing.T) {
		// Alice is the receiver of bob's transfer, yet his key is his.
		sameAnswer(t, "GET other's transfer", alice.Do("GET", "/transfers/"+bobKey, nil),
			alice.Do("GET", "/transfers/"+newKey("none"), nil))
		wantProblem(t, alice.Do("GET", "/transfers/"+bobKey, nil), 404, "NOT_FOUND")
		wantProblem(t, op.Do("GET", "/transfers/"+bobKey, nil), 404, "NOT_FOUND")
		if r := bob.Do("GET", "/transfers/"+bobKey, nil); r.Status != 200 {
			t.Fatalf("owner reads own transfer: %d %s", r.Status, r.Body)
		}
	})

	t.Run("DepositByCustomer", func(t *testing.T) {
		// A function-level check (API5): 403 before anything is looked up,
		// so it says nothing about the account either.
		dep := map[string]string{"reference": newKey("dep"), "amount": "5000.00", "narration": "free money"}
		r := alice.Do("POST", "/accounts/"+aliceAcc+"/deposits", dep)
		wantProblem(t, r, 403, "FORBIDDEN")
		sameAnswer(t, "customer deposit to other", alice.Do("POST", "/accounts/"+bobAcc+"/deposits", dep), r)
		sameAnswer(t, "customer deposit to missing", alice.Do("POST", "/accounts/"+missing+"/deposits", dep), r)
		wantBalance(t, alice, aliceAcc, "1010.00")
		if n := countRows(t, st, `SELECT count(*) FROM ledger.transfers WHERE reference = $1`, dep["reference"]); n != 0 {
			t.Fatalf("%d deposits stored for a customer's request", n)
		}
	})

	t.Run("Registration", func(t *testing.T) {
		// The registration id is keyed: knowing bob's email (hence the
		// workflow id's digest) does not let anyone read his registration.
		sum := sha256.Sum256([]byte(strings.ToLower(bobReg.User.Email)))
		forged := hex.EncodeToString(sum[:]) + "." + strings.Repeat("0", 32)
		sameAnswer(t, "forged registration id", st.Client(t).Do("GET", "/auth/registrations/"+forged, nil),
			st.Client(t).Do("GET", "/auth/registrations/"+strings.Repeat("ab", 32)+"."+strings.Repeat("0", 32), nil))
	})

	t.Run("MeIsOwn", func(t *testing.T) {
		var me struct {
			User     userBody      `json:"user"`
			Accounts []accountBody `json:"accounts"`
		}
		alice.Do("GET", "/me", nil).Decode(t, &me)
		if me.User.ID != aliceReg.User.ID || len(me.Accounts) != 1 || me.Accounts[0].AccountNumber != aliceAcc {
			t.Fatalf("GET /me = %+v", me)
		}
	})
}

// jwtClaims are the claims a genuine access token carries, valid now.
func jwtClaims(sub, role string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"sub": sub, "role": role, "iss": "bankcore", "aud": []string{"bankcore-api"},
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

func signJWT(t *testing.T, method jwt.SigningMethod, secret []byte, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func withClaims(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// TestAuthBrokenTokens: every authenticated route answers 401
// UNAUTHENTICATED (with WWW-Authenticate) to a missing, malformed, expired,
// wrongly signed or wrongly formed token, and a customer's token on an
// operator route is 403.
func TestAuthBrokenTokens(t *testing.T) {
	st := testenv.SharedStack(t)
	alice, aliceReg := signUp(t, st)
	acc, sub := aliceReg.Account.AccountNumber, aliceReg.User.ID
	secret := []byte(st.Config.JWTSecret)
	good := jwtClaims(sub, "customer")

	// The crafted token is accepted, so the refusals below are about what
	// each case changes and nothing else.
	crafted := st.Client(t)
	crafted.Token = signJWT(t, jwt.SigningMethodHS256, secret, good)
	if r := crafted.Do("GET", "/me", nil); r.Status != 200 {
		t.Fatalf("a well-formed crafted token is refused: %d %s", r.Status, r.Body)
	}

	valid := alice.Token
	parts := strings.Split(valid, ".")
	b64 := base64.RawURLEncoding.EncodeToString
	payload, _ := json.Marshal(withClaims(good, "role", "operator"))
	past := time.Now().Add(-2 * time.Hour)
	future := time.Now().Add(time.Hour)

	cases := map[string]string{ // Authorization header ("" = none)
		"Missing":        "",
		"SchemeOnly":     "Bearer",
		"EmptyToken":     "Bearer ",
		"Garbage":        "Bearer x.y.z",
		"NotBase64":      "Bearer ###.###.###",
		"Basic":          "Basic " + b64([]byte("ada@example.com:password")),
		"NoScheme":       valid,
		"WrongScheme":    "Token " + valid,
		"TwoTokens":      "Bearer " + valid + " " + valid,
		"Truncated":      "Bearer " + valid[:len(valid)-5],
		"Expired":        "Bearer " + signJWT(t, jwt.SigningMethodHS256, secret, withClaims(good, "iat", past.Unix(), "nbf", past.Unix(), "exp", past.Add(time.Hour).Unix())),
		"NoExpiry":       "Bearer " + signJWT(t, jwt.SigningMethodHS256, secret, withClaims(good, "exp", nil)),
		"NotYetValid":    "Bearer " + signJWT(t, jwt.SigningMethodHS256, secret, withClaims(good, "nbf", future.Unix())),
		"IssuedInFuture": "Bearer " + signJWT(t, jwt.SigningMethodHS256, secret, withClaims(good, "iat", future.Unix())),
		"WrongIssuer":    "Bearer " + signJWT(t, jwt.SigningMethodHS256, secret, withClaims(good, "iss", "evil")),
		"WrongAudience":  "Bearer " + signJWT(t, jwt.SigningMethodHS256, secret, withClaims(good, "aud", []string{"other-api"})),
		"WrongSignature": "Bearer " + signJWT(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-another"), good),
		"ZeroSignature":  "Bearer " + parts[0] + "." + parts[1] + "." + b64(make([]byte, 32)),
		"AlgNone":        "Bearer " + b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".",
		"AlgNoneUpper":   "Bearer " + b64([]byte(`{"alg":"NONE","typ":"JWT"}`)) + "." + parts[1] + ".",
		"AlgNoneSigned":  "Bearer " + b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2],
		"HS512":          "Bearer " + signJWT(t, jwt.SigningMethodHS512, secret, good),
		"HS384":          "Bearer " + signJWT(t, jwt.SigningMethodHS384, secret, good),
		"TamperedRole":   "Bearer " + parts[0] + "." + b64(payload) + "." + parts[2],
		"UnknownRole":    "Bearer " + signJWT(t, jwt.SigningMethodHS256, secret, withClaims(good, "role", "admin")),
		"NoRole":         "Bearer " + signJWT(t, jwt.SigningMethodHS256, secret, withClaims(good, "role", nil)),
		"EmptySubject":   "Bearer " + signJWT(t, jwt.SigningMethodHS256, secret, withClaims(good, "sub", "")),
		"HugeToken":      "Bearer " + strings.Repeat("A", 8000) + "." + strings.Repeat("B", 4000) + ".c",
	}
	routes := []struct{ method, path string }{
		{"GET", "/me"},
		{"GET", "/accounts/" + acc},
		{"GET", "/accounts/" + acc + "/transactions"},
		{"POST", "/accounts/" + acc + "/tier"},
		{"POST", "/accounts/" + acc + "/deposits"},
		{"POST", "/transfers"},
		{"GET", "/transfers/some-ref"},
	}
	bodyFor := func(method string) any {
		if method == "POST" {
			return map[string]any{}
		}
		return nil
	}
	anon := st.Client(t)
	for name, header := range cases {
		t.Run(name, func(t *testing.T) {
			for _, rt := range routes {
				var headers []string
				if header != "" {
					headers = []string{"Authorization", header}
				}
				r := anon.Do(rt.method, rt.path, bodyFor(rt.method), headers...)
				if r.Status != 401 {
					t.Fatalf("%s %s with %s: %d, want 401: %s", rt.method, rt.path, name, r.Status, r.Body)
				}
				wantProblem(t, r, 401, "UNAUTHENTICATED")
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s %s: 401 without a Bearer WWW-Authenticate challenge", rt.method, rt.path)
				}
			}
		})
	}

	t.Run("TokenInQueryString", func(t *testing.T) {
		for _, q := range []string{"access_token", "token", "jwt"} {
			wantProblem(t, anon.Do("GET", "/me?"+q+"="+url.QueryEscape(valid), nil), 401, "UNAUTHENTICATED")
		}
	})

	t.Run("UnknownUser", func(t *testing.T) {
		// Correctly signed, for a user id nobody has (a deleted user, or a
		// forged token): it reaches nobody's data. Every route loads the
		// token's user (issue 15), so each one answers 401, as /me did.
		ghost := st.Client(t)
		ghost.Token = signJWT(t, jwt.SigningMethodHS256, secret, jwtClaims(uuid.NewString(), "customer"))
		for _, rt := range routes {
			wantProblem(t, ghost.Do(rt.method, rt.path, bodyFor(rt.method)), 401, "UNAUTHENTICATED")
		}
	})

	t.Run("CustomerOnOperatorRoute", func(t *testing.T) {
		dep := map[string]string{"reference": newKey("dep"), "amount": "10.00", "narration": "x"}
		wantProblem(t, alice.Do("POST", "/accounts/"+acc+"/deposits", dep), 403, "FORBIDDEN")
		// A customer token re-signed with the operator role needs the secret.
		forgedOp := st.Client(t)
		forgedOp.Token = parts[0] + "." + b64(payload) + "." + parts[2]
		wantProblem(t, forgedOp.Do("POST", "/accounts/"+acc+"/deposits", dep), 401, "UNAUTHENTICATED")
		wantBalance(t, alice, acc, "0.00")
	})
}

// withExtra returns v as a JSON object with one more member.
func withExtra(t *testing.T, v any, key string, value any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m[key] = value
	return m
}

// TestMassAssignment: a member the API does not take (role, balance,
// owner, status...) in any POST body is 400 VALIDATION_FAILED naming it,
// never silently ignored or applied, and nothing is written.
func TestMassAssignment(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	alice, aliceReg := signUp(t, st)
	_, bobReg := signUp(t, st)
	aliceAcc, bobAcc := aliceReg.Account.AccountNumber, bobReg.Account.AccountNumber
	deposit(t, op, aliceAcc, "100.00")
	tierChanges := tierChangeCount(t, st, aliceAcc)

	extras := []struct {
		key   string
		value any
	}{
		{"role", "operator"}, {"balance", "1000000.00"}, {"tier", "TIER_3"}, {"owner_id", uuid.NewString()},
		{"status", "COMPLETED"}, {"id", uuid.NewString()}, {"account_number", bobAcc}, {"kind", "system"},
		{"is_admin", true}, {"verified", true}, {"limits", map[string]any{"max_balance": nil}},
		{"created_by", uuid.NewString()}, {"Role", "operator"},
	}
	var emails, refs []string
	for _, x := range extras {
		t.Run(x.key, func(t *testing.T) {
			reg := newRegistration()
			emails = append(emails, reg.Email)
			want400 := func(what string, r testenv.Response, field string) {
				t.Helper()
				p := wantProblem(t, r, 400, "VALIDATION_FAILED")
				if p.Field != field {
					t.Errorf("%s: field = %q, want %q", what, p.Field, field)
				}
			}
			want400("register", st.Client(t).Do("POST", "/auth/register", withExtra(t, reg, x.key, x.value)), x.key)
			regKYC := withExtra(t, reg, "kyc", withExtra(t, reg.KYC, x.key, x.value))
			want400("register kyc", st.Client(t).Do("POST", "/auth/register", regKYC), x.key)

			want400("login", st.Client(t).Do("POST", "/auth/login", withExtra(t, map[string]string{
				"email": aliceReg.User.Email, "password": "whatever-password"}, x.key, x.value)), x.key)

			ref := newKey("mass")
			refs = append(refs, ref)
			tr := transferReq(aliceAcc, bobAcc, "1.00", "mass")
			tr["reference"] = ref
			want400("transfer", alice.Do("POST", "/transfers", withExtra(t, tr, x.key, x.value)), x.key)

			depRef := newKey("mass-dep")
			refs = append(refs, depRef)
			dep := map[string]string{"reference": depRef, "amount": "1.00", "narration": "mass"}
			want400("deposit", op.Do("POST", "/accounts/"+aliceAcc+"/deposits", withExtra(t, dep, x.key, x.value)), x.key)

			if x.key != "tier" {
				want400("tier", alice.Do("POST", "/accounts/"+aliceAcc+"/tier", withExtra(t, tierBody("TIER_2", newBVN()), x.key, x.value)), x.key)
			}
			want400("tier kyc", alice.Do("POST", "/accounts/"+aliceAcc+"/tier",
				map[string]any{"tier": "TIER_2", "kyc": withExtra(t, newBVN(), x.key, x.value)}), x.key)
		})
	}

	for _, email := range emails {
		if n := countUsers(t, st, email); n != 0 {
			t.Errorf("%d users with %s", n, email)
		}
	}
	for _, ref := range refs {
		if n := countRows(t, st, `SELECT count(*) FROM ledger.transfers WHERE reference = $1`, ref); n != 0 {
			t.Errorf("%d transfers with reference %s", n, ref)
		}
	}
	wantBalance(t, alice, aliceAcc, "100.00")
	wantBalance(t, op, bobAcc, "0.00")
	wantTier(t, alice, aliceAcc, "TIER_1")
	if n := tierChangeCount(t, st, aliceAcc); n != tierChanges {
		t.Errorf("tier changes: %d, was %d", n, tierChanges)
	}
}

// TestAbuseResourceLimits: bodies over 64 KiB are 413 on every POST (with a
// length or chunked), page sizes are capped, oversized headers are refused.
func TestAbuseResourceLimits(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	alice, aliceReg := signUp(t, st)
	acc := aliceReg.Account.AccountNumber
	big := []byte(`{"narration":"` + strings.Repeat("a", 70<<10) + `"}`)

	t.Run("BodyTooLarge", func(t *testing.T) {
		for _, c := range []struct {
			client *testenv.Client
			path   string
		}{
			{st.Client(t), "/auth/register"},
			{st.Client(t), "/auth/login"},
			{alice, "/transfers"},
			{alice, "/accounts/" + acc + "/tier"},
			{op, "/accounts/" + acc + "/deposits"},
		} {
			wantProblem(t, c.client.Do("POST", c.path, big), 413, "BODY_TOO_LARGE")
			r := postChunked(t, st, c.client, c.path, big)
			wantProblem(t, r, 413, "BODY_TOO_LARGE")
		}
		// Exactly at the limit is read (and refused for what it says).
		atLimit := []byte(`{"narration":"` + strings.Repeat("a", 64<<10-len(`{"narration":""}`)) + `"}`)
		wantProblem(t, alice.Do("POST", "/transfers", atLimit), 400, "VALIDATION_FAILED")
		wantBalance(t, alice, acc, "0.00")
	})

	t.Run("PageSize", func(t *testing.T) {
		path := "/accounts/" + acc + "/transactions?limit="
		for _, limit := range []string{"1000", "101", "0", "-1", "abc", "1e2", "99999999999999999999", "%00", "1.5", " 5", "5 "} {
			p := wantProblem(t, alice.Do("GET", path+url.QueryEscape(limit), nil), 400, "VALIDATION_FAILED")
			if p.Field != "limit" {
				t.Errorf("limit=%q: field %q", limit, p.Field)
			}
		}
		for _, limit := range []string{"1", "100"} {
			if r := alice.Do("GET", path+limit, nil); r.Status != 200 {
				t.Errorf("limit=%s: %d %s", limit, r.Status, r.Body)
			}
		}
		for _, cursor := range []string{"x", "%00", strings.Repeat("A", 4000), base64.RawURLEncoding.EncodeToString([]byte("-5")),
			base64.RawURLEncoding.EncodeToString([]byte("99999999999999999999"))} {
			p := wantProblem(t, alice.Do("GET", "/accounts/"+acc+"/transactions?cursor="+url.QueryEscape(cursor), nil), 400, "VALIDATION_FAILED")
			if p.Field != "cursor" {
				t.Errorf("cursor=%.20q: field %q", cursor, p.Field)
			}
		}
	})

	t.Run("HeadersTooLarge", func(t *testing.T) {
		r := alice.Do("GET", "/me", nil, "X-Padding", strings.Repeat("a", 64<<10))
		if r.Status != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("64 KiB header: %d, want 431", r.Status)
		}
	})

	t.Run("LongPath", func(t *testing.T) {
		for _, path := range []string{"/accounts/" + strings.Repeat("1", 8000), "/transfers/" + strings.Repeat("r", 8000)} {
			r := alice.Do("GET", path, nil)
			wantProblem(t, r, 404, "NOT_FOUND")
		}
	})
}

// postChunked sends body with Transfer-Encoding: chunked (no
// Content-Length), so the limit must hold while reading, not only by the
// declared length.
func postChunked(t *testing.T, st *testenv.Stack, c *testenv.Client, path string, body []byte) testenv.Response {
	t.Helper()
	req, err := http.NewRequest("POST", st.URL+path, io.MultiReader(bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", c.Addr)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatalf("chunked POST %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	return testenv.Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// TestSlowClientHeaders: a client that trickles its request headers one
// byte a second (slowloris) is cut off by the server's ReadHeaderTimeout
// (5 s) rather than holding a connection open for as long as it likes, and
// while such clients hang on, everyone else is served at once.
func TestSlowClientHeaders(t *testing.T) {
	st := testenv.SharedStack(t)
	addr := strings.TrimPrefix(st.URL, "http://")
	const slowClients = 20
	request := "GET /healthz HTTP/1.1\r\nHost: bank\r\nX-Slow: " + strings.Repeat("z", 60) + "\r\n\r\n"

	type outcome struct {
		closedAfter time.Duration
		sent        int
		err         error
	}
	results := make(chan outcome, slowClients)
	start := time.Now()
	for range slowClients {
		go func() {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				results <- outcome{err: err}
				return
			}
			defer func() { _ = conn.Close() }()
			closed := make(chan time.Duration, 1)
			go func() {
				// The server sends nothing (or a 408) and closes.
				_, _ = io.Copy(io.Discard, conn)
				closed <- time.Since(start)
			}()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			sent := 0
			for sent < len(request) {
				select {
				case d := <-closed:
					results <- outcome{closedAfter: d, sent: sent}
					return
				case <-tick.C:
					if _, err := conn.Write([]byte{request[sent]}); err != nil {
						results <- outcome{closedAfter: time.Since(start), sent: sent}
						return
					}
					sent++
				case <-time.After(13*time.Second - time.Since(start)):
					results <- outcome{err: fmt.Errorf("connection still open after %v with %d bytes sent", time.Since(start), sent)}
					return
				}
			}
			results <- outcome{err: fmt.Errorf("the whole request was sent before the server gave up")}
		}()
	}

	// Meanwhile, normal clients are served without delay.
	time.Sleep(1500 * time.Millisecond)
	c := st.Client(t)
	for range 5 {
		t0 := time.Now()
		if r := c.Do("GET", "/healthz", nil); r.Status != 200 {
			t.Fatalf("healthz during slowloris: %d", r.Status)
		}
		if d := time.Since(t0); d > time.Second {
			t.Errorf("healthz took %v while slow clients hang on", d)
		}
		time.Sleep(200 * time.Millisecond)
	}

	for range slowClients {
		o := <-results
		if o.err != nil {
			t.Fatal(o.err)
		}
		if o.closedAfter < 4*time.Second || o.closedAfter > 11*time.Second {
			t.Errorf("slow client cut off after %v (%d bytes sent), want about the 5 s ReadHeaderTimeout", o.closedAfter, o.sent)
		}
	}
}

// gqlAnswer is a GraphQL response.
type gqlAnswer struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
	Raw string
}

func (a gqlAnswer) code() string {
	if len(a.Errors) == 0 {
		return ""
	}
	c, _ := a.Errors[0].Extensions["code"].(string)
	return c
}

func gqlPost(t *testing.T, c *testenv.Client, query string, vars map[string]any, headers ...string) gqlAnswer {
	t.Helper()
	r := c.Do("POST", "/graphql", map[string]any{"query": query, "variables": vars}, headers...)
	a := gqlAnswer{Status: r.Status, Raw: string(r.Body)}
	if err := json.Unmarshal(r.Body, &a); err != nil {
		t.Fatalf("graphql answer %d is not JSON: %v: %.300s", r.Status, err, r.Body)
	}
	a.Status, a.Raw = r.Status, string(r.Body)
	return a
}

// wantGQLError asserts a refused operation: no data, the code, a 4xx or 200
// status (gqlgen answers resolver errors with 200), never a 5xx or INTERNAL.
func wantGQLError(t *testing.T, what string, a gqlAnswer, status int, code string) {
	t.Helper()
	if a.Status != status || a.code() != code {
		t.Fatalf("%s: %d %s, want %d with code %s: %.400s", what, a.Status, a.code(), status, code, a.Raw)
	}
	if d := strings.TrimSpace(string(a.Data)); d != "" && d != "null" {
		t.Fatalf("%s: data %s with the error", what, d)
	}
}

type gqlNotification struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Read bool   `json:"read"`
}

func notificationsOf(t *testing.T, c *testenv.Client) []gqlNotification {
	t.Helper()
	a := gqlPost(t, c, `{ getNotifications(first: 100) { id type read } }`, nil)
	if a.Status != 200 || len(a.Errors) > 0 {
		t.Fatalf("getNotifications: %d %s", a.Status, a.Raw)
	}
	var data struct {
		List []gqlNotification `json:"getNotifications"`
	}
	if err := json.Unmarshal(a.Data, &data); err != nil {
		t.Fatal(err)
	}
	return data.List
}

// TestAbuseGraphQL: the GraphQL endpoint over HTTP on a running stack:
// another user's notifications can be neither listed, paged from nor marked
// read; broken tokens are UNAUTHENTICATED over HTTP and close a WebSocket
// with 4401; depth, complexity (aliases), batching, body size and page size
// are capped; hostile arguments are refused without a 5xx.
func TestAbuseGraphQL(t *testing.T) {
	st := testenv.SharedStack(t)
	alice, _ := signUp(t, st)
	bob, _ := signUp(t, st)
	var bobs []gqlNotification
	for deadline := time.Now().Add(15 * time.Second); len(bobs) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("bob's welcome notification did not arrive in 15s")
		}
		time.Sleep(100 * time.Millisecond)
		bobs = notificationsOf(t, bob)
	}
	bobsID, missingID := bobs[0].ID, uuid.NewString()

	t.Run("BOLA", func(t *testing.T) {
		for _, n := range notificationsOf(t, alice) {
			for _, b := range bobs {
				if n.ID == b.ID {
					t.Fatalf("alice lists bob's notification %s", b.ID)
				}
			}
		}
		mark := `mutation($id: ID!) { markNotificationRead(id: $id) { id read } }`
		other := gqlPost(t, alice, mark, map[string]any{"id": bobsID})
		missing := gqlPost(t, alice, mark, map[string]any{"id": missingID})
		wantGQLError(t, "mark other's notification", other, 200, "NOT_FOUND")
		if other.Errors[0].Message != missing.Errors[0].Message || other.code() != missing.code() || other.Status != missing.Status {
			t.Fatalf("other's notification %s differs from a missing one %s", other.Raw, missing.Raw)
		}
		page := `query($after: String) { getNotifications(first: 5, after: $after) { id } }`
		other = gqlPost(t, alice, page, map[string]any{"after": bobsID})
		missing = gqlPost(t, alice, page, map[string]any{"after": missingID})
		wantGQLError(t, "page after other's notification", other, 200, "NOT_FOUND")
		if other.Errors[0].Message != missing.Errors[0].Message || other.code() != missing.code() {
			t.Fatalf("paging after other's notification %s differs from a missing one %s", other.Raw, missing.Raw)
		}
		for _, n := range notificationsOf(t, bob) {
			if n.ID == bobsID && n.Read {
				t.Fatal("alice marked bob's notification read")
			}
		}
	})

	secret := []byte(st.Config.JWTSecret)
	parts := strings.Split(alice.Token, ".")
	badTokens := map[string]string{
		"Missing":        "",
		"Garbage":        "Bearer x.y.z",
		"Expired":        "Bearer " + signJWT(t, jwt.SigningMethodHS256, secret, withClaims(jwtClaims(uuid.NewString(), "customer"), "iat", time.Now().Add(-2*time.Hour).Unix(), "nbf", time.Now().Add(-2*time.Hour).Unix(), "exp", time.Now().Add(-time.Hour).Unix())),
		"WrongSignature": "Bearer " + signJWT(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-another"), jwtClaims(uuid.NewString(), "customer")),
		"AlgNone":        "Bearer " + base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".",
		"HS512":          "Bearer " + signJWT(t, jwt.SigningMethodHS512, secret, jwtClaims(uuid.NewString(), "customer")),
	}

	t.Run("BrokenAuthHTTP", func(t *testing.T) {
		anon := st.Client(t)
		for name, header := range badTokens {
			var headers []string
			if header != "" {
				headers = []string{"Authorization", header}
			}
			wantGQLError(t, name+" list", gqlPost(t, anon, `{ getNotifications { id } }`, nil, headers...), 200, "UNAUTHENTICATED")
			wantGQLError(t, name+" mark", gqlPost(t, anon, `mutation { markNotificationRead(id: "`+bobsID+`") { id } }`, nil, headers...), 200, "UNAUTHENTICATED")
		}
	})

	t.Run("BrokenAuthWebSocket", func(t *testing.T) {
		for name, header := range badTokens {
			payload := map[string]any{}
			if header != "" {
				payload["Authorization"] = header
			}
			if code := socketInitCloseCode(t, st.URL, payload); code != 4401 {
				t.Errorf("%s: socket closed with %d, want 4401", name, code)
			}
		}
	})

	t.Run("Limits", func(t *testing.T) {
		deep := `{ __type(name: "Notification") { ` + strings.Repeat("ofType { ", 20) + "name" + strings.Repeat(" }", 20) + ` } }`
		wantGQLError(t, "depth", gqlPost(t, alice, deep, nil), 422, "GRAPHQL_VALIDATION_FAILED")
		page := `getNotifications(first: 100) { id type title message amount reference accountNumber read createdAt __typename }`
		wantGQLError(t, "complexity", gqlPost(t, alice, `{ a: `+page+` b: `+page+` }`, nil), 422, "COMPLEXITY_LIMIT_EXCEEDED")
		var aliases strings.Builder
		for i := range 1200 {
			fmt.Fprintf(&aliases, "a%d: __typename ", i)
		}
		wantGQLError(t, "alias amplification", gqlPost(t, alice, "{ "+aliases.String()+"}", nil), 422, "COMPLEXITY_LIMIT_EXCEEDED")
		wantGQLError(t, "subscription over HTTP", gqlPost(t, alice, `subscription { notificationAdded { id } }`, nil), 422, "GRAPHQL_VALIDATION_FAILED")

		one := `{"query":"{ getNotifications { id } }"}`
		r := alice.Do("POST", "/graphql", "["+strings.Repeat(one+",", 99)+one+"]")
		if r.Status != 400 || !strings.Contains(string(r.Body), "VALIDATION_FAILED") {
			t.Fatalf("batch of 100: %d %s", r.Status, r.Body)
		}
		big := `{"query":"{ getNotifications { id } }","variables":{"pad":"` + strings.Repeat("x", 70<<10) + `"}}`
		if r := alice.Do("POST", "/graphql", big); r.Status != 413 {
			t.Fatalf("70 KiB operation: %d %.200s", r.Status, r.Body)
		}
		if r := postChunked(t, st, alice, "/graphql", []byte(big)); r.Status != 413 {
			t.Fatalf("70 KiB chunked operation: %d %.200s", r.Status, r.Body)
		}
		for _, first := range []int{101, 1000, 0, -1} {
			a := gqlPost(t, alice, `query($n: Int) { getNotifications(first: $n) { id } }`, map[string]any{"n": first})
			wantGQLError(t, fmt.Sprintf("first: %d", first), a, 200, "VALIDATION_FAILED")
		}
		// Beyond a GraphQL Int (32 bits): refused by the schema's coercion.
		a := gqlPost(t, alice, `{ getNotifications(first: 99999999999999999999) { id } }`, nil)
		if a.Status >= 500 || a.Status == 200 && len(a.Errors) == 0 || a.code() == "INTERNAL" {
			t.Fatalf("huge first: %d %s", a.Status, a.Raw)
		}
	})

	t.Run("HostileArguments", func(t *testing.T) {
		for _, v := range []string{"", "\u0000", "' OR 1=1 --", "\"; DROP TABLE notify.notifications; --", "../../etc/passwd",
			"\u202e" + bobsID, strings.Repeat("9", 10_000), "１２３", bobsID + "\u0000", strings.ToUpper(bobsID) + " "} {
			for _, q := range []string{
				`mutation($v: ID!) { markNotificationRead(id: $v) { id } }`,
				`query($v: String) { getNotifications(first: 5, after: $v) { id } }`,
			} {
				a := gqlPost(t, alice, q, map[string]any{"v": v})
				if a.Status >= 500 || a.code() == "INTERNAL" {
					t.Errorf("%q in %s: %d %s", v, q, a.Status, a.Raw)
				}
				if strings.HasPrefix(q, "mutation") && a.code() != "NOT_FOUND" && a.code() != "VALIDATION_FAILED" {
					t.Errorf("mark %q: %d %.300s", v, a.Status, a.Raw)
				}
			}
		}
		for _, body := range []string{`null`, `[]`, `{}`, `{"query":null}`, `{"query":1}`, `{"query":"{"}`, `{"query":"{ getNotifications { id } }","variables":[]}`,
			`{"query":"query($n: Int) { getNotifications(first: $n) { id } }","variables":{"n":"1e400"}}`, "{\"query\":\"\xff\"}",
			`{"query":"` + strings.Repeat("{", 5000) + `"}`, `{"query":"{ getNotifications { id } }","operationName":"` + strings.Repeat("x", 1000) + `"}`} {
			r := alice.Do("POST", "/graphql", body)
			if r.Status >= 500 || r.Status == 200 && !strings.Contains(string(r.Body), `"errors"`) || strings.Contains(string(r.Body), "INTERNAL") {
				t.Errorf("body %.60q: %d %.300s", body, r.Status, r.Body)
			}
		}
	})
}

// socketInitCloseCode opens a graphql-transport-ws socket, sends
// connection_init with payload and returns the close code the server ends
// it with (0 if it acknowledged instead).
func socketInitCloseCode(t *testing.T, baseURL string, payload map[string]any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(baseURL, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer func() { _ = conn.CloseNow() }()
	raw, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": payload})
	if err := conn.Write(ctx, websocket.MessageText, raw); err != nil {
		t.Fatalf("write: %v", err)
	}
	for {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			return int(websocket.CloseStatus(err))
		}
		if strings.Contains(string(msg), "connection_ack") {
			return 0
		}
	}
}
