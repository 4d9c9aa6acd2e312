package api

import (
	"context"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/token"
)

// The codec server (Temporal's remote codec protocol) lets an operator read
// sealed payloads in the Temporal Web UI and CLI.
//
// The Web UI calls it from the browser: fetch(endpoint + "/decode") with
// Content-Type: application/json and X-Namespace, plus Authorization only
// for its own OIDC token and only to an https endpoint, and with
// credentials: "include" when "Include cross-origin credentials" is on. It
// cannot send our JWT as a header, so the codec routes accept the operator
// token either as "Authorization: Bearer" (CLI, scripts) or from an HttpOnly,
// SameSite=Strict cookie set by the sign-in page at /codec/login. The UI at
// localhost:8233 and the API at localhost:8080 are the same site (ports do
// not count), so the browser sends the cookie; any other site's page does
// not get it. The cookie is scoped to /codec and nothing else reads it.

const (
	// CodecCookie carries the operator's access token to the codec routes.
	CodecCookie = "bank_codec_session"

	codecPrefix       = "/codec"
	codecAllowHeaders = "Content-Type, Authorization, X-Namespace"
	maxLoginFormBytes = 4 << 10
)

// CheckCodecOrigins validates BANK_CODEC_CORS_ORIGINS: exact origins
// (scheme://host[:port]) only. "*" is refused because the codec routes allow
// credentials, and a wildcard with credentials would hand decrypted PII to
// any site.
func CheckCodecOrigins(origins []string) ([]string, error) {
	var out []string
	for _, o := range origins {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if o == "*" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("codec CORS origin %q must be an exact origin such as http://localhost:8233 ('*' is not allowed)", o)
		}
		out = append(out, strings.ToLower(o))
	}
	return out, nil
}

// codecRoutes mounts the codec server under /codec.
func (s *Server) codecRoutes(r chi.Router) {
	r.Get("/login", s.codecLoginPage)
	r.Post("/login", s.codecLogin)
	r.Post("/logout", s.codecLogout)
	r.Group(func(r chi.Router) {
		r.Use(s.codecCORS)
		// Preflights are answered by codecCORS; this is for a bare OPTIONS.
		preflight := func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Allow", "POST, OPTIONS")
			w.WriteHeader(http.StatusNoContent)
		}
		r.Options("/encode", preflight)
		r.Options("/decode", preflight)
		r.Group(func(r chi.Router) {
			r.Use(s.codecAuthenticate, requireOperator, codecGuard)
			r.Method(http.MethodPost, "/encode", s.d.Codec)
			r.Method(http.MethodPost, "/decode", s.d.Codec)
		})
	})
}

// codecCORS answers preflights from the configured origins and marks their
// responses readable with credentials. A cross-origin request from any other
// origin is refused outright: the browser would hide the answer anyway, and
// refusing keeps the work (and the log line) from happening.
func (s *Server) codecCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		allowed := origin != "" && s.codecOrigins[strings.ToLower(origin)]
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			if !allowed {
				writeError(w, r, bank.Errorf(bank.CodeForbidden, "this origin may not call the codec server"))
				return
			}
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Methods", "POST")
			h.Set("Access-Control-Allow-Headers", codecAllowHeaders)
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if origin != "" && !allowed && !sameOrigin(r, origin) {
			writeError(w, r, bank.Errorf(bank.CodeForbidden, "this origin may not call the codec server"))
			return
		}
		if allowed {
			// Also on 401/403: without them the browser reports a network
			// error instead of letting the page read the problem.
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		next.ServeHTTP(w, r)
	})
}

// codecAuthenticate takes the principal from a bearer token or, when there
// is no Authorization header, from the sign-in cookie, and checks it against
// the user store as authenticate does. Errors: 401.
func (s *Server) codecAuthenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p token.Principal
		var err error
		if header := r.Header.Get("Authorization"); header != "" {
			p, err = PrincipalFromHeader(s.d.Tokens, header)
		} else if c, cerr := r.Cookie(CodecCookie); cerr == nil && c.Value != "" {
			p, err = s.d.Tokens.Verify(c.Value)
		} else {
			err = bank.Errorf(bank.CodeUnauthenticated,
				"an operator access token is required: a bearer token, or sign in at %s/login", codecPrefix)
		}
		if err == nil {
			// Decoding opens personal data: the operator must still be one.
			_, p, err = s.currentPrincipal(r.Context(), p)
		}
		if err != nil {
			if bank.ErrorCode(err) == bank.CodeUnauthenticated {
				w.Header().Set("WWW-Authenticate", `Bearer realm="bank-codec"`)
			}
			writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyPrincipal, p)))
	})
}

// codecLoginPage shows the operator sign-in form.
func (s *Server) codecLoginPage(w http.ResponseWriter, r *http.Request) {
	s.renderCodecPage(w, r, http.StatusOK, codecPage{})
}

// codecLogin signs an operator in through the same checks as POST
// /auth/login and sets the cookie; customers get 403 and no cookie.
func (s *Server) codecLogin(w http.ResponseWriter, r *http.Request) {
	if !s.sameOriginForm(r) {
		s.renderCodecPage(w, r, http.StatusForbidden, codecPage{Error: "This form may only be posted from its own page."})
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		s.renderCodecPage(w, r, http.StatusUnsupportedMediaType, codecPage{Error: "Send the form as application/x-www-form-urlencoded."})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginFormBytes)
	if err := r.ParseForm(); err != nil {
		s.renderCodecPage(w, r, http.StatusBadRequest, codecPage{Error: "The form could not be read."})
		return
	}
	email := r.PostForm.Get("email")
	p, wait, err := s.checkLogin(r, email, r.PostForm.Get("password"))
	if err != nil {
		if wait > 0 {
			retryAfter(w, wait)
		}
		prob := ProblemFor(err)
		if prob.Status >= 500 {
			logger(r.Context()).Error("codec sign-in failed", "err", err)
		}
		s.renderCodecPage(w, r, prob.Status, codecPage{Email: email, Error: prob.Detail})
		return
	}
	if p.Role != bank.RoleOperator {
		s.renderCodecPage(w, r, http.StatusForbidden, codecPage{Email: email,
			Error: "Only operators may decode workflow payloads."})
		return
	}
	tok, err := s.d.Tokens.Issue(p)
	if err != nil {
		logger(r.Context()).Error("codec sign-in: issue token", "err", err)
		s.renderCodecPage(w, r, http.StatusInternalServerError, codecPage{Error: "Internal error; try again."})
		return
	}
	ttl := s.d.Tokens.TTL()
	http.SetCookie(w, s.codecCookie(r, tok, int(ttl.Seconds())))
	s.renderCodecPage(w, r, http.StatusOK, codecPage{SignedIn: true, Until: time.Now().Add(ttl).UTC().Format(time.RFC1123)})
}

// codecLogout drops the cookie. The token itself stays valid until it
// expires (JWT_TTL); rotate JWT_SECRET to end every session at once.
func (s *Server) codecLogout(w http.ResponseWriter, r *http.Request) {
	if !s.sameOriginForm(r) {
		s.renderCodecPage(w, r, http.StatusForbidden, codecPage{Error: "This form may only be posted from its own page."})
		return
	}
	http.SetCookie(w, s.codecCookie(r, "", -1))
	s.renderCodecPage(w, r, http.StatusOK, codecPage{SignedOut: true})
}

func (s *Server) codecCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	// #nosec G124 -- Secure whenever the request came over HTTPS; plain
	// http://localhost development has no TLS to require.
	return &http.Cookie{
		Name: CodecCookie, Value: value, Path: codecPrefix, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.isHTTPS(r),
	}
}

func (s *Server) isHTTPS(r *http.Request) bool {
	return r.TLS != nil || (s.d.TrustProxy && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
}

// sameOriginForm refuses a form posted from another page (login CSRF).
// Browsers send Origin on every POST (and Sec-Fetch-Site); tools that send
// neither are let through, since they hold the password anyway.
func (s *Server) sameOriginForm(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := r.Header.Get("Origin")
	return origin == "" || sameOrigin(r, origin)
}

func sameOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

type codecPage struct {
	Email     string
	Error     string
	SignedIn  bool
	SignedOut bool
	Until     string
	Endpoint  string
	UIOrigin  string
}

func (s *Server) renderCodecPage(w http.ResponseWriter, r *http.Request, status int, p codecPage) {
	scheme := "http"
	if s.isHTTPS(r) {
		scheme = "https"
	}
	p.Endpoint = scheme + "://" + r.Host + codecPrefix
	if len(s.d.CodecOrigins) > 0 {
		p.UIOrigin = s.d.CodecOrigins[0]
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy",
		"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// Not no-referrer: with it, browsers send "Origin: null" on the form's
	// own POST, which sameOriginForm must refuse.
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	if err := codecPageTemplate.Execute(w, p); err != nil {
		logger(r.Context()).Debug("render codec page", "err", err) // the client went away
	}
}

var codecPageTemplate = template.Must(template.New("codec").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>bankcore · operator sign-in for the codec server</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1b1f}
h1{font-size:1.3rem}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.45rem;font:inherit;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1.2rem;font:inherit}.error{color:#a40000}.ok{color:#0a6a2f}code{background:#f2f2f5;padding:0 .25rem}
ol li{margin:.3rem 0}
</style></head><body>
<h1>Operator sign-in for the codec server</h1>
{{if .SignedIn}}
<p class="ok">Signed in. The Temporal Web UI can now decode payloads in this browser until {{.Until}}.</p>
<ol>
<li>Open the Web UI{{if .UIOrigin}} (<a href="{{.UIOrigin}}">{{.UIOrigin}}</a>){{end}} and its <b>Codec Server</b> settings (the icon in the navigation bar).</li>
<li>Choose <b>Use my browser setting</b>, set the endpoint to <code>{{.Endpoint}}</code>.</li>
<li>Turn on <b>Include cross-origin credentials</b>; leave <b>Pass the user access token</b> off.</li>
</ol>
<p>Open the Web UI on the same host name as this page (both <code>localhost</code>), or the browser will not send the sign-in cookie.</p>
<form method="post" action="logout"><button type="submit">Sign out</button></form>
{{else}}
{{if .SignedOut}}<p class="ok">Signed out of the codec server in this browser.</p>{{end}}
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<p>Payloads that carry personal data are encrypted in Temporal history. Sign in as an operator to let the Temporal Web UI in this browser decode them through <code>{{.Endpoint}}</code>.</p>
<form method="post" action="login">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="{{.Email}}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
{{end}}
</body></html>
`))
