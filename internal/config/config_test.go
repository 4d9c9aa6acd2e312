package config

import (
	"slices"
	"testing"
	"time"
)

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestDefaultsMatchTheContract(t *testing.T) {
	c, err := FromLookup(lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"DatabaseURL":       "postgres://postgres@127.0.0.1:5432/bank?sslmode=disable",
		"RabbitMQURL":       "amqp://guest:guest@127.0.0.1:5672/",
		"RedisURL":          "redis://127.0.0.1:6379/0",
		"TemporalAddress":   "127.0.0.1:7233",
		"TemporalNamespace": "default",
		"HTTPAddr":          ":8080",
		"MetricsAddr":       ":9090",
		"OperatorEmail":     "operator@bank.local",
	}
	got := map[string]string{
		"DatabaseURL": c.DatabaseURL, "RabbitMQURL": c.RabbitMQURL, "RedisURL": c.RedisURL,
		"TemporalAddress": c.TemporalAddress, "TemporalNamespace": c.TemporalNamespace,
		"HTTPAddr": c.HTTPAddr, "MetricsAddr": c.MetricsAddr, "OperatorEmail": c.OperatorEmail,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if c.BcryptCost != 12 || c.RateRegister <= 0 || c.RateLoginFailures <= 0 {
		t.Errorf("bcrypt cost %d, rate limits %d/%d: want 12 and safe non-zero limits", c.BcryptCost, c.RateRegister, c.RateLoginFailures)
	}
	// Every secret is at its dev default, and each one is reported.
	if got := c.DevDefaults(); !slices.Equal(got, []string{"JWT_SECRET", "IDENTITY_KEY", "PAYLOAD_KEY"}) {
		t.Errorf("DevDefaults = %v", got)
	}
}

func TestOverridesAndZeroTurnsLimitsOff(t *testing.T) {
	c, err := FromLookup(lookup(map[string]string{
		"BCRYPT_COST": "4", "BANK_RATE_REGISTER": "0", "BANK_RATE_LOGIN_FAILURES": "0",
		"KYC_TIMEOUT": "150ms", "JWT_SECRET": "a-production-secret-of-at-least-32-bytes!",
		"IDENTITY_KEY": "k", "PAYLOAD_KEY": "p",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.BcryptCost != 4 || c.RateRegister != 0 || c.RateLoginFailures != 0 || c.KYCTimeout != 150*time.Millisecond {
		t.Errorf("config = %+v", c)
	}
	if len(c.DevDefaults()) != 0 {
		t.Errorf("DevDefaults = %v, want none", c.DevDefaults())
	}
}

func TestInvalidSettingsAreRefused(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"NotANumber":      {"BCRYPT_COST": "twelve"},
		"CostTooLow":      {"BCRYPT_COST": "3"},
		"CostTooHigh":     {"BCRYPT_COST": "32"},
		"NegativeRate":    {"BANK_RATE_LOGIN_FAILURES": "-1"},
		"BadDuration":     {"KYC_TIMEOUT": "soon"},
		"ShortJWTSecret":  {"JWT_SECRET": "short"},
		"BadBool":         {"BANK_TRUST_PROXY": "maybe"},
		"NegativeRegRate": {"BANK_RATE_REGISTER": "-5"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := FromLookup(lookup(env)); err == nil {
				t.Fatalf("FromLookup(%v) accepted it", env)
			}
		})
	}
}

func TestNameEnquiryRateAndTemporalUI(t *testing.T) {
	c, err := FromLookup(lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.RateNameEnquiry != 30 || c.TemporalUIURL != "http://localhost:8233" {
		t.Errorf("defaults: BANK_RATE_NAME_ENQUIRY %d, BANK_TEMPORAL_UI_URL %q; want 30 and http://localhost:8233",
			c.RateNameEnquiry, c.TemporalUIURL)
	}
	c, err = FromLookup(lookup(map[string]string{
		"BANK_RATE_NAME_ENQUIRY": "0", "BANK_TEMPORAL_UI_URL": "https://temporal.bank.example/",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.RateNameEnquiry != 0 || c.TemporalUIURL != "https://temporal.bank.example" {
		t.Errorf("overrides: %d %q", c.RateNameEnquiry, c.TemporalUIURL)
	}
	for _, bad := range []map[string]string{
		{"BANK_RATE_NAME_ENQUIRY": "-1"},
		{"BANK_TEMPORAL_UI_URL": "javascript:alert(1)"},
		{"BANK_TEMPORAL_UI_URL": "/relative"},
		{"BANK_TEMPORAL_UI_URL": "ftp://host"},
	} {
		if _, err := FromLookup(lookup(bad)); err == nil {
			t.Errorf("FromLookup(%v) accepted it", bad)
		}
	}
}
