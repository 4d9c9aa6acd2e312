package strictjson

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bankcore/bank/bank"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		refused    bool
	}{
		{"Plain", `{"narration":"lunch","n":[1,{"a":"b"}]}`, false},
		{"Pair", `{"narration":"\ud83d\ude00"}`, false},
		{"PairUpper", `{"narration":"\uD83D\uDE00"}`, false},
		{"EscapedBackslash", `{"narration":"\\ud800"}`, false},
		{"OtherEscapes", `{"narration":"a\"b\\c\/d\n\u00e9\u0041"}`, false},
		{"RawEmoji", `{"narration":"😀"}`, false},
		// Issue 15, finding 6: stored as U+FFFD, which the UTF-8 guard
		// exists to prevent.
		{"LoneHigh", `{"narration":"\ud800"}`, true},
		{"LoneHighUpper", `{"full_name":"Ada \uD800 Obi"}`, true},
		{"LoneLow", `{"narration":"\udc00"}`, true},
		{"HighThenText", `{"narration":"\ud83dx"}`, true},
		{"HighThenNotLow", `{"narration":"\ud83d\u0041"}`, true},
		{"HighThenHigh", `{"narration":"\ud83d\ud83d\ude00"}`, true},
		{"HighAtEnd", `{"narration":"\ud83d"}`, true},
		{"InKey", `{"\udfff":"x"}`, true},
		{"InGraphQLQuery", `{"query":"{ getNotifications(after: \"\ud800\") { id } }"}`, true},
		{"InvalidUTF8", "{\"narration\":\"\xc0\xaf\"}", true},
		{"Duplicate", `{"query":"{ a }","query":"{ b }"}`, true},
		{"DuplicateCase", `{"query":"{ a }","Query":"{ b }"}`, true},
		{"DuplicateNested", `{"variables":{"n":1,"N":2}}`, true},
		{"SameKeyInSiblings", `{"a":{"k":1},"b":{"k":2}}`, false},
		{"SyntaxErrorIsNotOurs", `{"a":`, false},
		{"TruncatedEscapeIsNotOurs", `{"a":"\u12`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check([]byte(tc.body))
			if (err != nil) != tc.refused {
				t.Fatalf("Check(%s) = %v, refused want %v", tc.body, err, tc.refused)
			}
			if err != nil && bank.ErrorCode(err) != bank.CodeValidation {
				t.Fatalf("Check(%s) = %v, want VALIDATION_FAILED", tc.body, err)
			}
			// What Check lets through, encoding/json reads without
			// replacing anything: no U+FFFD appears that was not sent.
			var v any
			if err == nil && json.Valid([]byte(tc.body)) {
				if json.Unmarshal([]byte(tc.body), &v) != nil {
					t.Fatal("valid JSON did not decode")
				}
				if b, _ := json.Marshal(v); containsFFFD(string(b)) {
					t.Errorf("Check let through %s, which decodes to U+FFFD", tc.body)
				}
			}
		})
	}
}

func containsFFFD(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' {
			return true
		}
	}
	return false
}

// FuzzCheck: whatever Check lets through decodes without U+FFFD appearing
// where the body had none, and Check never panics.
func FuzzCheck(f *testing.F) {
	for _, seed := range []string{`{"a":"\ud800"}`, `{"a":"\ud83d\ude00"}`, `{"a":"\\ud800"}`, `{"a":1,"A":2}`, "{\"a\":\"\xff\"}", `"\u`,
		strings.Repeat("1", 320)} { // a number no float64 holds
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if Check(body) != nil || !json.Valid(body) || containsFFFD(string(body)) ||
			bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`)) {
			return // refused, or U+FFFD was sent on purpose
		}
		// UseNumber: a valid number too large for a float64 (the fuzzer
		// finds 300 digits of 1s) is still valid JSON, and the question here
		// is U+FFFD, not float range.
		var v any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("valid JSON %q did not decode: %v", body, err)
		}
		if b, _ := json.Marshal(v); containsFFFD(string(b)) {
			t.Fatalf("Check let through %q, which decodes to U+FFFD", body)
		}
	})
}
