package bank

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// KYCDigest is the keyed digest under which a KYC number is stored: equal
// numbers collide (so one identity has one user) but the table reveals no
// number to someone without the key.
func KYCDigest(key []byte, k KYC) []byte {
	return keyed(key, "kyc", string(k.Type), k.Number)
}

// RegistrationFingerprint identifies the canonical body of a registration
// without its password (checked separately with bcrypt), so an identical
// retry is recognised and a different body under the same email is not.
func RegistrationFingerprint(key []byte, email, fullName, phone string, k KYC) []byte {
	return keyed(key, "registration", email, fullName, phone, string(k.Type), k.Number)
}

// EmailDigest is the hex sha256 of the lower-cased email: the stable,
// non-reversible part of the registration workflow id.
func EmailDigest(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return hex.EncodeToString(sum[:])
}

func keyed(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		// Length-prefix each part so ("ab","c") and ("a","bc") differ.
		m.Write([]byte(strconv.Itoa(len(p)) + ":" + p))
	}
	return m.Sum(nil)
}
