package codec

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

const (
	// MetadataEncodingEncrypted is the payload encoding of a sealed value.
	MetadataEncodingEncrypted = "binary/encrypted"
	// MetadataEncryptionKeyID names the key that sealed a payload.
	MetadataEncryptionKeyID = "encryption-key-id"
	// MetadataEncryptionCipher names the cipher, so a future cipher can coexist with old histories.
	MetadataEncryptionCipher = "encryption-cipher"
	// CipherAES256GCM is the only cipher written or read today.
	CipherAES256GCM = "AES256-GCM"
)

// Sensitive marks a type whose values carry personal data or secrets (email, name, phone, KYC numbers,
// password hashes). Such values are encrypted in Temporal history. Implement it with a value receiver
// so both T and *T qualify:
//
//	func (RegistrationInput) SensitivePayload() {}
//
// A value that merely contains a Sensitive value (a field, slice element, map entry or interface) is
// sealed whole as well, because a wrapper struct forgetting the marker must not leak what it wraps.
type Sensitive interface{ SensitivePayload() }

// NewDataConverter is the SDK's default converter chain with the encrypting converter in front. Give
// the same converter to the client, every worker and any replayer; a process without it cannot read
// sealed payloads. It panics on a nil keyring because that is a wiring bug, not a runtime condition.
func NewDataConverter(k *Keyring) converter.DataConverter {
	if k == nil {
		panic("codec: NewDataConverter with nil keyring")
	}
	// Same order as converter.GetDefaultDataConverter; the SDK client and worker wrap it for transfer
	// types themselves, so nothing is lost by not using the default's internal wrapper.
	return converter.NewCompositeDataConverter(
		&encryptingConverter{keys: k},
		converter.NewNilPayloadConverter(),
		converter.NewByteSlicePayloadConverter(),
		converter.NewProtoJSONPayloadConverter(),
		converter.NewProtoPayloadConverter(),
		converter.NewJSONPayloadConverter(),
	)
}

// encryptingConverter claims Sensitive values on the way out and binary/encrypted payloads on the way
// in; it returns nil for everything else so the rest of the chain encodes it as usual.
type encryptingConverter struct {
	keys *Keyring
}

var _ converter.PayloadConverter = (*encryptingConverter)(nil)

func (c *encryptingConverter) ToPayload(value any) (*commonpb.Payload, error) {
	if value == nil {
		return nil, nil
	}
	rv := reflect.ValueOf(value)
	if rv.Kind() == reflect.Pointer && rv.IsNil() {
		return nil, nil // the nil converter writes binary/null: nothing to hide
	}
	if !containsSensitive(rv) {
		return nil, nil
	}
	plain, err := json.Marshal(value)
	if err != nil {
		// json errors can quote values (custom marshalers, NaN); report the type only.
		return nil, fmt.Errorf("codec: JSON-encoding %T for encryption failed (%T)", value, err)
	}
	return sealJSON(c.keys, plain, nil)
}

func (c *encryptingConverter) FromPayload(payload *commonpb.Payload, valuePtr any) error {
	plain, err := openPayload(c.keys, payload)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(plain, valuePtr); err != nil {
		return fmt.Errorf("%w: decrypted payload into %T: %s", converter.ErrUnableToDecode, valuePtr, describeJSONError(err))
	}
	return nil
}

// ToString never decrypts: the SDK uses it for logs and error messages, which are exactly the places
// PII must not reach.
func (c *encryptingConverter) ToString(payload *commonpb.Payload) string {
	return fmt.Sprintf("[encrypted, key id %q]", payload.GetMetadata()[MetadataEncryptionKeyID])
}

func (c *encryptingConverter) Encoding() string { return MetadataEncodingEncrypted }

// sealJSON wraps JSON bytes into a binary/encrypted payload. extra carries metadata of the original
// payload (other than its encoding) through the codec's /encode.
func sealJSON(k *Keyring, plain []byte, extra map[string][]byte) (*commonpb.Payload, error) {
	kid, data, err := k.seal(plain)
	if err != nil {
		return nil, err
	}
	md := make(map[string][]byte, len(extra)+3)
	for key, v := range extra {
		md[key] = v
	}
	md[converter.MetadataEncoding] = []byte(MetadataEncodingEncrypted)
	md[MetadataEncryptionKeyID] = []byte(kid)
	md[MetadataEncryptionCipher] = []byte(CipherAES256GCM)
	return &commonpb.Payload{Metadata: md, Data: data}, nil
}

func openPayload(k *Keyring, p *commonpb.Payload) ([]byte, error) {
	md := p.GetMetadata()
	if enc := string(md[converter.MetadataEncoding]); enc != MetadataEncodingEncrypted {
		return nil, fmt.Errorf("codec: payload encoding %q is not %s", enc, MetadataEncodingEncrypted)
	}
	kid, ok := md[MetadataEncryptionKeyID]
	if !ok {
		return nil, errors.New("codec: encrypted payload has no key id")
	}
	return k.open(string(kid), string(md[MetadataEncryptionCipher]), p.GetData())
}

// describeJSONError keeps the shape of a decoding error but drops anything that may quote the
// plaintext (UnmarshalTypeError includes number literals, custom unmarshalers say anything), since
// this text lands in workflow task failures in history.
func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var invalidErr *json.InvalidUnmarshalError
	switch {
	case errors.As(err, &typeErr):
		return fmt.Sprintf("field %q cannot hold a JSON %s value (want %s)", typeErr.Field, jsonKind(typeErr.Value), typeErr.Type)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("malformed JSON at offset %d", syntaxErr.Offset)
	case errors.As(err, &invalidErr):
		return invalidErr.Error() // names only the Go type
	default:
		return fmt.Sprintf("JSON decoding failed (%T)", err)
	}
}

// jsonKind trims UnmarshalTypeError.Value ("number 12345678901") to its kind ("number").
func jsonKind(v string) string {
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' {
			return v[:i]
		}
	}
	return v
}

// Sensitivity of a type, computed once per type. maybe means the type holds interfaces (any, error, …)
// whose dynamic values decide.
type sensitivity uint8

const (
	sensNo sensitivity = iota
	sensMaybe
	sensYes
)

var (
	sensitiveType = reflect.TypeFor[Sensitive]()
	typeVerdicts  sync.Map // reflect.Type -> sensitivity
)

// maxValueDepth bounds the walk over interface-holding values (cyclic pointers); hitting it seals the
// value, since erring towards encryption only costs readability.
const maxValueDepth = 64

func containsSensitive(v reflect.Value) bool {
	return valueSensitive(v, 0)
}

func valueSensitive(v reflect.Value, depth int) bool {
	if !v.IsValid() {
		return false
	}
	switch classify(v.Type()) {
	case sensYes:
		return true
	case sensNo:
		return false
	}
	if depth >= maxValueDepth {
		return true
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return false
		}
		return valueSensitive(v.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if valueSensitive(v.Index(i), depth+1) {
				return true
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if valueSensitive(it.Key(), depth+1) || valueSensitive(it.Value(), depth+1) {
				return true
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if valueSensitive(v.Field(i), depth+1) {
				return true
			}
		}
	}
	return false
}

func classify(t reflect.Type) sensitivity {
	if s, ok := typeVerdicts.Load(t); ok {
		return s.(sensitivity)
	}
	// Only the root's verdict is cached: inside a recursive type a revisited type counts as "no" for
	// this walk, which is right for the root but would be wrong if stored for the inner type.
	s := walkType(t, map[reflect.Type]bool{})
	typeVerdicts.Store(t, s)
	return s
}

func walkType(t reflect.Type, seen map[reflect.Type]bool) sensitivity {
	if seen[t] {
		return sensNo
	}
	seen[t] = true
	if t.Implements(sensitiveType) || (t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && reflect.PointerTo(t).Implements(sensitiveType)) {
		return sensYes
	}
	switch t.Kind() {
	case reflect.Interface:
		return sensMaybe
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return walkType(t.Elem(), seen)
	case reflect.Map:
		return max(walkType(t.Key(), seen), walkType(t.Elem(), seen))
	case reflect.Struct:
		s := sensNo
		for i := range t.NumField() {
			if s = max(s, walkType(t.Field(i).Type, seen)); s == sensYes {
				return s
			}
		}
		return s
	}
	return sensNo
}
