package bank

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"
)

func TestRegistrationFingerprint(t *testing.T) {
	key := []byte("fingerprint-test-key")
	type reg struct {
		email, name, phone string
		kyc                KYC
	}
	base := reg{"ada@example.com", "Ada Lovelace", "+2348031234567", KYC{KYCNIN, "12345678901"}}
	fp := func(r reg) []byte { return RegistrationFingerprint(key, r.email, r.name, r.phone, r.kyc) }

	want := fp(base)
	if len(want) != sha256.Size {
		t.Fatalf("fingerprint is %d bytes, want %d", len(want), sha256.Size)
	}
	if !bytes.Equal(want, fp(base)) {
		t.Fatal("fingerprint is not stable for the same input")
	}
	variants := map[string]reg{
		"email":      {"bob@example.com", base.name, base.phone, base.kyc},
		"email case": {"Ada@example.com", base.name, base.phone, base.kyc},
		"name":       {base.email, "Ada King", base.phone, base.kyc},
		"phone":      {base.email, base.name, "+2348031234568", base.kyc},
		"kyc type":   {base.email, base.name, base.phone, KYC{KYCBVN, "12345678901"}},
		"kyc number": {base.email, base.name, base.phone, KYC{KYCNIN, "12345678902"}},
		// Moving bytes between adjacent fields must not collide.
		"shifted name/phone":  {base.email, base.name + "+", "2348031234567", base.kyc},
		"shifted email/name":  {"ada@example.co", "mAda Lovelace", base.phone, base.kyc},
		"shifted type/number": {base.email, base.name, base.phone, KYC{"NIN1", "2345678901"}},
		"empty phone":         {base.email, base.name, "", base.kyc},
	}
	seen := map[string]string{hex.EncodeToString(want): "base"}
	for what, r := range variants {
		got := hex.EncodeToString(fp(r))
		if prev, dup := seen[got]; dup {
			t.Errorf("fingerprint of %q equals that of %q", what, prev)
		}
		seen[got] = what
	}
	if bytes.Equal(want, RegistrationFingerprint([]byte("another key"), base.email, base.name, base.phone, base.kyc)) {
		t.Error("fingerprint does not depend on the key")
	}
	if bytes.Equal(want, RegistrationFingerprint(nil, base.email, base.name, base.phone, base.kyc)) {
		t.Error("fingerprint with nil key equals the keyed one")
	}
}

func TestKYCDigest(t *testing.T) {
	key := []byte("kyc-test-key")
	k := KYC{KYCNIN, "12345678901"}
	d := KYCDigest(key, k)
	if len(d) != sha256.Size {
		t.Fatalf("digest is %d bytes", len(d))
	}
	if !bytes.Equal(d, KYCDigest(key, k)) {
		t.Fatal("KYCDigest is not stable")
	}
	if bytes.Equal(d, KYCDigest([]byte("other"), k)) {
		t.Error("KYCDigest does not depend on the key")
	}
	if bytes.Equal(d, KYCDigest(key, KYC{KYCBVN, k.Number})) {
		t.Error("the same number as NIN and BVN has one digest")
	}
	if bytes.Equal(d, KYCDigest(key, KYC{KYCNIN, "12345678902"})) {
		t.Error("different numbers share a digest")
	}
	if bytes.Contains(d, []byte(k.Number)) || bytes.Contains([]byte(hex.EncodeToString(d)), []byte(k.Number)) {
		t.Error("digest contains the number")
	}
	// The digest is not the unkeyed hash of the number.
	if plain := sha256.Sum256([]byte(k.Number)); bytes.Equal(d, plain[:]) {
		t.Error("KYCDigest is an unkeyed sha256")
	}
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestEmailDigest(t *testing.T) {
	d := EmailDigest("ada@example.com")
	if !hex64.MatchString(d) {
		t.Fatalf("EmailDigest = %q, want 64 lower-case hex characters", d)
	}
	// sha256("ada@example.com"), the workflow id the contract describes.
	sum := sha256.Sum256([]byte("ada@example.com"))
	if d != hex.EncodeToString(sum[:]) {
		t.Fatalf("EmailDigest = %q, want hex sha256 of the lower-cased email", d)
	}
	for _, v := range []string{"Ada@Example.com", "ADA@EXAMPLE.COM", "aDa@eXaMpLe.CoM"} {
		if got := EmailDigest(v); got != d {
			t.Errorf("EmailDigest(%q) = %q, want %q (case-insensitive)", v, got, d)
		}
	}
	if EmailDigest("bob@example.com") == d {
		t.Error("different emails share a digest")
	}
	if EmailDigest(" ada@example.com") == d {
		t.Error("EmailDigest ignores spaces; only case should be ignored")
	}
}
