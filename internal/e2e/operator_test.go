package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/bankcore/bank/api"
	"github.com/bankcore/bank/internal/codec"
	"github.com/bankcore/bank/internal/postgres"
	"github.com/bankcore/bank/internal/testenv"
	"github.com/bankcore/bank/workflows"
)

// The operator's view: the codec server behind operator auth, PII-free
// history, visibility by search attribute, and /metrics.

const uiOrigin = "http://localhost:8233" // a default BANK_CODEC_CORS_ORIGINS entry

// opTransfer posts a transfer with the key in the Idempotency-Key header.
func opTransfer(c *testenv.Client, key, from, to, amount string) testenv.Response {
	return c.Do("POST", "/transfers", map[string]any{
		"from_account": from, "to_account": to, "amount": amount, "currency": "NGN", "narration": "operator test",
	}, "Idempotency-Key", key)
}

// history reads a workflow's whole history: the events, their raw protobuf
// bytes (payload data verbatim, as the server stores it) and their text
// forms (protojson and prototext, where failure messages are readable).
func rawHistory(t *testing.T, st *testenv.Stack, wfID string) ([]*historypb.HistoryEvent, []byte, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// A transfer is answered as soon as money moved, a moment before its
	// workflow closes: read the whole history. A refused transfer's
	// workflow fails; only the wait matters here, not its result.
	_ = st.App.Temporal().GetWorkflow(ctx, wfID, "").Get(ctx, nil)
	iter := st.App.Temporal().GetWorkflowHistory(ctx, wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	var raw []byte
	var text strings.Builder
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", wfID, err)
		}
		b, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
		raw = append(raw, b...)
		text.WriteString(protojson.Format(ev))
		text.WriteString(ev.String())
	}
	if len(events) == 0 {
		t.Fatalf("no history for %s", wfID)
	}
	return events, raw, text.String()
}

// registrationInput is the sealed input payload of a registration.
func registrationInput(t *testing.T, st *testenv.Stack, email string) *commonpb.Payload {
	t.Helper()
	events, _, _ := rawHistory(t, st, workflows.RegistrationID(email))
	in := events[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	if len(in) != 1 {
		t.Fatalf("registration input has %d payloads", len(in))
	}
	if enc := string(in[0].GetMetadata()[converter.MetadataEncoding]); enc != codec.MetadataEncodingEncrypted {
		t.Fatalf("registration input is %s, want %s", enc, codec.MetadataEncodingEncrypted)
	}
	return in[0]
}

func payloadsJSON(t *testing.T, ps ...*commonpb.Payload) []byte {
	t.Helper()
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodePayloads(t *testing.T, r testenv.Response) []*commonpb.Payload {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("codec = %d %s", r.Status, r.Body)
	}
	var out commonpb.Payloads
	if err := protojson.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("codec answer is not Payloads: %v: %s", err, r.Body)
	}
	return out.GetPayloads()
}

// codecSignIn posts the sign-in form and returns the answer and the cookie
// it set (nil when none).
func codecSignIn(t *testing.T, c *testenv.Client, email, password string, headers ...string) (testenv.Response, *http.Cookie) {
	t.Helper()
	form := "email=" + strings.ReplaceAll(email, "+", "%2B") + "&password=" + password
	r := c.Do("POST", "/codec/login", form, append([]string{"Content-Type", "application/x-www-form-urlencoded"}, headers...)...)
	for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
		if ck.Name == api.CodecCookie {
			return r, ck
		}
	}
	return r, nil
}

func TestCodecEndpointRequiresAnOperator(t *testing.T) {
	st := testenv.SharedStack(t)
	customer, _ := signUp(t, st)
	reg := newRegistration()
	if r := st.Client(t).Do("POST", "/auth/register", reg); r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	sealed := payloadsJSON(t, registrationInput(t, st, reg.Email))
	op := operator(t, st)
	anon := st.Client(t)

	t.Run("NoToken401", func(t *testing.T) {
		for _, path := range []string{"/codec/decode", "/codec/encode"} {
			r := anon.Do("POST", path, sealed)
			wantProblem(t, r, 401, "UNAUTHENTICATED")
			if r.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: 401 without WWW-Authenticate", path)
			}
			if bytes.Contains(r.Body, []byte(reg.Email)) {
				t.Errorf("%s: 401 body leaks the payload", path)
			}
		}
		wantProblem(t, anon.Do("POST", "/codec/decode", sealed, "Authorization", "Bearer not-a-token"), 401, "UNAUTHENTICATED")
		wantProblem(t, anon.Do("POST", "/codec/decode", sealed, "Cookie", api.CodecCookie+"=not-a-token"), 401, "UNAUTHENTICATED")
	})

	t.Run("Customer403", func(t *testing.T) {
		for _, path := range []string{"/codec/decode", "/codec/encode"} {
			wantProblem(t, customer.Do("POST", path, sealed), 403, "FORBIDDEN")
		}
		// A customer's token in the cookie is still a customer.
		r := anon.Do("POST", "/codec/decode", sealed, "Cookie", api.CodecCookie+"="+customer.Token)
		wantProblem(t, r, 403, "FORBIDDEN")
	})

	t.Run("OperatorBearerDecodes", func(t *testing.T) {
		out := decodePayloads(t, op.Do("POST", "/codec/decode", sealed, "X-Namespace", st.Config.TemporalNamespace))
		if len(out) != 1 || string(out[0].GetMetadata()[converter.MetadataEncoding]) != converter.MetadataEncodingJSON {
			t.Fatalf("decoded = %v", out)
		}
		var in workflows.RegistrationInput
		if err := json.Unmarshal(out[0].GetData(), &in); err != nil {
			t.Fatal(err)
		}
		if in.Email != reg.Email || in.FullName != reg.FullName || in.KYC.Number != reg.KYC.Number {
			t.Fatalf("decoded registration = %+v, want the customer's email, name and KYC number", in)
		}

		// Encode seals operator input (a signal from the UI, say).
		plain, _ := converter.GetDefaultDataConverter().ToPayload(map[string]string{"note": "from the UI"})
		enc := decodePayloads(t, op.Do("POST", "/codec/encode", payloadsJSON(t, plain)))
		if len(enc) != 1 || string(enc[0].GetMetadata()[converter.MetadataEncoding]) != codec.MetadataEncodingEncrypted ||
			bytes.Contains(enc[0].GetData(), []byte("from the UI")) {
			t.Fatalf("encoded = %v", enc)
		}
		back := decodePayloads(t, op.Do("POST", "/codec/decode", payloadsJSON(t, enc...)))
		if !bytes.Equal(back[0].GetData(), plain.GetData()) {
			t.Fatalf("round trip = %s, want %s", back[0].GetData(), plain.GetData())
		}
	})

	t.Run("Preflight", func(t *testing.T) {
		r := anon.Do("OPTIONS", "/codec/decode", nil, "Origin", uiOrigin,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,x-namespace")
		if r.Status != 204 {
			t.Fatalf("preflight = %d %s", r.Status, r.Body)
		}
		h := r.Header
		if h.Get("Access-Control-Allow-Origin") != uiOrigin || h.Get("Access-Control-Allow-Credentials") != "true" {
			t.Fatalf("preflight headers = %v", h)
		}
		allowed := strings.ToLower(h.Get("Access-Control-Allow-Headers"))
		for _, want := range []string{"content-type", "x-namespace", "authorization"} {
			if !strings.Contains(allowed, want) {
				t.Errorf("Access-Control-Allow-Headers %q lacks %s", allowed, want)
			}
		}
		if !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") || !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
			t.Errorf("preflight headers = %v", h)
		}

		// Any other origin: no CORS headers, and never "*".
		r = anon.Do("OPTIONS", "/codec/decode", nil, "Origin", "http://evil.example",
			"Access-Control-Request-Method", "POST")
		if r.Status != 403 || r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("preflight from another origin = %d %v", r.Status, r.Header)
		}
		r = op.Do("POST", "/codec/decode", sealed, "Origin", "http://evil.example")
		wantProblem(t, r, 403, "FORBIDDEN")
		if r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("answer to another origin carries CORS headers: %v", r.Header)
		}
	})

	t.Run("SignInCookie", func(t *testing.T) {
		page := anon.Do("GET", "/codec/login", nil)
		if page.Status != 200 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(page.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			!bytes.Contains(page.Body, []byte(`name="password"`)) {
			t.Fatalf("GET /codec/login = %d %v", page.Status, page.Header)
		}

		// Customers and wrong passwords get no cookie.
		var custReg = newRegistration()
		if r := st.Client(t).Do("POST", "/auth/register", custReg); r.Status != 201 {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		if r, ck := codecSignIn(t, st.Client(t), custReg.Email, custReg.Password); r.Status != 403 || ck != nil {
			t.Fatalf("customer sign-in = %d, cookie %v", r.Status, ck)
		}
		opEmail, opPassword := newOperator(t, st)
		if r, ck := codecSignIn(t, st.Client(t), opEmail, opPassword+"x"); r.Status != 401 || ck != nil {
			t.Fatalf("wrong password = %d, cookie %v", r.Status, ck)
		}
		// A form posted from another site is refused (login CSRF).
		if r, ck := codecSignIn(t, st.Client(t), opEmail, opPassword, "Origin", "http://evil.example"); r.Status != 403 || ck != nil {
			t.Fatalf("cross-site sign-in = %d, cookie %v", r.Status, ck)
		}

		r, ck := codecSignIn(t, st.Client(t), opEmail, opPassword, "Origin", st.URL)
		if r.Status != 200 || ck == nil {
			t.Fatalf("operator sign-in = %d, cookie %v: %s", r.Status, ck, r.Body)
		}
		if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/codec" || ck.MaxAge <= 0 {
			t.Fatalf("cookie = %+v, want HttpOnly, SameSite=Strict, Path=/codec, Max-Age", ck)
		}

		// What the Web UI sends: the cookie, its origin, no Authorization.
		ui := st.Client(t)
		r = ui.Do("POST", "/codec/decode", sealed, "Origin", uiOrigin, "X-Namespace", "default",
			"Cookie", ck.Name+"="+ck.Value)
		out := decodePayloads(t, r)
		if !bytes.Contains(out[0].GetData(), []byte(reg.Email)) {
			t.Fatalf("cookie decode = %s", out[0].GetData())
		}
		if r.Header.Get("Access-Control-Allow-Origin") != uiOrigin || r.Header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Fatalf("decode answer CORS headers = %v", r.Header)
		}
		// The cookie authenticates nothing but the codec.
		wantProblem(t, ui.Do("GET", "/me", nil, "Cookie", ck.Name+"="+ck.Value), 401, "UNAUTHENTICATED")

		out2, cleared := codecSignOut(t, ui)
		if out2.Status != 200 || cleared == nil || cleared.MaxAge >= 0 {
			t.Fatalf("sign-out = %d, cookie %+v", out2.Status, cleared)
		}
	})
}

func codecSignOut(t *testing.T, c *testenv.Client) (testenv.Response, *http.Cookie) {
	t.Helper()
	r := c.Do("POST", "/codec/logout", "", "Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
		if ck.Name == api.CodecCookie {
			return r, ck
		}
	}
	return r, nil
}

// newOperator creates an operator, as `bank operator create` does, and
// returns its credentials for the sign-in form.
func newOperator(t *testing.T, st *testenv.Stack) (email, password string) {
	t.Helper()
	email = "codec-op-" + testenv.Suffix() + "@bank.local"
	password = "codec-op-password-" + testenv.Suffix()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := postgres.Connect(ctx, st.Config.DatabaseURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if created, err := postgres.NewUsers(pool).EnsureOperator(ctx, email, "Codec Operator", string(hash)); err != nil || !created {
		t.Fatalf("ensure operator: created=%v err=%v", created, err)
	}
	return email, password
}

func TestOperatorHistoryHoldsNoPII(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	regA, regB := newRegistration(), newRegistration()
	alice := st.Client(t)
	var a, b registered
	for _, x := range []struct {
		reg registration
		out *registered
	}{{regA, &a}, {regB, &b}} {
		r := st.Client(t).Do("POST", "/auth/register", x.reg)
		if r.Status != 201 {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		r.Decode(t, x.out)
	}
	alice.Token = login(t, alice, regA.Email, regA.Password)
	deposit(t, op, a.Account.AccountNumber, "100")
	ref := "REF-" + testenv.Suffix()
	wantTransfer(t, opTransfer(alice, ref, a.Account.AccountNumber, b.Account.AccountNumber, "12.34"), 201)

	pii := map[string]string{}
	for who, reg := range map[string]registration{"alice": regA, "bob": regB} {
		var hash string
		queryRow(t, st, `SELECT password_hash FROM auth.users WHERE email = $1`, []any{reg.Email}, &hash)
		for what, v := range map[string]string{
			"email": reg.Email, "full name": reg.FullName, "KYC number": reg.KYC.Number,
			"password": reg.Password, "password hash": hash,
			"phone": reg.Phone[1:], // 803…: in both the local and the E.164 spelling
		} {
			pii[who+"'s "+what] = v
		}
	}

	for _, tc := range []struct {
		name, wfID string
		readable   []string // non-PII that must stay readable: proves the search sees payload bytes
	}{
		{"registration", workflows.RegistrationID(regA.Email), []string{a.Account.AccountNumber}},
		{"registration", workflows.RegistrationID(regB.Email), []string{b.Account.AccountNumber}},
		{"transfer", workflows.TransferID(a.User.ID, ref), []string{ref, a.Account.AccountNumber, b.Account.AccountNumber, "1234"}},
	} {
		_, raw, text := rawHistory(t, st, tc.wfID)
		for what, v := range pii {
			if bytes.Contains(raw, []byte(v)) || strings.Contains(text, v) {
				t.Errorf("%s history %s contains %s in clear", tc.name, tc.wfID, what)
			}
		}
		for _, v := range tc.readable {
			if !bytes.Contains(raw, []byte(v)) {
				t.Errorf("%s history %s does not show %q: non-PII must stay readable", tc.name, tc.wfID, v)
			}
		}
		if tc.name == "registration" && !bytes.Contains(raw, []byte(codec.MetadataEncodingEncrypted)) {
			t.Errorf("registration history %s has no %s payload", tc.wfID, codec.MetadataEncodingEncrypted)
		}
	}
}

func TestVisibilityFindsTransferByReference(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	alice, a := signUp(t, st)
	_, b := signUp(t, st)
	deposit(t, op, a.Account.AccountNumber, "50")
	ref := "REF-" + testenv.Suffix()
	tr := wantTransfer(t, opTransfer(alice, ref, a.Account.AccountNumber, b.Account.AccountNumber, "5.00"), 201)

	// What an operator types in the Web UI's search box.
	query := fmt.Sprintf(`BankReference = %q`, ref)
	// Visibility is eventually consistent, and the workflow may still be
	// publishing its event when the API has answered.
	var found []string
	var status enumspb.WorkflowExecutionStatus
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := st.App.Temporal().ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: st.Config.TemporalNamespace, Query: query,
		})
		cancel()
		if err != nil {
			t.Fatalf("list %s: %v", query, err)
		}
		found = found[:0]
		for _, ex := range resp.GetExecutions() {
			found = append(found, ex.GetExecution().GetWorkflowId())
			status = ex.GetStatus()
			if ex.GetType().GetName() != "Transfer" {
				t.Fatalf("found %s of type %s", ex.GetExecution().GetWorkflowId(), ex.GetType().GetName())
			}
		}
		done := len(found) > 0 && status == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
		if done || time.Now().After(deadline) {
			break
		}
	}
	want := workflows.TransferID(a.User.ID, ref)
	if len(found) != 1 || found[0] != want || status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("%s found %v (status %v), want [%s] completed (transfer %s)", query, found, status, want, tr.ID)
	}

	// The other attributes narrow the same search.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := st.App.Temporal().ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: st.Config.TemporalNamespace,
		Query: fmt.Sprintf(`BankReference = %q AND BankFromAccount = %q AND BankToAccount = %q AND BankUserID = %q`,
			ref, a.Account.AccountNumber, b.Account.AccountNumber, a.User.ID),
	})
	if err != nil || len(resp.GetExecutions()) != 1 {
		t.Fatalf("search by all attributes: %v, %d found", err, len(resp.GetExecutions()))
	}
}

func TestMetricsOnAPIAndWorkers(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	alice, a := signUp(t, st)
	_, b := signUp(t, st)
	from, to := a.Account.AccountNumber, b.Account.AccountNumber
	deposit(t, op, from, "20")
	key := "met-" + testenv.Suffix()
	wantTransfer(t, opTransfer(alice, key, from, to, "1.00"), 201)
	if r := opTransfer(alice, key, from, to, "1.00"); r.Status != 200 {
		t.Fatalf("replay = %d %s", r.Status, r.Body)
	}
	wantProblem(t, opTransfer(alice, "met-"+testenv.Suffix(), from, to, "1000.00"), 422, "INSUFFICIENT_FUNDS")

	scrape := func(url string) string {
		t.Helper()
		resp, err := http.Get(url) // #nosec G107 -- the test stack's own listener
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("GET %s = %d %q", url, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return string(body)
	}
	atLeast := func(body, name string, labels map[string]string, least float64) bool {
		v, ok := sample(body, name, labels)
		return ok && v >= least
	}

	wants := []struct {
		name   string
		labels map[string]string
	}{
		{"bank_http_request_duration_seconds_count", map[string]string{"route": "/transfers", "method": "POST", "status": "201"}},
		{"bank_http_request_duration_seconds_count", map[string]string{"route": "/accounts/{number}/deposits", "method": "POST", "status": "201"}},
		{"bank_http_request_duration_seconds_count", map[string]string{"route": "/transfers", "method": "POST", "status": "422"}},
		{"bank_transfers_total", map[string]string{"kind": "transfer", "outcome": "COMPLETED"}},
		{"bank_transfers_total", map[string]string{"kind": "transfer", "outcome": "REPLAYED"}},
		{"bank_transfers_total", map[string]string{"kind": "transfer", "outcome": "INSUFFICIENT_FUNDS"}},
		{"bank_transfers_total", map[string]string{"kind": "deposit", "outcome": "COMPLETED"}},
		// Stored by the notifier a moment after the transfer.
		{"bank_notifier_lag_seconds_count", map[string]string{"type": "transfer_completed"}},
		// The SDK's own: client calls, and the transfers worker's tasks.
		{"temporal_request_total", map[string]string{"operation": "StartWorkflowExecution"}},
		{"temporal_workflow_completed_total", map[string]string{"workflow_type": "Transfer", "task_queue": workflows.QueueTransfers}},
		{"temporal_workflow_task_execution_latency_seconds_count", map[string]string{"workflow_type": "Transfer"}},
		{"temporal_worker_task_slots_available", map[string]string{"task_queue": workflows.QueueTransfers}},
	}
	// The API's metrics are served with the workers' on METRICS_ADDR, the
	// internal port (issue 15): the public port answers 404.
	wantProblem(t, st.Client(t).Do("GET", "/metrics", nil), 404, "NOT_FOUND")
	for _, src := range []struct{ name, url string }{{"METRICS_ADDR", st.MetricsURL}} {
		var body string
		var missing []string
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(250 * time.Millisecond) {
			body, missing = scrape(src.url), nil
			for _, w := range wants {
				if !atLeast(body, w.name, w.labels, 1) {
					missing = append(missing, fmt.Sprintf("%s%v", w.name, w.labels))
				}
			}
			if len(missing) == 0 || time.Now().After(deadline) {
				break
			}
		}
		for _, m := range missing {
			t.Errorf("%s /metrics lacks %s", src.name, m)
		}
		// Route patterns, not paths: no account number or key is a label.
		for _, secret := range []string{from, to, key, a.User.ID} {
			if strings.Contains(body, secret) {
				t.Errorf("%s /metrics contains %q", src.name, secret)
			}
		}
	}
	// Profiles are opt-in (BANK_PPROF), and the shared stack has not opted in.
	for _, path := range []string{"/other", "/debug/pprof/", "/debug/pprof/profile?seconds=1"} {
		resp, err := http.Get(strings.TrimSuffix(st.MetricsURL, "/metrics") + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("metrics listener GET %s = %d, want 404", path, resp.StatusCode)
		}
	}
}

// TestPprofOptIn: with BANK_PPROF=true the internal metrics listener serves
// CPU profiles, which is how docs/BENCHMARKS.md profiles the bank under load.
func TestPprofOptIn(t *testing.T) {
	st := testenv.NewStack(t, testenv.StackOptions{Env: map[string]string{"BANK_PPROF": "true"}})
	resp, err := http.Get(strings.TrimSuffix(st.MetricsURL, "/metrics") + "/debug/pprof/profile?seconds=1")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	// A CPU profile is a gzipped protobuf.
	if resp.StatusCode != 200 || len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		t.Fatalf("GET /debug/pprof/profile = %d, %d bytes, want a gzipped profile", resp.StatusCode, len(body))
	}
}

// sample finds the value of the first series of name whose labels include
// want, in the Prometheus text format.
func sample(body, name string, want map[string]string) (float64, bool) {
	for _, line := range strings.Split(body, "\n") {
		if line == "" || line[0] == '#' || !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		labels := map[string]string{}
		if strings.HasPrefix(rest, "{") {
			end := strings.LastIndex(rest, "}")
			if end < 0 {
				continue
			}
			labels = parseLabels(rest[1:end])
			rest = rest[end+1:]
		}
		if !strings.HasPrefix(rest, " ") {
			continue // a longer name with this prefix
		}
		match := true
		for k, v := range want {
			if labels[k] != v {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		fields := strings.Fields(rest)
		v, err := strconv.ParseFloat(fields[0], 64)
		return v, err == nil
	}
	return 0, false
}

func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for s != "" {
		eq := strings.Index(s, `="`)
		if eq < 0 {
			break
		}
		key := strings.TrimLeft(s[:eq], ",")
		s = s[eq+2:]
		var val strings.Builder
		i := 0
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			val.WriteByte(s[i])
		}
		out[key] = val.String()
		if i >= len(s) {
			break
		}
		s = s[i+1:]
	}
	return out
}
