package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/token"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyLogger
	keyPrincipal
)

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

// RequestID returns the id this package's middleware gave the request ("" outside one),
// for handlers mounted from other packages (GraphQL) to log and report.
func RequestID(ctx context.Context) string { return requestID(ctx) }

func logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(keyLogger).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// withRequestID takes a sane inbound X-Request-Id or makes one, echoes it,
// and hands a request-scoped logger down.
func withRequestID(base *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get("X-Request-Id")
			if !validRequestID.MatchString(id) {
				var b [12]byte
				_, _ = rand.Read(b[:])
				id = hex.EncodeToString(b[:])
			}
			w.Header().Set("X-Request-Id", id)
			ctx := context.WithValue(r.Context(), keyRequestID, id)
			ctx = context.WithValue(ctx, keyLogger, base.With("request_id", id))
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// accessLog logs one line per request with the route pattern, not the raw
// path, so account numbers stay out of aggregated logs.
func accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := chimw.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := chi.RouteContext(r.Context()).RoutePattern()
		logger(r.Context()).Info("http", "method", r.Method, "route", route,
			"status", ww.Status(), "bytes", ww.BytesWritten(), "took", time.Since(start))
	})
}

// recoverer turns a panic into a logged 500 problem instead of a dropped
// connection.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				logger(r.Context()).Error("panic", "value", v)
				writeError(w, r, bank.Errorf(bank.CodeInternal, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// PrincipalFromHeader verifies an "Authorization: Bearer <token>" value.
// Errors: UNAUTHENTICATED.
func PrincipalFromHeader(tokens *token.Issuer, header string) (token.Principal, error) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return token.Principal{}, bank.Errorf(bank.CodeUnauthenticated, "a bearer access token is required")
	}
	return tokens.Verify(strings.TrimSpace(tok))
}

// requireOperator refuses customers with 403.
func requireOperator(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if principal(r).Role != bank.RoleOperator {
			writeError(w, r, bank.Errorf(bank.CodeForbidden, "operators only"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func principal(r *http.Request) token.Principal {
	p, _ := r.Context().Value(keyPrincipal).(token.Principal)
	return p
}

// clientAddr is the address rate limits are keyed by. X-Forwarded-For is
// trusted only behind a proxy we run (BANK_TRUST_PROXY), as clients can
// forge it.
func clientAddr(r *http.Request, trustProxy bool) string {
	if trustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			if ip := net.ParseIP(strings.TrimSpace(first)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
