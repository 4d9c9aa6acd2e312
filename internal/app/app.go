// Package app wires the processes of the bank from one Config: the API, the
// workers and the notifier, in any combination. main calls it; end-to-end
// tests call it too, with HTTP on 127.0.0.1:0, so the whole system runs
// in-process against real services.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/bankcore/bank/activities"
	"github.com/bankcore/bank/api"
	"github.com/bankcore/bank/api/graph"
	"github.com/bankcore/bank/console"
	"github.com/bankcore/bank/internal/codec"
	"github.com/bankcore/bank/internal/config"
	"github.com/bankcore/bank/internal/fanout"
	"github.com/bankcore/bank/internal/handoff"
	"github.com/bankcore/bank/internal/kyc"
	"github.com/bankcore/bank/internal/metrics"
	"github.com/bankcore/bank/internal/notifier"
	"github.com/bankcore/bank/internal/postgres"
	"github.com/bankcore/bank/internal/rabbitmq"
	"github.com/bankcore/bank/internal/token"
	"github.com/bankcore/bank/workers"
)

// Roles selects what one process runs.
type Roles struct {
	API      bool
	Worker   bool
	Notifier bool
}

// App is a running set of roles.
type App struct {
	cfg    config.Config
	logger *slog.Logger

	pool      *pgxpool.Pool
	temporal  client.Client
	publisher *rabbitmq.Publisher
	redis     *redis.Client
	metrics   *metrics.Metrics

	httpServer *http.Server
	listener   net.Listener

	// /metrics on METRICS_ADDR, an internal port, for every role.
	metricsServer   *http.Server
	metricsListener net.Listener

	cancel context.CancelFunc
	failed chan struct{}
	wg     sync.WaitGroup
	errMu  sync.Mutex
	err    error
}

// Start connects to every dependency the roles need and starts them. It
// returns once the HTTP listener is bound and the workers are polling.
func Start(ctx context.Context, cfg config.Config, logger *slog.Logger, roles Roles) (_ *App, err error) {
	a := &App{cfg: cfg, logger: logger, failed: make(chan struct{})}
	defer func() {
		if err != nil {
			a.closeClients()
		}
	}()
	// Published secrets protect nothing: refused outside BANK_ENV=development.
	need := config.SecretsFor(roles.API, roles.Worker)
	if err := cfg.CheckSecrets(need); err != nil {
		return nil, err
	}
	for _, name := range cfg.DevDefaults() {
		if slices.Contains(need, name) {
			logger.Warn("SECURITY: a published development secret is in use (BANK_ENV=development); never outside your own machine", "setting", name)
		}
	}

	// Without PAYLOAD_KEY only a process that never reads payloads (the
	// notifier) gets this far; its client still needs a converter.
	keyring := codec.DevKeyring()
	if cfg.PayloadKey != "" {
		if keyring, err = codec.ParseKeyring(cfg.PayloadKey); err != nil {
			return nil, fmt.Errorf("PAYLOAD_KEY: %w", err)
		}
	}

	var codecOrigins []string
	if roles.API {
		if codecOrigins, err = api.CheckCodecOrigins(cfg.UICodecCORSOrigins); err != nil {
			return nil, fmt.Errorf("BANK_CODEC_CORS_ORIGINS: %w", err)
		}
	}
	// One registry per App: tests run several in one process.
	a.metrics = metrics.New(logger.With("component", "metrics"))

	dataConverter := codec.NewDataConverter(keyring)
	// The three schemas share one pool while they share one database.
	if a.pool, err = postgres.Connect(ctx, cfg.DatabaseURL, cfg.DatabaseMaxConns); err != nil {
		return nil, err
	}
	a.temporal, err = client.Dial(client.Options{
		HostPort:       cfg.TemporalAddress,
		Namespace:      cfg.TemporalNamespace,
		Logger:         tlog.NewStructuredLogger(logger.With("component", "temporal")),
		DataConverter:  dataConverter,
		MetricsHandler: a.metrics.TemporalHandler(),
	})
	if err != nil {
		return nil, fmt.Errorf("reach Temporal at %s: %w", cfg.TemporalAddress, err)
	}
	a.publisher = rabbitmq.NewPublisher(cfg.RabbitMQURL, cfg.EventsExchange, logger.With("component", "publisher"))
	redisOpts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	a.redis = redis.NewClient(redisOpts)

	runCtx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel

	users := postgres.NewUsers(a.pool)
	accounts := postgres.NewAccounts(a.pool)
	ledger := postgres.NewLedger(a.pool)

	if roles.Worker || roles.Notifier {
		// The notifier's queue must exist before the first event is
		// published, or events published before the first notifier ran
		// would be dropped by the exchange.
		consumer := rabbitmq.NewConsumer(cfg.RabbitMQURL, cfg.EventsExchange, cfg.NotifierQueue, 64, logger.With("component", "consumer"))
		if err := consumer.Declare(ctx); err != nil {
			cancel()
			return nil, fmt.Errorf("reach RabbitMQ: %w", err)
		}
		if roles.Notifier {
			n := &notifier.Notifier{
				Store:      postgres.NewNotifications(a.pool),
				Publisher:  fanout.NewPublisher(a.redis, cfg.RedisPrefix),
				Logger:     logger.With("component", "notifier"),
				ObserveLag: a.metrics.NotifierLag,
			}
			a.goRun("notifier", func() error { return n.Run(runCtx, consumer) })
		}
	}

	// Where the API and the transfers worker share a process, eagerly
	// started transfers run here, and their outcome goes straight to the
	// waiting handler once the event is confirmed (package handoff).
	var outcomes *handoff.Hub
	if roles.API && roles.Worker {
		outcomes = handoff.New()
	}
	if roles.Worker {
		ws := workers.New(a.temporal, workers.Activities{
			Registration: &activities.Registration{
				KYC:         &kyc.Client{Registry: kyc.NewMockRegistry(), Timeout: cfg.KYCTimeout},
				Users:       users,
				Evidence:    users,
				IdentityKey: []byte(cfg.IdentityKey),
			},
			Accounts: &activities.Accounts{Accounts: accounts, Tiers: accounts, IdentityKey: []byte(cfg.IdentityKey)},
			Events:   &activities.Events{Publisher: a.publisher, Outcomes: outcomes},
			Ledger:   &activities.Ledger{Ledger: ledger, Outcomes: outcomes},
		}, workers.Options{MaxConcurrentActivities: cfg.WorkerConcurrency})
		a.goRun("workers", func() error { return workers.Run(runCtx, ws) })
	}

	if roles.API {
		tokens := token.NewIssuer([]byte(cfg.JWTSecret), cfg.JWTTTL)
		// One Redis PSUBSCRIBE per API process, shared by every WebSocket.
		hub := fanout.NewHub(a.redis, cfg.RedisPrefix, logger.With("component", "hub"))
		a.goRun("fanout hub", func() error { return hub.Run(runCtx) })
		handler := api.New(api.Deps{
			Logger:        logger.With("component", "api"),
			Users:         users,
			Accounts:      accounts,
			Ledger:        ledger,
			Tiers:         accounts,
			Temporal:      a.temporal,
			DataConverter: dataConverter,
			Tokens:        tokens,
			GraphQL: graph.Handler(graph.Deps{
				Notifications: postgres.NewNotifications(a.pool),
				Hub:           hub,
				Tokens:        tokens,
				Users:         users,
				Logger:        logger.With("component", "graphql"),
				RequestID:     api.RequestID,
			}),
			Checks: []api.Check{
				{Name: "postgres", Ping: a.pool.Ping},
				{Name: "rabbitmq", Ping: a.publisher.Ping},
				{Name: "redis", Ping: func(ctx context.Context) error { return a.redis.Ping(ctx).Err() }},
				{Name: "temporal", Ping: func(ctx context.Context) error {
					_, err := a.temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
					return err
				}},
			},
			IdentityKey:              []byte(cfg.IdentityKey),
			BcryptCost:               cfg.BcryptCost,
			RegistrationWait:         cfg.RegistrationWait,
			TransferWait:             cfg.TransferWait,
			Outcomes:                 outcomes,
			SystemAccount:            postgres.SystemAccountNumber,
			RateRegister:             cfg.RateRegister,
			RateLoginFailures:        cfg.RateLoginFailures,
			RateLoginAddressFailures: cfg.RateLoginAddressFailures,
			RateNameEnquiry:          cfg.RateNameEnquiry,
			TrustProxy:               cfg.TrustForwardedFor,
			MaxInFlight:              cfg.MaxInFlight,
			Metrics:                  a.metrics,
			ServeMetrics:             cfg.MetricsOnAPI,
			Codec:                    codec.Handler(keyring),
			Console:                  console.Handler(console.Options{TemporalUIURL: cfg.TemporalUIURL, TemporalNamespace: cfg.TemporalNamespace}),
			CodecOrigins:             codecOrigins,
		})
		if a.listener, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			cancel()
			return nil, fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
		}
		a.httpServer = &http.Server{
			Handler: handler,
			// Shutdown neither closes nor waits for hijacked (WebSocket)
			// connections; cancelling runCtx after it closes them, so
			// subscribers reconnect to another instance.
			BaseContext:       func(net.Listener) context.Context { return runCtx },
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       15 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       90 * time.Second,
			MaxHeaderBytes:    16 << 10,
		}
		a.goRun("api", func() error {
			if err := a.httpServer.Serve(a.listener); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		logger.Info("API listening", "addr", a.listener.Addr().String())
	}

	// Every role serves /metrics on METRICS_ADDR, an internal port: the
	// API's public port shows no business counters unless
	// BANK_METRICS_ON_API puts them back there.
	if roles.API || roles.Worker || roles.Notifier {
		if a.metricsListener, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			cancel()
			return nil, fmt.Errorf("listen on METRICS_ADDR %s (give each process on one host its own): %w", cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", a.metrics.Handler())
		if cfg.Pprof {
			// Opt-in: profiles show code paths and timings, for the
			// people who run the bank, on the internal port only.
			mux.HandleFunc("GET /debug/pprof/", pprof.Index)
			mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
			mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
			mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
			mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		}
		a.metricsServer = &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 5 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       90 * time.Second,
			MaxHeaderBytes:    16 << 10,
		}
		a.goRun("metrics", func() error {
			if err := a.metricsServer.Serve(a.metricsListener); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		logger.Info("metrics listening", "addr", a.metricsListener.Addr().String())
	}
	return a, nil
}

// MetricsAddr is the bound METRICS_ADDR.
func (a *App) MetricsAddr() string {
	if a.metricsListener == nil {
		return ""
	}
	return a.metricsListener.Addr().String()
}

// Addr is the bound HTTP address ("" without the API role).
func (a *App) Addr() string {
	if a.listener == nil {
		return ""
	}
	return a.listener.Addr().String()
}

// Temporal is the app's Temporal client (tests read workflow history with it).
func (a *App) Temporal() client.Client { return a.temporal }

func (a *App) goRun(name string, f func() error) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := f(); err != nil {
			a.logger.Error("component stopped", "component", name, "err", err)
			a.errMu.Lock()
			if a.err == nil {
				a.err = fmt.Errorf("%s: %w", name, err)
				close(a.failed)
			}
			a.errMu.Unlock()
			a.cancel()
		}
	}()
}

// Shutdown stops accepting requests, lets in-flight ones and running
// activities finish within ctx, then closes every client in reverse order.
func (a *App) Shutdown(ctx context.Context) error {
	if a.httpServer != nil {
		if err := a.httpServer.Shutdown(ctx); err != nil {
			a.logger.Warn("HTTP shutdown", "err", err)
		}
	}
	a.cancel()
	if a.metricsServer != nil {
		if err := a.metricsServer.Shutdown(ctx); err != nil {
			a.logger.Warn("metrics shutdown", "err", err)
		}
	}
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		a.logger.Warn("shutdown deadline passed; closing anyway")
	}
	a.closeClients()
	a.errMu.Lock()
	defer a.errMu.Unlock()
	return a.err
}

// Done is closed when a component fails (the app should then shut down).
func (a *App) Done() <-chan struct{} { return a.failed }

// Err reports the first component failure.
func (a *App) Err() error {
	a.errMu.Lock()
	defer a.errMu.Unlock()
	return a.err
}

func (a *App) closeClients() {
	if a.redis != nil {
		_ = a.redis.Close()
	}
	if a.publisher != nil {
		_ = a.publisher.Close()
	}
	if a.temporal != nil {
		a.temporal.Close()
	}
	if a.pool != nil {
		a.pool.Close()
	}
	if a.metrics != nil {
		_ = a.metrics.Close()
	}
}
