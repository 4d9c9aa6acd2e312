package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
)

// uiBody writes a request body the way the Temporal Web UI does: protojson Payloads, bytes as base64.
func uiBody(t *testing.T, payloads ...*commonpb.Payload) []byte {
	t.Helper()
	type wirePayload struct {
		Metadata map[string]string `json:"metadata"`
		Data     string            `json:"data,omitempty"`
	}
	var body struct {
		Payloads []wirePayload `json:"payloads"`
	}
	for _, p := range payloads {
		wp := wirePayload{Metadata: map[string]string{}, Data: base64.StdEncoding.EncodeToString(p.Data)}
		for k, v := range p.Metadata {
			wp.Metadata[k] = base64.StdEncoding.EncodeToString(v)
		}
		body.Payloads = append(body.Payloads, wp)
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(t *testing.T, h http.Handler, path string, body []byte) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, out
}

func parsePayloads(t *testing.T, body []byte) []*commonpb.Payload {
	t.Helper()
	var ps commonpb.Payloads
	if err := protojson.Unmarshal(body, &ps); err != nil {
		t.Fatalf("response is not protojson Payloads: %v\n%s", err, body)
	}
	return ps.Payloads
}

func TestHandlerDecode(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	dc := NewDataConverter(k)
	sealed, err := dc.ToPayload(sampleRegistration())
	if err != nil {
		t.Fatal(err)
	}
	plain, err := dc.ToPayload(transferInput{Reference: "ref-9", AmountKobo: 100})
	if err != nil {
		t.Fatal(err)
	}
	null, _ := dc.ToPayload(nil)

	code, body := post(t, Handler(k), "/decode", uiBody(t, sealed, plain, null))
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	got := parsePayloads(t, body)
	if len(got) != 3 {
		t.Fatalf("got %d payloads", len(got))
	}
	if enc := encodingOf(got[0]); enc != converter.MetadataEncodingJSON {
		t.Fatalf("decoded encoding = %q", enc)
	}
	for _, key := range []string{MetadataEncryptionKeyID, MetadataEncryptionCipher} {
		if _, ok := got[0].Metadata[key]; ok {
			t.Errorf("decoded payload keeps %s", key)
		}
	}
	var reg registrationInput
	if err := json.Unmarshal(got[0].Data, &reg); err != nil || reg != sampleRegistration() {
		t.Fatalf("decoded data %s: %v", got[0].Data, err)
	}
	// The UI renders json/plain through the standard converter; so must any SDK consumer.
	reg = registrationInput{}
	if err := converter.GetDefaultDataConverter().FromPayload(got[0], &reg); err != nil || reg != sampleRegistration() {
		t.Fatalf("default converter on decoded payload: %v", err)
	}
	if !bytes.Equal(got[1].Data, plain.Data) || encodingOf(got[1]) != converter.MetadataEncodingJSON {
		t.Errorf("plain payload changed: %v", got[1])
	}
	if encodingOf(got[2]) != converter.MetadataEncodingNil {
		t.Errorf("nil payload changed: %v", got[2])
	}
}

func TestHandlerEncodeDecodeRoundTrip(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	h := Handler(k)
	signal := &commonpb.Payload{
		Metadata: map[string][]byte{converter.MetadataEncoding: []byte(converter.MetadataEncodingJSON)},
		Data:     []byte(`{"email":"` + sampleEmail + `","note":"operator typed this"}`),
	}
	raw := &commonpb.Payload{
		Metadata: map[string][]byte{converter.MetadataEncoding: []byte(converter.MetadataEncodingBinary)},
		Data:     []byte{1, 2, 3},
	}

	code, body := post(t, h, "/encode", uiBody(t, signal, raw))
	if code != http.StatusOK {
		t.Fatalf("encode status %d: %s", code, body)
	}
	encoded := parsePayloads(t, body)
	if enc := encodingOf(encoded[0]); enc != MetadataEncodingEncrypted {
		t.Fatalf("encoded json/plain has encoding %q", enc)
	}
	assertNoPlaintext(t, encoded[0].Data, sampleEmail, "operator typed")
	if encodingOf(encoded[1]) != converter.MetadataEncodingBinary || !bytes.Equal(encoded[1].Data, raw.Data) {
		t.Errorf("binary payload changed by encode: %v", encoded[1])
	}

	// What the UI sends to a worker must be readable by the worker's converter into any type.
	var note struct {
		Email string `json:"email"`
		Note  string `json:"note"`
	}
	if err := NewDataConverter(k).FromPayload(encoded[0], &note); err != nil || note.Email != sampleEmail {
		t.Fatalf("worker converter on UI-encoded payload: %+v, %v", note, err)
	}

	code, body = post(t, h, "/decode", uiBody(t, encoded...))
	if code != http.StatusOK {
		t.Fatalf("decode status %d: %s", code, body)
	}
	decoded := parsePayloads(t, body)
	if encodingOf(decoded[0]) != converter.MetadataEncodingJSON || !bytes.Equal(decoded[0].Data, signal.Data) {
		t.Fatalf("round trip: %v", decoded[0])
	}
	if !bytes.Equal(decoded[1].Data, raw.Data) {
		t.Fatalf("binary round trip: %v", decoded[1])
	}
}

func TestHandlerRejects(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	h := Handler(k)
	sealed, _ := NewDataConverter(k).ToPayload(sampleRegistration())
	sealed.Data[len(sealed.Data)-1] ^= 1

	code, body := post(t, h, "/decode", uiBody(t, sealed))
	if code != http.StatusBadRequest {
		t.Fatalf("tampered: status %d: %s", code, body)
	}
	assertNoPlaintext(t, body, sampleEmail, sampleHash, testKey(1))

	other := mustKeyring(t, "k9:"+testKey(9))
	good, _ := NewDataConverter(other).ToPayload(sampleRegistration())
	code, body = post(t, h, "/decode", uiBody(t, good))
	if code != http.StatusBadRequest || !strings.Contains(string(body), "k9") {
		t.Fatalf("unknown key: status %d: %s", code, body)
	}

	if code, _ := post(t, h, "/decode", []byte(`{"payloads":`)); code != http.StatusBadRequest {
		t.Errorf("malformed body: status %d", code)
	}
	if code, _ := post(t, h, "/other", uiBody(t)); code != http.StatusNotFound {
		t.Errorf("unknown path: status %d", code)
	}
	req := httptest.NewRequest(http.MethodGet, "/decode", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET: status %d", rec.Code)
	}

	huge := fmt.Appendf(nil, `{"payloads":[{"data":"%s"}]}`, strings.Repeat("A", MaxRequestBytes))
	if code, _ := post(t, h, "/decode", huge); code != http.StatusBadRequest {
		t.Errorf("oversized body: status %d", code)
	}
}

// The caller mounts the handler under /codec; the SDK handler matches on the path suffix.
func TestHandlerUnderPrefix(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	mux := http.NewServeMux()
	mux.Handle("/codec/", Handler(k))
	sealed, _ := NewDataConverter(k).ToPayload(sampleRegistration())
	code, body := post(t, mux, "/codec/decode", uiBody(t, sealed))
	if code != http.StatusOK || encodingOf(parsePayloads(t, body)[0]) != converter.MetadataEncodingJSON {
		t.Fatalf("status %d: %s", code, body)
	}
}

func TestCodecDoesNotMutateInput(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	c := NewCodec(k)
	sealed, _ := NewDataConverter(k).ToPayload(sampleRegistration())
	before := bytes.Clone(sealed.Data)
	in := []*commonpb.Payload{sealed}
	if _, err := c.Decode(in); err != nil {
		t.Fatal(err)
	}
	if in[0] != sealed || encodingOf(sealed) != MetadataEncodingEncrypted || !bytes.Equal(sealed.Data, before) {
		t.Fatal("Decode modified its input")
	}
	plain := &commonpb.Payload{
		Metadata: map[string][]byte{converter.MetadataEncoding: []byte(converter.MetadataEncodingJSON)},
		Data:     []byte(`"x"`),
	}
	if _, err := c.Encode([]*commonpb.Payload{plain}); err != nil {
		t.Fatal(err)
	}
	if encodingOf(plain) != converter.MetadataEncodingJSON || string(plain.Data) != `"x"` {
		t.Fatal("Encode modified its input")
	}
}
