package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/bankcore/bank/api"
	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/codec"
	"github.com/bankcore/bank/internal/token"
)

func TestCodecOrigins(t *testing.T) {
	got, err := api.CheckCodecOrigins([]string{" http://localhost:8233", "", "HTTPS://UI.Bank.Internal"})
	if err != nil || len(got) != 2 || got[0] != "http://localhost:8233" || got[1] != "https://ui.bank.internal" {
		t.Fatalf("CheckCodecOrigins = %v, %v", got, err)
	}
	for _, bad := range []string{"*", "localhost:8233", "http://localhost:8233/", "http://localhost:8233/ui",
		"ftp://localhost", "http://user@localhost:8233", "null"} {
		if _, err := api.CheckCodecOrigins([]string{bad}); err == nil {
			t.Errorf("CheckCodecOrigins accepted %q", bad)
		}
	}
}

// fakeUsers is a user store of fixed users, by id.
type fakeUsers map[string]bank.User

func (f fakeUsers) ByID(_ context.Context, id string) (bank.User, error) {
	if u, ok := f[id]; ok {
		return u, nil
	}
	return bank.User{}, bank.Errorf(bank.CodeNotFound, "no such user")
}

func (f fakeUsers) CredentialsByEmail(context.Context, string) (bank.Credentials, error) {
	return bank.Credentials{}, bank.Errorf(bank.CodeNotFound, "no such user")
}

func (f fakeUsers) ByRegistrationID(context.Context, string) (bank.Credentials, error) {
	return bank.Credentials{}, bank.Errorf(bank.CodeNotFound, "no such registration")
}

// A customer and an operator, whose ids codec tests sign tokens for.
var codecUsers = fakeUsers{
	"00000000-0000-0000-0000-000000000001": {ID: "00000000-0000-0000-0000-000000000001", Role: bank.RoleCustomer},
	"00000000-0000-0000-0000-000000000002": {ID: "00000000-0000-0000-0000-000000000002", Role: bank.RoleOperator},
}

func codecUserID(role bank.Role) string {
	if role == bank.RoleOperator {
		return "00000000-0000-0000-0000-000000000002"
	}
	return "00000000-0000-0000-0000-000000000001"
}

// TestCodecRoutesAuthAndCORS checks the codec's guard without services:
// the codec handler is a stub, and only the token issuer is real.
func TestCodecRoutesAuthAndCORS(t *testing.T) {
	tokens := token.NewIssuer([]byte("codec-unit-test-secret-codec-unit-test"), time.Minute)
	called := 0
	h := api.New(api.Deps{
		Tokens: tokens, Users: codecUsers, BcryptCost: 4, CodecOrigins: []string{"http://localhost:8233"},
		Codec: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			called++
			_, _ = w.Write([]byte(`{"payloads":[]}`))
		}),
	})
	issue := func(role bank.Role) string {
		tok, err := tokens.Issue(token.Principal{UserID: codecUserID(role), Role: role})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	do := func(method, path string, headers ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(`{"payloads":[]}`))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	for _, tc := range []struct {
		name    string
		headers []string
		status  int
	}{
		{"NoToken", nil, 401},
		{"BadToken", []string{"Authorization", "Bearer nope"}, 401},
		{"Customer", []string{"Authorization", "Bearer " + issue(bank.RoleCustomer)}, 403},
		{"CustomerCookie", []string{"Cookie", api.CodecCookie + "=" + issue(bank.RoleCustomer)}, 403},
		{"Operator", []string{"Authorization", "Bearer " + issue(bank.RoleOperator)}, 200},
		{"OperatorCookie", []string{"Cookie", api.CodecCookie + "=" + issue(bank.RoleOperator), "Origin", "http://localhost:8233"}, 200},
		{"OtherOrigin", []string{"Authorization", "Bearer " + issue(bank.RoleOperator), "Origin", "http://evil.example"}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := called
			rec := do("POST", "/codec/decode", tc.headers...)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status != 200 && (called != before || rec.Header().Get("Content-Type") != "application/problem+json") {
				t.Fatalf("refused request reached the codec or is not problem+json: %v", rec.Header())
			}
			if tc.status == 200 && called != before+1 {
				t.Fatal("the codec was not called")
			}
		})
	}

	pre := do("OPTIONS", "/codec/encode", "Origin", "http://localhost:8233", "Access-Control-Request-Method", "POST")
	if pre.Code != 204 || pre.Header().Get("Access-Control-Allow-Origin") != "http://localhost:8233" ||
		pre.Header().Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("preflight = %d %v", pre.Code, pre.Header())
	}
	if pre := do("OPTIONS", "/codec/encode", "Origin", "http://evil.example", "Access-Control-Request-Method", "POST"); pre.Code != 403 || pre.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another origin = %d %v", pre.Code, pre.Header())
	}
}

// Issue 15, finding 6: /codec/decode took a 4 MB body and a text/plain one,
// and answered a bad body with a text/plain protobuf error. Every refusal
// is now bounded and problem+json, and nothing but Temporal's
// {"payloads":[...]} reaches the codec.
func TestCodecEndpointBounds(t *testing.T) {
	tokens := token.NewIssuer([]byte("codec-unit-test-secret-codec-unit-test"), time.Minute)
	keys, err := codec.ParseKeyring("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	h := api.New(api.Deps{Tokens: tokens, Users: codecUsers, BcryptCost: 4, Codec: codec.Handler(keys)})
	op, err := tokens.Issue(token.Principal{UserID: codecUserID(bank.RoleOperator), Role: bank.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	post := func(contentType string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/codec/decode", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+op)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	want := func(name string, rec *httptest.ResponseRecorder, status int, code string) {
		t.Helper()
		var p api.Problem
		if rec.Code != status || rec.Header().Get("Content-Type") != "application/problem+json" ||
			json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Code != code {
			t.Errorf("%s: %d %q %.200s, want %d problem+json %s", name, rec.Code, rec.Header().Get("Content-Type"), rec.Body, status, code)
		}
	}

	sealedElsewhere, err := codec.NewDataConverter(mustKeyring(t, "k9:"+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)))).
		ToPayload(sensitive{X: "y"})
	if err != nil {
		t.Fatal(err)
	}
	sealedJSON, _ := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{sealedElsewhere}})

	big := []byte(`{"payloads":[{"data":"` + strings.Repeat("A", 4<<20) + `"}]}`)
	want("4 MB body", post("application/json", big), 413, "BODY_TOO_LARGE")
	want("text/plain", post("text/plain", []byte(`{"payloads":[]}`)), 415, "UNSUPPORTED_MEDIA_TYPE")
	want("no content type", post("", []byte(`{"payloads":[]}`)), 415, "UNSUPPORTED_MEDIA_TYPE")
	want("not JSON", post("application/json", []byte(`payloads please`)), 400, "VALIDATION_FAILED")
	want("not payloads", post("application/json", []byte(`{"payloads":"x"}`)), 400, "VALIDATION_FAILED")
	unknownKey := post("application/json", sealedJSON)
	want("unknown key", unknownKey, 400, "VALIDATION_FAILED")
	if !strings.Contains(unknownKey.Body.String(), "k9") || strings.Contains(unknownKey.Body.String(), `"y"`) {
		t.Errorf("unknown key: detail %s should name the key id and no plaintext", unknownKey.Body)
	}
	if rec := post("application/json", []byte(`{"payloads":[]}`)); rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Errorf("a good request: %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
}

// sensitive is sealed by the data converter, as PII payloads are.
type sensitive struct{ X string }

func (sensitive) SensitivePayload() {}

func mustKeyring(t *testing.T, s string) *codec.Keyring {
	t.Helper()
	k, err := codec.ParseKeyring(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
