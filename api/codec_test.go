package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bankcore/bank/api"
	"github.com/bankcore/bank/bank"
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

// TestCodecRoutesAuthAndCORS checks the codec's guard without services:
// the codec handler is a stub, and only the token issuer is real.
func TestCodecRoutesAuthAndCORS(t *testing.T) {
	tokens := token.NewIssuer([]byte("codec-unit-test-secret-codec-unit-test"), time.Minute)
	called := 0
	h := api.New(api.Deps{
		Tokens: tokens, BcryptCost: 4, CodecOrigins: []string{"http://localhost:8233"},
		Codec: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			called++
			_, _ = w.Write([]byte(`{"payloads":[]}`))
		}),
	})
	issue := func(role bank.Role) string {
		tok, err := tokens.Issue(token.Principal{UserID: "00000000-0000-0000-0000-000000000001", Role: role})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	do := func(method, path string, headers ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(`{"payloads":[]}`))
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
