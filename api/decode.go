package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bankcore/bank/bank"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

// decodeJSON reads exactly one JSON object into dst. It refuses a wrong
// content type (415), a body over 64 KiB (413), unknown fields, duplicate
// keys, trailing data and type mismatches (400): whatever the client sent,
// the answer is a 4xx and nothing is written.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return bank.Errorf(bank.CodeUnsupportedMedia, "Content-Type must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return bank.Errorf(bank.CodeBodyTooLarge, "request body must not exceed %d bytes", MaxBodyBytes)
		}
		return bank.Errorf(bank.CodeValidation, "could not read the request body")
	}
	// RFC 8259: JSON is UTF-8. encoding/json would quietly turn bad bytes
	// into U+FFFD and store them.
	if !utf8.Valid(body) {
		return bank.Errorf(bank.CodeValidation, "request body must be UTF-8")
	}
	if err := checkDuplicateKeys(body); err != nil {
		return err
	}
	// encoding/json takes a bare null for a struct and leaves dst as it
	// was; the body must be an object.
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] != '{' {
		return bank.Errorf(bank.CodeValidation, "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return bank.Errorf(bank.CodeValidation, "request body must be a single JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return bank.Errorf(bank.CodeValidation, "request body must be a single JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return bank.Errorf(bank.CodeValidation, "request body is not valid JSON")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return bank.Errorf(bank.CodeValidation, "request body must be a JSON object")
		}
		return bank.Invalid(typ.Field, "must be a JSON %s", jsonKind(typ.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return bank.Invalid(field, "unknown field")
	}
	return bank.Errorf(bank.CodeValidation, "request body is not valid JSON")
}

func jsonKind(k string) string {
	switch k {
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	}
	return k
}

// checkDuplicateKeys refuses objects that name a key twice: encoding/json
// would silently keep the last one, and a proxy or signature check might
// have seen the first. Keys are compared as encoding/json matches them to
// fields, without regard to case ("amount" and "AMOUNT", "kyc" and "\u212ayc"
// with a Kelvin sign, land in one field).
func checkDuplicateKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		keys     map[string]bool
		isObject bool
		wantKey  bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return nil // syntax errors are reported by the real decode
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.isObject && top.wantKey {
			if key, ok := tok.(string); ok {
				folded := foldKey(key)
				if top.keys[folded] {
					return bank.Invalid(key, "appears more than once")
				}
				top.keys[folded] = true
				top.wantKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			if top != nil && top.isObject {
				top.wantKey = true
			}
			stack = append(stack, &frame{keys: map[string]bool{}, isObject: true, wantKey: true})
			continue
		case json.Delim('['):
			if top != nil && top.isObject {
				top.wantKey = true
			}
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.isObject {
			top.wantKey = true // a scalar value was read
		}
	}
}

// foldKey folds a member name as encoding/json does when it matches names
// to struct fields: every rune becomes the smallest rune of its simple case
// folding orbit.
func foldKey(key string) string {
	var b strings.Builder
	b.Grow(len(key))
	for _, r := range key {
		for {
			next := unicode.SimpleFold(r)
			if next <= r {
				r = next
				break
			}
			r = next
		}
		b.WriteRune(r)
	}
	return b.String()
}
