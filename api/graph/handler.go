package graph

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/bankcore/bank/api/graph/playground"
	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/strictjson"
)

// CloseUnauthorized is the WebSocket close code for a connection_init
// without a valid access token (graphql-ws's Unauthorized).
const CloseUnauthorized = 4401

// Deps are the endpoint's dependencies, built by the caller.
type Deps struct {
	Notifications Notifications
	Hub           Hub
	Tokens        Tokens
	// Users confirms each token's user still exists; nil only in tests of
	// this package, whose users live in the token alone.
	Users  Users
	Logger *slog.Logger
	// RequestID returns the id the API's middleware gave the request; it is
	// logged with internal errors and shown to the client as their
	// extensions.requestId. Optional.
	RequestID func(context.Context) string
	// OriginPatterns are the hosts of other origins whose browser pages may
	// open the WebSocket (coder/websocket AcceptOptions.OriginPatterns, e.g.
	// "app.example.com"). The API's own origin, and clients that send no
	// Origin (anything but a browser), always may.
	OriginPatterns []string
	// KeepAlive is how often an open socket is pinged: graphql-ws clients
	// get "ka" messages, graphql-transport-ws clients "ping" and must answer
	// "pong" within two intervals or be disconnected. Default 15s.
	KeepAlive time.Duration
	// InitTimeout is how long a socket may stay open without a
	// connection_init. Default 10s.
	InitTimeout time.Duration
}

type server struct {
	deps   Deps
	logger *slog.Logger
	gql    *handler.Server
	page   http.Handler
}

// Handler serves /graphql: POST for queries and mutations (token in the
// Authorization header), WebSocket for subscriptions (token in the
// connection_init payload), and the GraphiQL page for a browser's GET.
func Handler(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.KeepAlive <= 0 {
		d.KeepAlive = 15 * time.Second
	}
	if d.InitTimeout <= 0 {
		d.InitTimeout = 10 * time.Second
	}
	s := &server{deps: d, logger: d.Logger.With("component", "graphql")}

	gql := handler.New(NewExecutableSchema(Config{
		Resolvers:  &Resolver{notifications: d.Notifications, hub: d.Hub},
		Complexity: complexity(),
	}))
	readLimit := int64(MaxBodyBytes)
	gql.AddTransport(transport.Websocket{
		Implementation: protocolGuard{inner: transport.CoderWebsocketImplementation{
			AcceptOptions: websocket.AcceptOptions{OriginPatterns: d.OriginPatterns},
		}},
		InitFunc:              s.initSocket,
		InitTimeout:           d.InitTimeout,
		KeepAlivePingInterval: d.KeepAlive,
		PingPongInterval:      d.KeepAlive,
		PayloadReadLimit:      &readLimit,
		CloseFunc:             s.socketClosed,
	})
	gql.AddTransport(transport.POST{})
	gql.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	gql.SetValidationRulesFn(validationRules)
	gql.Use(extension.Introspection{})
	gql.Use(extension.FixedComplexityLimit(MaxComplexity))
	gql.Use(documentLimits{})
	gql.Use(subscriptionsOverWebSocket{})
	gql.SetErrorPresenter(s.presentError)
	gql.SetRecoverFunc(recoverPanic)
	s.gql = gql
	s.page = playground.Handler() // GraphiQL from the binary: works offline
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, playground.AssetPrefix):
		s.page.ServeHTTP(w, r) // the playground's scripts and styles
	case strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
		s.serveWebSocket(w, r)
	case r.Method == http.MethodPost:
		s.servePOST(w, r)
	case r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html"):
		s.page.ServeHTTP(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, bank.CodeMethodNotAllowed,
			"send queries and mutations with POST (application/json), subscriptions over WebSocket; GET serves the playground to browsers")
	}
}

// serveWebSocket hands the upgrade to gqlgen. The API server's read and
// write timeouts are meant for requests: left on the connection, they would
// cut every subscription after WriteTimeout. Current net/http clears them
// when the connection is hijacked, but http.Hijacker long documented that
// they may remain, so they are cleared here explicitly as well. An idle or
// dead socket is ended by InitTimeout, the ping/pong keep-alive and the
// token's expiry instead.
func (s *server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.logger.WarnContext(r.Context(), "clear read deadline before websocket upgrade", "err", err)
	}
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.logger.WarnContext(r.Context(), "clear write deadline before websocket upgrade", "err", err)
	}
	s.gql.ServeHTTP(w, r)
}

func (s *server) servePOST(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, bank.CodeUnsupportedMedia, "Content-Type must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, bank.CodeBodyTooLarge, "request body is over 64 KiB")
			return
		}
		writeError(w, http.StatusBadRequest, bank.CodeValidation, "could not read the request body")
		return
	}
	// One operation per request: a batch (a JSON array) would multiply the
	// complexity limit by its length.
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
		writeError(w, http.StatusBadRequest, bank.CodeValidation, "batched operations are not supported: send one operation per request")
		return
	}
	// As in REST: no invalid UTF-8, lone surrogates or repeated keys (a
	// second "query" would otherwise win over the first).
	if err := strictjson.Check(body); err != nil {
		writeError(w, http.StatusBadRequest, bank.CodeValidation, bank.ErrorMessage(err))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	p, _, authErr := s.verify(r.Context(), r.Header.Get("Authorization"))
	ctx := context.WithValue(withAuth(r.Context(), p, authErr), overHTTPKey{}, true)
	w.Header().Set("Cache-Control", "no-store")
	s.gql.ServeHTTP(w, r.WithContext(ctx))
}

// overHTTPKey marks operations that came in a POST rather than a socket.
type overHTTPKey struct{}

// subscriptionsOverWebSocket refuses a subscription sent in a POST, which
// gqlgen would otherwise hold open until the first notification.
type subscriptionsOverWebSocket struct{}

func (subscriptionsOverWebSocket) ExtensionName() string { return "SubscriptionsOverWebSocket" }

func (subscriptionsOverWebSocket) Validate(graphql.ExecutableSchema) error { return nil }

func (subscriptionsOverWebSocket) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil || oc.Operation.Operation != ast.Subscription || ctx.Value(overHTTPKey{}) == nil {
		return nil
	}
	err := gqlerror.Errorf("subscriptions are served over WebSocket only (graphql-transport-ws or graphql-ws)")
	errcode.Set(err, errcode.ValidationFailed)
	return err
}

// expiryKey holds the function that releases a socket's token-expiry timer.
type expiryKey struct{}

// initSocket authenticates a WebSocket by the Authorization value of its
// connection_init payload. Without a valid token the socket is closed with
// 4401. With one, the socket lives at most until the token expires: it is
// then closed normally, and the client reconnects with a fresh token.
func (s *server) initSocket(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	p, expires, err := s.verify(ctx, payload.Authorization())
	if bank.ErrorCode(err) == bank.CodeUnavailable {
		// Not the client's fault: it may retry at once (1011, internal error).
		ctx = transport.WithWebsocketCloseCode(ctx, int(websocket.StatusInternalError))
		ctx = transport.AppendCloseReason(ctx, "Try again")
		return ctx, nil, errors.New(bank.ErrorMessage(err))
	}
	if err != nil {
		s.logger.InfoContext(ctx, "websocket refused", "reason", bank.ErrorMessage(err), "request_id", s.requestID(ctx))
		ctx = transport.WithWebsocketCloseCode(ctx, CloseUnauthorized)
		ctx = transport.AppendCloseReason(ctx, "Unauthorized")
		return ctx, nil, errors.New(bank.ErrorMessage(err))
	}
	ctx, release := context.WithDeadline(ctx, expires)
	ctx = context.WithValue(ctx, expiryKey{}, release)
	ctx = context.WithValue(ctx, socketSubscriptionsKey{}, &socketSubscriptions{})
	return withAuth(ctx, p, nil), nil, nil
}

func (s *server) socketClosed(ctx context.Context, code int) {
	if release, ok := ctx.Value(expiryKey{}).(context.CancelFunc); ok {
		release()
	}
	s.logger.DebugContext(ctx, "websocket closed", "code", code, "request_id", s.requestID(ctx))
}
