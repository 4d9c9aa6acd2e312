// Package strictjson refuses JSON that two readers could understand
// differently. encoding/json quietly turns invalid UTF-8 and escaped lone
// surrogates ("\ud800") into U+FFFD, and keeps the last of two keys that
// differ only in letter case; a proxy, a signature check or a log may have
// read the bytes, the first key or the other spelling. The REST handlers
// and the GraphQL endpoint run every body through Check before decoding it.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/bankcore/bank/bank"
)

// Check returns a VALIDATION_FAILED *bank.Error when body is not UTF-8,
// holds an escaped lone surrogate, or names a key twice in one object (in
// any letter case). Syntax errors are left to the decoder that follows.
func Check(body []byte) error {
	// RFC 8259: JSON is UTF-8.
	if !utf8.Valid(body) {
		return bank.Errorf(bank.CodeValidation, "request body must be UTF-8")
	}
	if loneSurrogate(body) {
		return bank.Errorf(bank.CodeValidation, `request body holds an escaped lone surrogate (such as "\ud800"), which is no character`)
	}
	return duplicateKeys(body)
}

// loneSurrogate reports a \uD800-\uDFFF escape that is not half of a
// high-low pair, anywhere in a string (keys included).
func loneSurrogate(body []byte) bool {
	inString := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !inString {
			inString = c == '"'
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 >= len(body) {
				return false // a syntax error, reported by the decoder
			}
			if body[i+1] != 'u' {
				i++ // a one-character escape
				continue
			}
			r, ok := hex4(body, i+2)
			if !ok {
				return false // a syntax error, reported by the decoder
			}
			i += 5
			switch {
			case utf16.IsSurrogate(r) && r < 0xDC00: // high: a low must follow
				if i+6 >= len(body) || body[i+1] != '\\' || body[i+2] != 'u' {
					return true
				}
				low, ok := hex4(body, i+3)
				if !ok || low < 0xDC00 || low > 0xDFFF {
					return true
				}
				i += 6
			case utf16.IsSurrogate(r): // a low without its high
				return true
			}
		}
	}
	return false
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[at:at+4]), 16, 16)
	return rune(n), err == nil
}

// duplicateKeys refuses objects that name a key twice. Keys are compared as
// encoding/json matches them to fields, without regard to case ("amount"
// and "AMOUNT", "kyc" and "\u212ayc" with a Kelvin sign, land in one field).
func duplicateKeys(body []byte) error {
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
