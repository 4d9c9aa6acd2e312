package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/bankcore/bank/bank"
)

// decodeTargets are the request bodies the API decodes, by fuzz selector.
var decodeTargets = []func() any{
	func() any { return new(registerRequest) },
	func() any { return new(transferRequest) },
	func() any { return new(depositRequest) },
	func() any { return new(tierRequest) },
	func() any { return new(loginRequest) },
}

// FuzzDecodeJSON feeds arbitrary bodies to decodeJSON for every request
// type. Whatever the body, decodeJSON must not panic, every refusal must be
// a *bank.Error whose code maps to a 4xx, and an accepted body must be one
// valid JSON object whose decoded value survives a round trip unchanged.
// The seed corpus is in testdata/fuzz/FuzzDecodeJSON.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"email":"a@b.co","password":"0123456789","full_name":"Ada","phone":"08031234567","kyc":{"type":"NIN","number":"12345678901"}}`,
		`{"reference":"r-1","from_account":"1234567890","to_account":"2345678901","amount":"10.00","currency":"NGN","narration":"x"}`,
		`{"reference":"dep-1","amount":"1500","narration":"funding"}`,
		`{"tier":"TIER_2","kyc":{"type":"BVN","number":"12345678901"}}`,
		`{"email":"a@b.co","password":"x"}`,
		`{"amount":null,"currency":null}`,
		`{"role":"operator"}`,
		`{"email":"a","email":"b"}`,
		`{"kyc":{"type":"NIN","type":"BVN"}}`,
		`{"amount":1500}`,
		`{"amount":"1e400"}`,
		`{"kyc":[]}`,
		`{"kyc":"NIN"}`,
		`[]`,
		`null`,
		`{}{}`,
		`{} `,
		`{"narration":"\u202e\u200d\u0000"}`,
		"{\"narration\":\"\xff\xfe\"}",
		`{"a":{"b":{"c":[[[[{}]]]]}}}`,
		`{`,
		``,
		`"just a string"`,
		`{"email":"a@b.co"} trailing`,
	} {
		for i := range decodeTargets {
			f.Add(uint8(i), []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		newDst := decodeTargets[int(which)%len(decodeTargets)]
		dst := newDst()
		err := decodeBody(body, dst)
		if err != nil {
			var be *bank.Error
			if !errors.As(err, &be) {
				t.Fatalf("decodeJSON(%q) = %T %v, want a *bank.Error", body, err, err)
			}
			status, ok := statusOf[be.Code]
			if !ok || status < 400 || status >= 500 {
				t.Fatalf("decodeJSON(%q) = %v: code %q maps to status %d, want a 4xx", body, err, be.Code, status)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("decodeJSON accepted invalid JSON %q", body)
		}
		if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
			t.Fatalf("decodeJSON accepted %q, which is not a JSON object", body)
		}
		again, err := json.Marshal(dst)
		if err != nil {
			t.Fatalf("marshal %#v: %v", dst, err)
		}
		back := newDst()
		if err := decodeBody(again, back); err != nil {
			t.Fatalf("decodeJSON(%q) accepted, but its re-encoding %s is refused: %v", body, again, err)
		}
		if !reflect.DeepEqual(dst, back) {
			t.Fatalf("round trip of %q changed the value: %#v != %#v", body, dst, back)
		}
	})
}

// decodeBody runs decodeJSON on body as a POST with a JSON content type.
func decodeBody(body []byte, dst any) error {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return decodeJSON(httptest.NewRecorder(), r, dst)
}

// TestDecodeJSONRefusals pins the answers the fuzz target only bounds.
func TestDecodeJSONRefusals(t *testing.T) {
	for name, tc := range map[string]struct {
		body, contentType string
		code              bank.Code
	}{
		"WrongContentType": {`{}`, "text/plain", bank.CodeUnsupportedMedia},
		"NoContentType":    {`{}`, "", bank.CodeUnsupportedMedia},
		"TooLarge":         {`{"narration":"` + string(bytes.Repeat([]byte("a"), MaxBodyBytes)) + `"}`, "application/json", bank.CodeBodyTooLarge},
		"Unknown":          {`{"role":"operator"}`, "application/json", bank.CodeValidation},
		"Duplicate":        {`{"reference":"a","reference":"b"}`, "application/json", bank.CodeValidation},
		"DuplicateCase":    {`{"amount":"1.00","AMOUNT":"1000000.00"}`, "application/json", bank.CodeValidation},
		"DuplicateKelvin":  {`{"kyc":{},"\u212ayc":{}}`, "application/json", bank.CodeValidation},
		"InvalidUTF8":      {"{\"narration\":\"\xc0\xaf\"}", "application/json", bank.CodeValidation},
		"OtherCaseAlone":   {`{"AMOUNT":"1.00"}`, "application/json", ""},
		"Array":            {`[]`, "application/json", bank.CodeValidation},
		"Null":             {`null`, "application/json", bank.CodeValidation},
		"Trailing":         {`{}{}`, "application/json", bank.CodeValidation},
		"Number":           {`{"amount":1500}`, "application/json", bank.CodeValidation},
		"Deep":             {string(bytes.Repeat([]byte("["), 10_000)), "application/json", bank.CodeValidation},
		"CharsetIsFine":    {`{}`, "application/json; charset=utf-8", ""},
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader([]byte(tc.body)))
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			err := decodeJSON(httptest.NewRecorder(), r, new(transferRequest))
			if got := bank.ErrorCode(err); got != tc.code {
				t.Fatalf("decodeJSON = %v (code %q), want code %q", err, got, tc.code)
			}
		})
	}
}
