package config

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/bankcore/bank/internal/codec"
)

const (
	realJWT      = "a-production-secret-of-at-least-32-bytes!"
	realIdentity = "an-identity-key-of-our-own-0123456789"
	realPayload  = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
)

// Issue 15, finding 1: the development secrets are in the source, so a
// process that falls back to them (or is given them) outside BANK_ENV=
// development lets anyone sign tokens that move money or read the PII in
// Temporal's history. It must refuse to start and name each one.
func TestSecretsRequiredOutsideDevelopment(t *testing.T) {
	devPayloadURL := "mine:" + base64.RawURLEncoding.EncodeToString([]byte("DEV-ONLY-payload-key-not-secret!"))
	for name, env := range map[string]map[string]string{
		"Unset":          {},
		"Production":     {"BANK_ENV": "production"},
		"PublishedGiven": {"JWT_SECRET": DevJWTSecret, "IDENTITY_KEY": DevIdentityKey, "PAYLOAD_KEY": DevPayloadKey},
		// The published key under another id or alphabet, or as an old
		// key kept for decryption, is still the published key.
		"PublishedInDisguise": {"JWT_SECRET": DevJWTSecret, "IDENTITY_KEY": DevIdentityKey, "PAYLOAD_KEY": realPayload + "," + devPayloadURL},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := FromLookup(lookup(env))
			if err != nil {
				t.Fatal(err)
			}
			err = c.CheckSecrets(SecretsFor(true, false))
			var se *SecretsError
			if !errors.As(err, &se) {
				t.Fatalf("API: CheckSecrets = %v, want a refusal", err)
			}
			if !slices.Equal(se.Missing, []string{"JWT_SECRET", "PAYLOAD_KEY", "IDENTITY_KEY"}) {
				t.Errorf("refusal names %v", se.Missing)
			}
			for _, want := range []string{"JWT_SECRET=", "PAYLOAD_KEY=", "IDENTITY_KEY=", "openssl rand -base64 32", "BANK_ENV=development"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("refusal does not say %q:\n%v", want, err)
				}
			}
			// Workers seal payloads and digest KYC numbers; they never sign tokens.
			if err := c.CheckSecrets(SecretsFor(false, true)); !errors.As(err, &se) ||
				!slices.Equal(se.Missing, []string{"PAYLOAD_KEY", "IDENTITY_KEY"}) {
				t.Errorf("worker: CheckSecrets = %v", err)
			}
			// The notifier uses none.
			if err := c.CheckSecrets(SecretsFor(false, false)); err != nil {
				t.Errorf("notifier: CheckSecrets = %v", err)
			}
		})
	}

	c, err := FromLookup(lookup(map[string]string{"JWT_SECRET": realJWT, "IDENTITY_KEY": realIdentity, "PAYLOAD_KEY": realPayload}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckSecrets(SecretsFor(true, true)); err != nil {
		t.Errorf("secrets of our own refused: %v", err)
	}
}

func TestDevelopmentAllowsPublishedSecrets(t *testing.T) {
	c, err := FromLookup(lookup(map[string]string{"BANK_ENV": "development"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckSecrets(SecretsFor(true, true)); err != nil {
		t.Fatalf("development: %v", err)
	}
	if c.JWTSecret != DevJWTSecret || c.IdentityKey != DevIdentityKey || c.PayloadKey != DevPayloadKey {
		t.Errorf("development secrets = %q %q %q", c.JWTSecret, c.IdentityKey, c.PayloadKey)
	}
	if got := c.DevDefaults(); !slices.Equal(got, []string{"JWT_SECRET", "IDENTITY_KEY", "PAYLOAD_KEY"}) {
		t.Errorf("DevDefaults = %v (the start-up warning names these)", got)
	}
	// Secrets of its own win over the published ones.
	c, err = FromLookup(lookup(map[string]string{"BANK_ENV": "development", "JWT_SECRET": realJWT}))
	if err != nil || c.JWTSecret != realJWT {
		t.Errorf("JWT_SECRET = %q, %v", c.JWTSecret, err)
	}
}

func TestBankEnvIsDevelopmentOrProduction(t *testing.T) {
	for _, v := range []string{"dev", "Development", "prod", "test"} {
		if _, err := FromLookup(lookup(map[string]string{"BANK_ENV": v})); err == nil {
			t.Errorf("BANK_ENV=%q accepted", v)
		}
	}
}

// DevPayloadKey is the codec's published key: a payload sealed under one
// opens under the other.
func TestDevPayloadKeyIsTheCodecsDevKey(t *testing.T) {
	k, err := codec.ParseKeyring(DevPayloadKey)
	if err != nil {
		t.Fatal(err)
	}
	p, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := codec.NewCodec(k).Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	opened, err := codec.NewCodec(codec.DevKeyring()).Decode(sealed)
	if err != nil || string(opened[0].GetData()) != string(p.GetData()) {
		t.Fatalf("DevKeyring cannot open a payload sealed with DevPayloadKey: %v", err)
	}
	if !holdsDevPayloadKey(DevPayloadKey) || holdsDevPayloadKey(realPayload) {
		t.Error("holdsDevPayloadKey misjudges")
	}
}
