// Package config reads the one Config struct from the environment, once, at
// start-up. Every setting has a working local default except the secrets:
// those have published development values only under BANK_ENV=development
// (see CheckSecrets), and DevDefaults names the ones in use so main can warn.
package config

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of every process.
type Config struct {
	DatabaseURL       string
	RabbitMQURL       string
	EventsExchange    string // BANK_EVENTS_EXCHANGE, default bank.events
	NotifierQueue     string // BANK_NOTIFIER_QUEUE, default bank.notifier
	RedisURL          string
	RedisPrefix       string // BANK_REDIS_PREFIX, default "" (channels notify:<user id>)
	TemporalAddress   string
	TemporalNamespace string
	HTTPAddr          string
	MetricsAddr       string // METRICS_ADDR: /metrics of every role, default :9090
	// MetricsOnAPI also serves /metrics on HTTP_ADDR (BANK_METRICS_ON_API),
	// as before it moved to METRICS_ADDR: only behind a proxy that blocks it.
	MetricsOnAPI bool
	// Env is BANK_ENV: "development" allows the published development
	// secrets; anything else ("" or "production") refuses them.
	Env               string
	JWTSecret         string
	JWTTTL            time.Duration
	PayloadKey        string
	IdentityKey       string // IDENTITY_KEY: HMAC key for KYC numbers and registration fingerprints
	BcryptCost        int
	RateRegister      int // registrations per minute per client address; 0 = off
	RateLoginFailures int // failed logins per minute per email and per (address, email); 0 = off
	// RateLoginAddressFailures is the per-address ceiling of failed logins
	// per minute over all emails (BANK_RATE_LOGIN_ADDRESS_FAILURES); 0 = off.
	RateLoginAddressFailures int
	RateNameEnquiry          int // BANK_RATE_NAME_ENQUIRY: name enquiries per minute per caller; 0 = off
	KYCTimeout               time.Duration
	RegistrationWait         time.Duration // how long POST /auth/register waits before 202
	TransferWait             time.Duration // how long POST /transfers waits before 202
	OperatorEmail            string
	OperatorPassword         string
	TrustForwardedFor        bool // BANK_TRUST_PROXY: take the client address from X-Forwarded-For
	Pprof                    bool // BANK_PPROF: serve /debug/pprof/ on METRICS_ADDR (profiling under load)
	ShutdownTimeout          time.Duration
	DatabaseMaxConns         int32
	WorkerConcurrency        int
	MaxInFlight              int // BANK_MAX_INFLIGHT: requests one API instance works on at once; 0 = no limit
	UICodecCORSOrigins       []string
	// TemporalUIURL is the Temporal Web UI the console links each transfer's
	// workflow to (BANK_TEMPORAL_UI_URL); an absolute http(s) URL.
	TemporalUIURL string
}

// Dev defaults, public on purpose (the contract names them). The secrets
// among them are used only under BANK_ENV=development, with a loud warning;
// anywhere else a process that needs one refuses to start (CheckSecrets).
const (
	DevJWTSecret   = "dev-only-jwt-secret-change-me-0123456789" //nolint:gosec // a documented dev default
	DevIdentityKey = "dev-only-identity-key-change-me-0123456789"
	// DevPayloadKey is codec.DevKeyring as a PAYLOAD_KEY value.
	DevPayloadKey       = "dev:REVWLU9OTFktcGF5bG9hZC1rZXktbm90LXNlY3JldCE=" //nolint:gosec // a documented dev default
	DevOperatorEmail    = "operator@bank.local"
	DevOperatorPassword = "operator-dev-password" //nolint:gosec // a documented dev default

	// EnvDevelopment is the BANK_ENV value that allows the published
	// development secrets.
	EnvDevelopment = "development"
	// EnvProduction is BANK_ENV's other value; unset means the same.
	EnvProduction = "production"
)

// FromEnv reads the configuration from the process environment.
func FromEnv() (Config, error) { return FromLookup(os.LookupEnv) }

// FromLookup reads the configuration through lookup, so tests can pass a map.
func FromLookup(lookup func(string) (string, bool)) (Config, error) {
	r := reader{lookup: lookup}
	c := Config{
		DatabaseURL:       r.str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bank?sslmode=disable"),
		RabbitMQURL:       r.str("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/"),
		EventsExchange:    r.str("BANK_EVENTS_EXCHANGE", "bank.events"),
		NotifierQueue:     r.str("BANK_NOTIFIER_QUEUE", "bank.notifier"),
		RedisURL:          r.str("REDIS_URL", "redis://127.0.0.1:6379/0"),
		RedisPrefix:       r.str("BANK_REDIS_PREFIX", ""),
		TemporalAddress:   r.str("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		TemporalNamespace: r.str("TEMPORAL_NAMESPACE", "default"),
		HTTPAddr:          r.str("HTTP_ADDR", ":8080"),
		MetricsAddr:       r.str("METRICS_ADDR", ":9090"),
		MetricsOnAPI:      r.boolean("BANK_METRICS_ON_API", false),
		Env:               r.str("BANK_ENV", ""),
		JWTSecret:         r.str("JWT_SECRET", ""),
		JWTTTL:            r.duration("JWT_TTL", time.Hour),
		PayloadKey:        r.str("PAYLOAD_KEY", ""),
		IdentityKey:       r.str("IDENTITY_KEY", ""),
		BcryptCost:        r.integer("BCRYPT_COST", 12),
		RateRegister:      r.integer("BANK_RATE_REGISTER", 10),
		RateLoginFailures: r.integer("BANK_RATE_LOGIN_FAILURES", 5),
		// High enough for an office or a mobile carrier's NAT, low enough
		// that one address cannot try passwords across many accounts.
		RateLoginAddressFailures: r.integer("BANK_RATE_LOGIN_ADDRESS_FAILURES", 100),
		RateNameEnquiry:          r.integer("BANK_RATE_NAME_ENQUIRY", 30),
		KYCTimeout:               r.duration("KYC_TIMEOUT", 2*time.Second),
		RegistrationWait:         r.duration("BANK_REGISTRATION_WAIT", 5*time.Second),
		TransferWait:             r.duration("BANK_TRANSFER_WAIT", 5*time.Second),
		OperatorEmail:            r.str("BANK_OPERATOR_EMAIL", DevOperatorEmail),
		OperatorPassword:         r.str("BANK_OPERATOR_PASSWORD", DevOperatorPassword),
		TrustForwardedFor:        r.boolean("BANK_TRUST_PROXY", false),
		Pprof:                    r.boolean("BANK_PPROF", false),
		ShutdownTimeout:          r.duration("SHUTDOWN_TIMEOUT", 15*time.Second),
		DatabaseMaxConns:         int32(r.integer("DATABASE_MAX_CONNS", 20)),
		WorkerConcurrency:        r.integer("WORKER_CONCURRENCY", 64),
		MaxInFlight:              r.integer("BANK_MAX_INFLIGHT", 256),
	}
	c.TemporalUIURL = strings.TrimRight(r.str("BANK_TEMPORAL_UI_URL", "http://localhost:8233"), "/")
	c.UICodecCORSOrigins = strings.Split(r.str("BANK_CODEC_CORS_ORIGINS", "http://localhost:8233,http://127.0.0.1:8233"), ",")
	if r.err != nil {
		return Config{}, r.err
	}
	if c.BcryptCost < 4 || c.BcryptCost > 31 {
		return Config{}, fmt.Errorf("BCRYPT_COST must be between 4 and 31, got %d", c.BcryptCost)
	}
	switch c.Env {
	case "", EnvProduction:
	case EnvDevelopment:
		// The published values, so `bank all` runs on a laptop with nothing
		// set; DevDefaults names them for the start-up warning.
		if c.JWTSecret == "" {
			c.JWTSecret = DevJWTSecret
		}
		if c.IdentityKey == "" {
			c.IdentityKey = DevIdentityKey
		}
		if c.PayloadKey == "" {
			c.PayloadKey = DevPayloadKey
		}
	default:
		return Config{}, fmt.Errorf("BANK_ENV must be %q or %q (or unset, which means %s), got %q",
			EnvProduction, EnvDevelopment, EnvProduction, c.Env)
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		return Config{}, fmt.Errorf("JWT_SECRET must be at least 32 bytes")
	}
	if c.RateRegister < 0 || c.RateLoginFailures < 0 || c.RateLoginAddressFailures < 0 || c.RateNameEnquiry < 0 || c.MaxInFlight < 0 {
		return Config{}, fmt.Errorf("rate limits must be >= 0 (0 turns one off)")
	}
	// The console puts this URL in links; only a web address may go there
	// (never javascript: or a relative path).
	if u, err := url.Parse(c.TemporalUIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Config{}, fmt.Errorf("BANK_TEMPORAL_UI_URL must be an absolute http(s) URL, got %q", c.TemporalUIURL)
	}
	return c, nil
}

// DevDefaults names the secret settings that are unset or hold a published
// development value.
func (c Config) DevDefaults() []string {
	var out []string
	if c.JWTSecret == "" || c.JWTSecret == DevJWTSecret {
		out = append(out, "JWT_SECRET")
	}
	if c.IdentityKey == "" || c.IdentityKey == DevIdentityKey {
		out = append(out, "IDENTITY_KEY")
	}
	if c.PayloadKey == "" || holdsDevPayloadKey(c.PayloadKey) {
		out = append(out, "PAYLOAD_KEY")
	}
	return out
}

// Development reports BANK_ENV=development.
func (c Config) Development() bool { return c.Env == EnvDevelopment }

type reader struct {
	lookup func(string) (string, bool)
	err    error
}

func (r *reader) str(key, def string) string {
	if v, ok := r.lookup(key); ok && v != "" {
		return v
	}
	return def
}

func (r *reader) integer(key string, def int) int {
	v, ok := r.lookup(key)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("%s: %q is not an integer", key, v)
	}
	return n
}

func (r *reader) duration(key string, def time.Duration) time.Duration {
	v, ok := r.lookup(key)
	if !ok || v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("%s: %q is not a duration such as 5s", key, v)
	}
	return d
}

func (r *reader) boolean(key string, def bool) bool {
	v, ok := r.lookup(key)
	if !ok || v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("%s: %q is not a boolean", key, v)
	}
	return b
}
