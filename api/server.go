// Package api is the HTTP edge: the chi router, middleware (request id,
// access log, auth, limits), the REST handlers and problem+json errors.
// Handlers are thin: they decode, authorise, call a store or start a
// workflow, and encode.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"golang.org/x/crypto/bcrypt"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/handoff"
	"github.com/bankcore/bank/internal/metrics"
	"github.com/bankcore/bank/internal/postgres"
	"github.com/bankcore/bank/internal/token"
)

// Users is what the API reads of the auth store. Errors: NOT_FOUND.
type Users interface {
	CredentialsByEmail(ctx context.Context, email string) (bank.Credentials, error)
	ByID(ctx context.Context, id string) (bank.User, error)
	ByRegistrationID(ctx context.Context, registrationID string) (bank.Credentials, error)
}

// Accounts is what the API reads of the ledger. Errors: NOT_FOUND.
type Accounts interface {
	ByNumber(ctx context.Context, number string) (bank.Account, error)
	ByOwner(ctx context.Context, ownerID string) ([]bank.Account, error)
}

// Ledger is what the API reads of postings. Errors: NOT_FOUND.
type Ledger interface {
	ByKey(ctx context.Context, keyOwner, reference string) (bank.Transfer, error)
	// LookupTransfer reads both accounts of a transfer and what is stored
	// under its key, in one round trip.
	LookupTransfer(ctx context.Context, keyOwner, reference, from, to string) (postgres.TransferLookup, error)
	Entries(ctx context.Context, accountNumber string, limit int, before int64) ([]bank.Entry, int64, error)
	// BalanceAt and Statement read an account (by internal id) in time;
	// see postgres.Ledger.
	BalanceAt(ctx context.Context, accountID int64, at time.Time) (bank.Money, error)
	Statement(ctx context.Context, accountID int64, start, end time.Time,
		head func(bank.StatementSummary) error, item func(bank.Entry) error) error
}

// Check is one dependency /readyz probes.
type Check struct {
	Name string
	Ping func(ctx context.Context) error
}

// Deps are the API's dependencies, built by the caller.
type Deps struct {
	Logger   *slog.Logger
	Users    Users
	Accounts Accounts
	Ledger   Ledger
	// Tiers reads the outcomes of tier upgrades stored under their keys.
	Tiers    TierOutcomes
	Temporal client.Client
	// DataConverter decodes workflow payloads (the same one the Temporal
	// client uses): the API reads a registration's input to check who asks.
	DataConverter converter.DataConverter
	Tokens        *token.Issuer
	Checks        []Check

	IdentityKey      []byte
	BcryptCost       int
	RegistrationWait time.Duration
	TransferWait     time.Duration // how long POST /transfers waits before 202
	// Outcomes is set where this process also runs the transfers worker:
	// the posting activity hands its outcome to the waiting handler (see
	// package handoff). nil = always wait on the workflow.
	Outcomes          *handoff.Hub
	SystemAccount     string // the funding account deposits come from
	RateRegister      int    // per minute per client address; 0 = off
	RateLoginFailures int    // per minute per email and per (address, email); 0 = off
	// RateLoginAddressFailures is the per-address ceiling of failed logins
	// per minute over all emails; 0 = off.
	RateLoginAddressFailures int
	RateNameEnquiry          int // name enquiries per minute per caller; 0 = off
	TrustProxy               bool

	// MaxInFlight bounds the requests worked on at once; more wait
	// ShedQueueWait, then get 503 with Retry-After. 0 = no limit.
	MaxInFlight int
	// GraphQL is graph.Handler, mounted at /graphql; it authenticates
	// itself (header for HTTP, connection_init for sockets). nil = not mounted.
	GraphQL http.Handler
	// Metrics times every request; nil = no timing.
	Metrics *metrics.Metrics
	// ServeMetrics also serves GET /metrics here (BANK_METRICS_ON_API).
	// Off by default: the process serves it on its internal METRICS_ADDR,
	// and the public port does not show business counters to anyone.
	ServeMetrics bool
	// Codec is the codec-server handler (codec.Handler), mounted under
	// /codec behind operator authentication; nil = not mounted.
	Codec http.Handler
	// Console is the web console (console.Handler), mounted at /console/;
	// nil = not mounted.
	Console http.Handler
	// CodecOrigins may call the codec routes from a browser with
	// credentials (the Temporal Web UI); see CheckCodecOrigins.
	CodecOrigins []string
}

// Server holds the handlers' state.
type Server struct {
	d            Deps
	dummyHash    []byte // compared against for unknown emails, so timing is even
	loginLimit   *loginLimiter
	codecOrigins map[string]bool
}

// New builds the router.
func New(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("not-a-real-password-just-timing"), d.BcryptCost)
	if err != nil {
		panic(err) // only an invalid cost, which config already refused
	}
	s := &Server{d: d, dummyHash: dummy, loginLimit: newLoginLimiter(d.RateLoginFailures, d.RateLoginAddressFailures),
		codecOrigins: map[string]bool{}}
	origins, err := CheckCodecOrigins(d.CodecOrigins)
	if err != nil {
		panic(err) // the caller validates configuration with CheckCodecOrigins first
	}
	for _, o := range origins {
		s.codecOrigins[o] = true
	}

	r := chi.NewRouter()
	r.Use(withRequestID(d.Logger), d.Metrics.Middleware, accessLog, recoverer, shedLoad(d.MaxInFlight, ShedQueueWait),
		oneIdempotencyKey)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, bank.Errorf(bank.CodeNotFound, "no such route"))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, bank.Errorf(bank.CodeMethodNotAllowed, "method not allowed on this route"))
	})

	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	if d.Metrics != nil && d.ServeMetrics {
		// Unauthenticated, like every Prometheus endpoint: only behind a
		// proxy that keeps /metrics off the internet (docs/operations.md).
		r.Method(http.MethodGet, "/metrics", d.Metrics.Handler())
	}
	if d.Codec != nil {
		r.Route("/codec", s.codecRoutes)
	}

	if d.Console != nil {
		r.Handle("/console", d.Console)
		r.Handle("/console/*", d.Console)
	}

	r.With(limitByAddr(d.RateRegister, d.TrustProxy)).Post("/auth/register", s.register)
	r.Get("/auth/registrations/{id}", s.registration)
	r.Post("/auth/login", s.login)
	if d.GraphQL != nil {
		r.Handle("/graphql", d.GraphQL)
		r.Handle("/graphql/playground/*", d.GraphQL) // the playground's files
	}

	r.Group(func(r chi.Router) {
		r.Use(s.authenticate)
		r.Get("/me", s.me)
		r.Get("/accounts/{number}", s.account)
		r.Get("/accounts/{number}/transactions", s.transactions)
		r.Get("/accounts/{number}/statement", s.statement)
		r.Get("/accounts/{number}/balance", s.balanceAt)
		r.With(limitByCaller(d.RateNameEnquiry)).Get("/accounts/{number}/name-enquiry", s.nameEnquiry)
		r.Post("/accounts/{number}/tier", s.upgradeTier)
		r.Post("/transfers", s.transfer)
		r.Get("/transfers/{reference}", s.transferByReference)
		r.With(requireOperator).Post("/accounts/{number}/deposits", s.deposit)
	})
	return r
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz probes every dependency concurrently with a short deadline; the
// body names what is down so an operator knows where to look.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	type result struct {
		name string
		err  error
	}
	ch := make(chan result, len(s.d.Checks))
	for _, c := range s.d.Checks {
		go func() { ch <- result{c.Name, c.Ping(ctx)} }()
	}
	status, code := map[string]string{}, http.StatusOK
	for range s.d.Checks {
		res := <-ch
		if res.err != nil {
			status[res.name] = "down"
			code = http.StatusServiceUnavailable
			logger(r.Context()).Warn("readiness check failed", "dependency", res.name, "err", res.err)
		} else {
			status[res.name] = "ok"
		}
	}
	if code != http.StatusOK {
		p := ProblemFor(bank.Errorf(bank.CodeUnavailable, "a dependency is unreachable; see checks"))
		p.Checks = status
		writeProblem(w, p)
		return
	}
	writeJSON(w, code, map[string]any{"ready": true, "checks": status})
}
