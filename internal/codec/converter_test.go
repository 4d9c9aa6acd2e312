package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

type registrationInput struct {
	Email        string `json:"email"`
	FullName     string `json:"full_name"`
	Phone        string `json:"phone"`
	BVN          string `json:"bvn"`
	PasswordHash string `json:"password_hash"`
}

func (registrationInput) SensitivePayload() {}

// kycRecord marks itself with a pointer receiver: only *kycRecord implements Sensitive.
type kycRecord struct {
	NIN int64 `json:"nin"`
}

func (*kycRecord) SensitivePayload() {}

type transferInput struct {
	Reference   string `json:"reference"`
	FromAccount string `json:"from_account"`
	ToAccount   string `json:"to_account"`
	AmountKobo  int64  `json:"amount_kobo"`
}

const (
	sampleEmail = "ada.lovelace@example.com"
	sampleHash  = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
	sampleBVN   = "22345678901"
)

func sampleRegistration() registrationInput {
	return registrationInput{
		Email:        sampleEmail,
		FullName:     "Ada Lovelace",
		Phone:        "+2348012345678",
		BVN:          sampleBVN,
		PasswordHash: sampleHash,
	}
}

func testConverter(t *testing.T) converter.DataConverter {
	t.Helper()
	return NewDataConverter(mustKeyring(t, "k1:"+testKey(1)))
}

func encodingOf(p *commonpb.Payload) string {
	return string(p.GetMetadata()[converter.MetadataEncoding])
}

func assertNoPlaintext(t *testing.T, data []byte, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("payload data contains plaintext %q", s)
		}
	}
}

func TestSensitiveRoundTrip(t *testing.T) {
	dc := testConverter(t)
	in := sampleRegistration()
	for _, v := range []any{in, &in} {
		p, err := dc.ToPayload(v)
		if err != nil {
			t.Fatal(err)
		}
		if enc := encodingOf(p); enc != MetadataEncodingEncrypted {
			t.Fatalf("%T: encoding = %q, want %q", v, enc, MetadataEncodingEncrypted)
		}
		if got := string(p.Metadata[MetadataEncryptionKeyID]); got != "k1" {
			t.Errorf("key id = %q", got)
		}
		if got := string(p.Metadata[MetadataEncryptionCipher]); got != CipherAES256GCM {
			t.Errorf("cipher = %q", got)
		}
		assertNoPlaintext(t, p.Data, sampleEmail, sampleHash, sampleBVN, "Ada", "+234", "email")
		// ToString feeds SDK logs and errors; it must not decrypt.
		assertNoPlaintext(t, []byte(dc.ToString(p)), sampleEmail, sampleHash, sampleBVN)

		var out registrationInput
		if err := dc.FromPayload(p, &out); err != nil {
			t.Fatal(err)
		}
		if out != in {
			t.Fatalf("round trip: got %+v, want %+v", out, in)
		}
		var outPtr *registrationInput
		if err := dc.FromPayload(p, &outPtr); err != nil || outPtr == nil || *outPtr != in {
			t.Fatalf("round trip into **T: %v, %+v", err, outPtr)
		}
	}
}

func TestFreshNonceEachTime(t *testing.T) {
	dc := testConverter(t)
	a, _ := dc.ToPayload(sampleRegistration())
	b, _ := dc.ToPayload(sampleRegistration())
	if bytes.Equal(a.Data, b.Data) {
		t.Fatal("sealing the same value twice gave identical ciphertext")
	}
}

func TestNonSensitiveStaysReadable(t *testing.T) {
	dc := testConverter(t)
	in := transferInput{Reference: "ref-123", FromAccount: "0123456789", ToAccount: "9876543210", AmountKobo: 150050}
	p, err := dc.ToPayload(in)
	if err != nil {
		t.Fatal(err)
	}
	if enc := encodingOf(p); enc != converter.MetadataEncodingJSON {
		t.Fatalf("encoding = %q, want json/plain", enc)
	}
	var plain transferInput
	if err := json.Unmarshal(p.Data, &plain); err != nil || plain != in {
		t.Fatalf("payload is not readable JSON of the input: %s (%v)", p.Data, err)
	}
	var out transferInput
	if err := dc.FromPayload(p, &out); err != nil || out != in {
		t.Fatalf("round trip: %+v, %v", out, err)
	}
}

func TestDefaultEncodingsStillWork(t *testing.T) {
	dc := testConverter(t)

	p, err := dc.ToPayload(nil)
	if err != nil || encodingOf(p) != converter.MetadataEncodingNil {
		t.Fatalf("nil: %v, %v", p, err)
	}
	// A nil Sensitive pointer holds nothing to hide; it goes to the nil converter.
	p, err = dc.ToPayload((*registrationInput)(nil))
	if err != nil || encodingOf(p) != converter.MetadataEncodingNil {
		t.Fatalf("nil *Sensitive: %v, %v", p, err)
	}
	out := &registrationInput{Email: "x"}
	if err := dc.FromPayload(p, &out); err != nil || out != nil {
		t.Fatalf("nil *Sensitive decode: %+v, %v", out, err)
	}

	p, err = dc.ToPayload([]byte{0, 1, 2})
	if err != nil || encodingOf(p) != converter.MetadataEncodingBinary {
		t.Fatalf("[]byte: %v, %v", p, err)
	}
	var bs []byte
	if err := dc.FromPayload(p, &bs); err != nil || !bytes.Equal(bs, []byte{0, 1, 2}) {
		t.Fatalf("[]byte decode: %v, %v", bs, err)
	}

	p, err = dc.ToPayload("hello")
	if err != nil || encodingOf(p) != converter.MetadataEncodingJSON {
		t.Fatalf("string: %v, %v", p, err)
	}
	var s string
	if err := dc.FromPayload(p, &s); err != nil || s != "hello" {
		t.Fatalf("string decode: %q, %v", s, err)
	}

	// Proto values keep the SDK's json/protobuf path.
	msg := &commonpb.WorkflowExecution{WorkflowId: "transfer/u1/ref-1", RunId: "r"}
	p, err = dc.ToPayload(msg)
	if err != nil || encodingOf(p) != converter.MetadataEncodingProtoJSON {
		t.Fatalf("proto: %v, %v", p, err)
	}
	var gotMsg commonpb.WorkflowExecution
	if err := dc.FromPayload(p, &gotMsg); err != nil || gotMsg.WorkflowId != msg.WorkflowId {
		t.Fatalf("proto decode: %v, %v", &gotMsg, err)
	}

	ps, err := dc.ToPayloads("a", 1, sampleRegistration())
	if err != nil {
		t.Fatal(err)
	}
	var a string
	var n int
	var r registrationInput
	if err := dc.FromPayloads(ps, &a, &n, &r); err != nil || a != "a" || n != 1 || r != sampleRegistration() {
		t.Fatalf("ToPayloads/FromPayloads: %v %v %v %v", a, n, r, err)
	}
}

type wrapper struct {
	ID    string            `json:"id"`
	Input registrationInput `json:"input"`
}

type loose struct {
	Reference string `json:"reference"`
	Extra     any    `json:"extra"`
}

type node struct {
	Name string `json:"name"`
	Next *node  `json:"next"`
	Val  any    `json:"val"`
}

// A value that only wraps a Sensitive one is sealed too: forgetting the marker on a wrapper must not
// leak what it wraps.
func TestContainedSensitiveIsSealed(t *testing.T) {
	dc := testConverter(t)
	in := sampleRegistration()
	sealed := []any{
		wrapper{ID: "1", Input: in},
		&wrapper{ID: "1", Input: in},
		[]registrationInput{in},
		map[string]registrationInput{"a": in},
		map[string]any{"a": in},
		[]any{1, "two", &in},
		loose{Reference: "r", Extra: in},
		kycRecord{NIN: 12345678901},
		&kycRecord{NIN: 12345678901},
		[]kycRecord{{NIN: 12345678901}},
		&node{Name: "a", Next: &node{Name: "b", Val: []any{in}}},
	}
	for _, v := range sealed {
		p, err := dc.ToPayload(v)
		if err != nil {
			t.Fatalf("%T: %v", v, err)
		}
		if enc := encodingOf(p); enc != MetadataEncodingEncrypted {
			t.Errorf("%T: encoding = %q, want sealed", v, enc)
		}
	}
	readable := []any{
		loose{Reference: "r", Extra: 5},
		loose{Reference: "r"},
		map[string]any{"a": []any{1, "x", transferInput{}}},
		&node{Name: "a", Next: &node{Name: "b", Val: "c"}},
		[]string{"a"},
	}
	for _, v := range readable {
		p, err := dc.ToPayload(v)
		if err != nil {
			t.Fatalf("%T: %v", v, err)
		}
		if enc := encodingOf(p); enc != converter.MetadataEncodingJSON {
			t.Errorf("%T (%v): encoding = %q, want json/plain", v, v, enc)
		}
	}
	// The sealed wrapper still decodes into its own type.
	p, _ := dc.ToPayload(wrapper{ID: "1", Input: in})
	var w wrapper
	if err := dc.FromPayload(p, &w); err != nil || w.Input != in {
		t.Fatalf("wrapper round trip: %+v, %v", w, err)
	}
}

func TestTamperingFails(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1)+",k2:"+testKey(2)+",alias:"+testKey(1))
	dc := NewDataConverter(k)
	orig, err := dc.ToPayload(sampleRegistration())
	if err != nil {
		t.Fatal(err)
	}
	clone := func() *commonpb.Payload {
		md := map[string][]byte{}
		for key, v := range orig.Metadata {
			md[key] = bytes.Clone(v)
		}
		return &commonpb.Payload{Metadata: md, Data: bytes.Clone(orig.Data)}
	}

	cases := map[string]func(p *commonpb.Payload){
		"flip nonce byte":      func(p *commonpb.Payload) { p.Data[0] ^= 1 },
		"flip ciphertext byte": func(p *commonpb.Payload) { p.Data[20] ^= 0x80 },
		"flip tag byte":        func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 1 },
		"truncate":             func(p *commonpb.Payload) { p.Data = p.Data[:10] },
		"drop tag":             func(p *commonpb.Payload) { p.Data = p.Data[:len(p.Data)-16] },
		"append byte":          func(p *commonpb.Payload) { p.Data = append(p.Data, 0) },
		"key id to other key":  func(p *commonpb.Payload) { p.Metadata[MetadataEncryptionKeyID] = []byte("k2") },
		// Same key bytes under another id: only the associated data catches this.
		"key id to alias of same key": func(p *commonpb.Payload) { p.Metadata[MetadataEncryptionKeyID] = []byte("alias") },
		"unknown key id":              func(p *commonpb.Payload) { p.Metadata[MetadataEncryptionKeyID] = []byte("nope") },
		"no key id":                   func(p *commonpb.Payload) { delete(p.Metadata, MetadataEncryptionKeyID) },
		"other cipher":                func(p *commonpb.Payload) { p.Metadata[MetadataEncryptionCipher] = []byte("AES128-GCM") },
		"no cipher":                   func(p *commonpb.Payload) { delete(p.Metadata, MetadataEncryptionCipher) },
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			p := clone()
			tamper(p)
			var out registrationInput
			err := dc.FromPayload(p, &out)
			if err == nil {
				t.Fatalf("tampered payload decoded to %+v", out)
			}
			if out != (registrationInput{}) {
				t.Fatalf("target written despite error: %+v", out)
			}
			if _, err := NewCodec(k).Decode([]*commonpb.Payload{p}); err == nil {
				t.Fatal("codec decoded a tampered payload")
			}
		})
	}
	var out registrationInput
	if err := dc.FromPayload(clone(), &out); err != nil || out != sampleRegistration() {
		t.Fatalf("untampered clone must still decode: %v", err)
	}
}

// Decoding errors become workflow task failures in history, so they must not quote plaintext.
func TestDecodeErrorsDoNotQuotePlaintext(t *testing.T) {
	dc := testConverter(t)
	p, err := dc.ToPayload(kycRecord{NIN: 12345678901})
	if err != nil {
		t.Fatal(err)
	}
	var wrong struct {
		NIN string `json:"nin"`
	}
	err = dc.FromPayload(p, &wrong)
	if err == nil {
		t.Fatal("decoding a number into a string must fail")
	}
	if !errors.Is(err, converter.ErrUnableToDecode) {
		t.Errorf("error %v should wrap ErrUnableToDecode", err)
	}
	if strings.Contains(err.Error(), "12345678901") {
		t.Fatalf("error quotes plaintext: %v", err)
	}
	if !strings.Contains(err.Error(), "nin") {
		t.Errorf("error should still name the field: %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	dc := testConverter(t)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 50 {
				p, err := dc.ToPayload(wrapper{ID: "x", Input: sampleRegistration()})
				if err != nil {
					t.Error(err)
					return
				}
				var w wrapper
				if err := dc.FromPayload(p, &w); err != nil || w.Input != sampleRegistration() {
					t.Errorf("concurrent round trip: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}
