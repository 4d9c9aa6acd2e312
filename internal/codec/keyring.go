package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

const (
	// KeySize is the length of a payload key: AES-256.
	KeySize = 32

	// DefaultKeyID names a key given as bare base64, without "kid:".
	DefaultKeyID = "default"

	// DevKeyID names the key of [DevKeyring], so logs and metadata show at a glance that a payload was
	// sealed with a key that is not secret.
	DevKeyID = "dev"

	maxKeyIDLen = 64
)

// devKey is deliberately readable ASCII: anyone who sees it in a dump knows it protects nothing.
var devKey = []byte("DEV-ONLY-payload-key-not-secret!")

// ErrUnknownKey reports a payload sealed with a key id that the keyring does not hold, typically
// because an old key was dropped from PAYLOAD_KEY too early.
var ErrUnknownKey = errors.New("codec: payload key id not in keyring")

// Keyring holds the payload keys. It is immutable after parsing and safe for concurrent use.
type Keyring struct {
	active string
	ids    []string
	aeads  map[string]cipher.AEAD
}

// ParseKeyring parses PAYLOAD_KEY: comma-separated "kid:base64key" entries, the first of which is
// used for encryption, or a single bare base64 key (key id "default"). Errors name the entry and the
// key id but never echo key material, because they end up in logs.
func ParseKeyring(s string) (*Keyring, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("codec: PAYLOAD_KEY is empty")
	}
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, entry := range strings.Split(s, ",") {
		n := i + 1
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return nil, fmt.Errorf("codec: PAYLOAD_KEY entry %d is empty", n)
		}
		// Standard and URL base64 never contain ':', so a colon always separates a key id.
		kid, b64, found := strings.Cut(entry, ":")
		if !found {
			kid, b64 = DefaultKeyID, entry
		}
		kid, b64 = strings.TrimSpace(kid), strings.TrimSpace(b64)
		if err := validKeyID(kid); err != nil {
			return nil, fmt.Errorf("codec: PAYLOAD_KEY entry %d: %w", n, err)
		}
		if _, dup := k.aeads[kid]; dup {
			return nil, fmt.Errorf("codec: PAYLOAD_KEY entry %d: duplicate key id %q", n, kid)
		}
		key, err := decodeBase64(b64)
		if err != nil {
			return nil, fmt.Errorf("codec: PAYLOAD_KEY entry %d (key id %q): key is not valid base64", n, kid)
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("codec: PAYLOAD_KEY entry %d (key id %q): key is %d bytes, want %d (AES-256)",
				n, kid, len(key), KeySize)
		}
		aead, err := newAEAD(key)
		if err != nil {
			return nil, fmt.Errorf("codec: PAYLOAD_KEY entry %d (key id %q): %w", n, kid, err)
		}
		k.aeads[kid] = aead
		k.ids = append(k.ids, kid)
	}
	k.active = k.ids[0]
	return k, nil
}

// DevKeyring returns a keyring with one fixed, publicly known key (id "dev") for local runs. The caller
// must log a warning when it falls back to this.
func DevKeyring() *Keyring {
	aead, err := newAEAD(devKey)
	if err != nil {
		panic(err) // a fixed 32-byte key cannot fail; reaching this means the stdlib changed
	}
	return &Keyring{active: DevKeyID, ids: []string{DevKeyID}, aeads: map[string]cipher.AEAD{DevKeyID: aead}}
}

// ActiveKeyID is the id of the key that seals new payloads.
func (k *Keyring) ActiveKeyID() string { return k.active }

// KeyIDs lists every key id, active first, for startup logs.
func (k *Keyring) KeyIDs() []string { return append([]string(nil), k.ids...) }

// validKeyID keeps ids short and printable because they travel in payload metadata and log lines.
func validKeyID(kid string) error {
	if kid == "" {
		return errors.New("empty key id")
	}
	if len(kid) > maxKeyIDLen {
		return fmt.Errorf("key id longer than %d characters", maxKeyIDLen)
	}
	for _, r := range kid {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Errorf("key id %q may contain only letters, digits, '-', '_' and '.'", kid)
		}
	}
	return nil
}

// decodeBase64 accepts padded and unpadded, standard and URL alphabets, because keys get pasted from
// openssl, from Kubernetes secrets and from password managers that each disagree.
func decodeBase64(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// additionalData binds the key id and cipher name into the tag, so a payload whose metadata was edited
// to point at another key (even one with the same bytes after a relabel) fails to open instead of
// decrypting under an identity it was not sealed with.
func additionalData(kid string) []byte {
	return []byte("bankcore/payload/v1\x00" + CipherAES256GCM + "\x00" + kid)
}

// seal returns nonce||ciphertext||tag under the active key. Random 96-bit nonces are safe for about
// 2^32 payloads per key (NIST SP 800-38D); rotate long before that.
func (k *Keyring) seal(plaintext []byte) (kid string, data []byte, err error) {
	aead := k.aeads[k.active]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, fmt.Errorf("codec: nonce: %w", err)
	}
	return k.active, aead.Seal(nonce, nonce, plaintext, additionalData(k.active)), nil
}

func (k *Keyring) open(kid, cipherName string, data []byte) ([]byte, error) {
	if cipherName != CipherAES256GCM {
		return nil, fmt.Errorf("codec: unsupported payload cipher %q", cipherName)
	}
	aead, ok := k.aeads[kid]
	if !ok {
		return nil, fmt.Errorf("%w: %q (keyring holds %s)", ErrUnknownKey, kid, strings.Join(k.ids, ", "))
	}
	if len(data) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("codec: encrypted payload is truncated")
	}
	ns := aead.NonceSize()
	plain, err := aead.Open(nil, data[:ns], data[ns:], additionalData(kid))
	if err != nil {
		// GCM does not say whether the key, the metadata or the bytes are wrong; neither can we.
		return nil, fmt.Errorf("codec: encrypted payload failed authentication (key id %q): tampered, or sealed with a different key", kid)
	}
	return plain, nil
}
