package config

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
)

// The secrets, and what each process needs. The API signs tokens
// (JWT_SECRET), fingerprints registrations (IDENTITY_KEY) and reads and
// writes sealed workflow payloads (PAYLOAD_KEY); workers seal and open
// payloads and digest KYC numbers; the notifier, migrate and operator create
// use none of them.
const (
	SecretJWT      = "JWT_SECRET"
	SecretPayload  = "PAYLOAD_KEY"
	SecretIdentity = "IDENTITY_KEY"
)

// howToGenerate is what the refusal prints for each secret.
var howToGenerate = map[string]string{ //nolint:gosec // commands that make secrets, not secrets
	SecretJWT:      `export JWT_SECRET="$(openssl rand -base64 32)"`,
	SecretPayload:  `export PAYLOAD_KEY="k1:$(openssl rand -base64 32)"    # key id, colon, 32 random bytes in base64`,
	SecretIdentity: `export IDENTITY_KEY="$(openssl rand -base64 32)"`,
}

// SecretsFor lists the secrets a process with these roles uses.
func SecretsFor(api, worker bool) []string {
	switch {
	case api:
		return []string{SecretJWT, SecretPayload, SecretIdentity}
	case worker:
		return []string{SecretPayload, SecretIdentity}
	}
	return nil
}

// SecretsError names every needed secret that is unset or a published
// development value; its message says how to generate each one.
type SecretsError struct {
	Missing []string
}

func (e *SecretsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "refusing to start: %s must be set to secrets of your own "+
		"(unset, or at a published development value, they protect nothing).\n", list(e.Missing))
	b.WriteString("Generate each one once and keep it in your secret store; every process of one installation needs the same values:\n")
	for _, name := range e.Missing {
		fmt.Fprintf(&b, "  %s\n", howToGenerate[name])
	}
	b.WriteString("On your own machine `make run` generates them once and keeps them with its local state; " +
		"BANK_ENV=development allows the published values.")
	return b.String()
}

// list joins names as "A", "A and B", "A, B and C".
func list(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// CheckSecrets refuses, outside BANK_ENV=development, to run with any of the
// named secrets unset or at a published development value: with the
// published JWT_SECRET anyone can sign tokens that move money, with the
// published PAYLOAD_KEY anyone who reads Temporal's history reads the
// customers' personal data. Errors: *SecretsError.
func (c Config) CheckSecrets(need []string) error {
	if c.Development() {
		return nil
	}
	weak := map[string]bool{}
	for _, name := range c.DevDefaults() {
		weak[name] = true
	}
	var missing []string
	for _, name := range need {
		if weak[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return &SecretsError{Missing: missing}
	}
	return nil
}

// holdsDevPayloadKey reports whether any PAYLOAD_KEY entry is the published
// development key, whatever its key id or base64 alphabet. The keyring's own
// parser reports malformed entries at start-up; they are not ours to judge.
func holdsDevPayloadKey(payloadKey string) bool {
	_, devB64, _ := strings.Cut(DevPayloadKey, ":")
	dev, _ := base64.StdEncoding.DecodeString(devB64)
	for _, entry := range strings.Split(payloadKey, ",") {
		entry = strings.TrimSpace(entry)
		if _, b64, found := strings.Cut(entry, ":"); found {
			entry = b64
		}
		entry = strings.TrimRight(strings.TrimSpace(entry), "=")
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			if key, err := enc.DecodeString(entry); err == nil && bytes.Equal(key, dev) {
				return true
			}
		}
	}
	return false
}
