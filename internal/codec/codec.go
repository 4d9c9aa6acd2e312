package codec

import (
	"net/http"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

// MaxRequestBytes caps a codec-server request body: the UI sends the payloads of one event, and
// Temporal refuses a payload blob over 2 MB, about 2.7 MB as base64 in JSON. The API refuses larger
// bodies before they get here (api.MaxCodecBodyBytes); this is the handler's own backstop.
const MaxRequestBytes = 3 << 20

// Codec is the payload codec behind the codec server, for the Temporal Web UI and CLI. It is not part
// of the worker's data converter: workers seal per value with [NewDataConverter], while the codec works
// on payloads whose Go type it cannot know.
//
// Decode opens binary/encrypted payloads into json/plain so the UI shows JSON; other payloads pass
// through. Encode (used when an operator starts a workflow or sends a signal from the UI) seals every
// json/plain payload with the active key: the codec cannot tell whether operator input is personal, so
// it errs towards encryption, and the worker's converter opens binary/encrypted into any target type,
// so a sealed signal argument still decodes. Other encodings pass through untouched.
type Codec struct {
	keys *Keyring
}

var _ converter.PayloadCodec = (*Codec)(nil)

// NewCodec returns the codec for a keyring.
func NewCodec(k *Keyring) *Codec {
	if k == nil {
		panic("codec: NewCodec with nil keyring")
	}
	return &Codec{keys: k}
}

// Encode seals json/plain payloads. The input slice and payloads are never modified.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != converter.MetadataEncodingJSON {
			out[i] = p
			continue
		}
		sealed, err := sealJSON(c.keys, p.GetData(), withoutKeys(p.GetMetadata(), converter.MetadataEncoding))
		if err != nil {
			return payloads, err
		}
		out[i] = sealed
	}
	return out, nil
}

// Decode opens binary/encrypted payloads into json/plain. One payload that fails to open (tampered,
// or its key dropped from PAYLOAD_KEY) fails the whole call, so the UI reports the error instead of
// showing a half-decoded event.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != MetadataEncodingEncrypted {
			out[i] = p
			continue
		}
		plain, err := openPayload(c.keys, p)
		if err != nil {
			return payloads, err
		}
		md := withoutKeys(p.GetMetadata(), converter.MetadataEncoding, MetadataEncryptionKeyID, MetadataEncryptionCipher)
		md[converter.MetadataEncoding] = []byte(converter.MetadataEncodingJSON)
		out[i] = &commonpb.Payload{Metadata: md, Data: plain}
	}
	return out, nil
}

// Handler serves POST .../encode and POST .../decode in the codec-server protocol (protojson
// {"payloads":[...]}). The caller mounts it under /codec and adds operator authentication and CORS.
// Error bodies carry the codec's messages, which name key ids but never plaintext or key material.
func Handler(k *Keyring) http.Handler {
	h := converter.NewPayloadCodecHTTPHandler(NewCodec(k))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The SDK handler reads the whole body; cap it so one request cannot exhaust memory.
		r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBytes)
		h.ServeHTTP(w, r)
	})
}

func withoutKeys(md map[string][]byte, drop ...string) map[string][]byte {
	out := make(map[string][]byte, len(md)+1)
next:
	for key, v := range md {
		for _, d := range drop {
			if key == d {
				continue next
			}
		}
		out[key] = v
	}
	return out
}
