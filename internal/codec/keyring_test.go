package codec

import (
	"bytes"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
)

// testKey returns a distinct, deterministic 32-byte key encoded as PAYLOAD_KEY expects.
func testKey(seed byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{seed}, KeySize))
}

func mustKeyring(t *testing.T, s string) *Keyring {
	t.Helper()
	k, err := ParseKeyring(s)
	if err != nil {
		t.Fatalf("ParseKeyring: %v", err)
	}
	return k
}

func TestParseKeyringAccepts(t *testing.T) {
	a, b := testKey(1), testKey(2)
	raw := bytes.Repeat([]byte{3}, KeySize)
	cases := []struct {
		name   string
		in     string
		active string
		ids    []string
	}{
		{"bare key", a, DefaultKeyID, []string{DefaultKeyID}},
		{"one entry", "k1:" + a, "k1", []string{"k1"}},
		{"rotation, first is active", "new:" + b + ",old:" + a, "new", []string{"new", "old"}},
		{"spaces around entries", " new : " + b + " ,  old:" + a + " ", "new", []string{"new", "old"}},
		{"bare key mixed with ids", "k2:" + b + "," + a, "k2", []string{"k2", DefaultKeyID}},
		{"unpadded base64", "raw:" + base64.RawStdEncoding.EncodeToString(raw), "raw", []string{"raw"}},
		{"url base64", "url:" + base64.URLEncoding.EncodeToString(raw), "url", []string{"url"}},
		{"id charset", "2026-01_prod.v2:" + a, "2026-01_prod.v2", []string{"2026-01_prod.v2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := mustKeyring(t, tc.in)
			if k.ActiveKeyID() != tc.active {
				t.Errorf("active = %q, want %q", k.ActiveKeyID(), tc.active)
			}
			if !slices.Equal(k.KeyIDs(), tc.ids) {
				t.Errorf("ids = %v, want %v", k.KeyIDs(), tc.ids)
			}
		})
	}
}

func TestParseKeyringErrors(t *testing.T) {
	a := testKey(1)
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	long := base64.StdEncoding.EncodeToString(make([]byte, 33))
	cases := []struct {
		name string
		in   string
		want string // substring of the error
	}{
		{"empty", "", "empty"},
		{"blank", "   ", "empty"},
		{"bad base64", "k1:not*base64!", "not valid base64"},
		{"bad base64 bare", "%%%%", "not valid base64"},
		{"16-byte key", "k1:" + short, "16 bytes, want 32"},
		{"33-byte key", "k1:" + long, "33 bytes, want 32"},
		{"empty key", "k1:", "0 bytes, want 32"},
		{"duplicate id", "k1:" + a + ",k1:" + testKey(2), `duplicate key id "k1"`},
		{"two bare keys", a + "," + testKey(2), `duplicate key id "default"`},
		{"trailing comma", "k1:" + a + ",", "entry 2 is empty"},
		{"empty entry in the middle", "k1:" + a + ",,k2:" + testKey(2), "entry 2 is empty"},
		{"empty id", ":" + a, "empty key id"},
		{"bad id chars", "k 1:" + a, "may contain only"},
		{"id too long", strings.Repeat("k", 65) + ":" + a, "longer than 64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseKeyring(tc.in)
			if err == nil {
				t.Fatalf("ParseKeyring(%q) = %v, want error", tc.in, k.KeyIDs())
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			// Errors are logged at startup; they must not carry key material.
			for _, secret := range []string{a, short, long} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q leaks key material", err)
				}
			}
		})
	}
}

func TestDevKeyring(t *testing.T) {
	k := DevKeyring()
	if k.ActiveKeyID() != DevKeyID {
		t.Fatalf("active = %q, want %q", k.ActiveKeyID(), DevKeyID)
	}
	// The dev key must be expressible as PAYLOAD_KEY, so a dev payload can be read by a keyring that
	// lists it explicitly (for example during a migration away from the default).
	same := mustKeyring(t, DevKeyID+":"+base64.StdEncoding.EncodeToString(devKey))
	dc := NewDataConverter(k)
	p, err := dc.ToPayload(sampleRegistration())
	if err != nil {
		t.Fatal(err)
	}
	var got registrationInput
	if err := NewDataConverter(same).FromPayload(p, &got); err != nil {
		t.Fatalf("explicit dev keyring cannot read dev payload: %v", err)
	}
}

func TestKeyRotation(t *testing.T) {
	oldKey, newKey := testKey(10), testKey(20)
	before := NewDataConverter(mustKeyring(t, "old:"+oldKey))
	in := sampleRegistration()
	sealedOld, err := before.ToPayload(in)
	if err != nil {
		t.Fatal(err)
	}
	if kid := string(sealedOld.Metadata[MetadataEncryptionKeyID]); kid != "old" {
		t.Fatalf("key id = %q, want old", kid)
	}

	after := NewDataConverter(mustKeyring(t, "new:"+newKey+",old:"+oldKey))
	var got registrationInput
	if err := after.FromPayload(sealedOld, &got); err != nil {
		t.Fatalf("rotated keyring cannot read old payload: %v", err)
	}
	if got != in {
		t.Fatalf("got %+v, want %+v", got, in)
	}
	sealedNew, err := after.ToPayload(in)
	if err != nil {
		t.Fatal(err)
	}
	if kid := string(sealedNew.Metadata[MetadataEncryptionKeyID]); kid != "new" {
		t.Fatalf("after rotation key id = %q, want new", kid)
	}

	dropped := NewDataConverter(mustKeyring(t, "new:"+newKey))
	got = registrationInput{}
	err = dropped.FromPayload(sealedOld, &got)
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("error = %v, want ErrUnknownKey", err)
	}
	if !strings.Contains(err.Error(), `"old"`) || !strings.Contains(err.Error(), "new") {
		t.Errorf("error %q should name the missing key id and the ones held", err)
	}
	if got != (registrationInput{}) {
		t.Errorf("target was written despite the error: %+v", got)
	}
	if err := dropped.FromPayload(sealedNew, &got); err != nil {
		t.Fatalf("new payload unreadable after dropping old key: %v", err)
	}
}
