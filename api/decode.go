package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/strictjson"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

// decodeJSON reads exactly one JSON object into dst. It refuses a wrong
// content type (415), a body over 64 KiB (413), unknown fields, duplicate
// keys, invalid UTF-8, escaped lone surrogates, trailing data and type
// mismatches (400): whatever the client sent, the answer is a 4xx and
// nothing is written.
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
	// Invalid UTF-8, lone surrogates and repeated keys: encoding/json would
	// quietly read what another reader of the bytes may not.
	if err := strictjson.Check(body); err != nil {
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
