// Package webasset serves the browser pages the API embeds (the console and
// the GraphQL playground): files from an fs.FS with a strong ETag, gzip for
// clients that accept it, and the security headers every page gets. Nothing
// a page loads comes from another origin, so the Content-Security-Policy can
// allow 'self' alone and no inline script.
package webasset

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	chimw "github.com/go-chi/chi/v5/middleware"
)

// CSP is the Content-Security-Policy of every page and file served here:
// scripts, styles and connections (fetch, and WebSocket to the same host)
// from the API's own origin only; no inline script or style element, no
// eval, no plugins, no framing (clickjacking), no <base> rewriting, forms
// post nowhere. Images and fonts may also be data: URLs (GraphiQL's CSS
// inlines its fonts and icons that way).
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self' data:; connect-src 'self'; manifest-src 'self'; base-uri 'none'; " +
	"form-action 'none'; frame-ancestors 'none'"

// CSPInlineStyles is CSP for pages built on third-party components that
// insert <style> elements at run time (GraphiQL's menus and dialogs lock
// scrolling that way): inline styles are allowed, scripts still are not.
// Styles cannot run code; the worst an injected one could do is restyle
// or probe the page through selectors, and such pages show no user data
// but what the user types.
var CSPInlineStyles = strings.Replace(CSP, "style-src 'self'", "style-src 'self' 'unsafe-inline'", 1)

// SecurityHeaders sets the headers every page and asset carries, with the
// strict CSP.
func SecurityHeaders(h http.Header) { securityHeaders(h, CSP) }

func securityHeaders(h http.Header, csp string) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY") // for browsers without frame-ancestors
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
}

// Cache policies for Set.Serve.
const (
	// Revalidate: the browser keeps the file but asks each time (a 304
	// when the ETag still matches). For our own files, which change with
	// every release under the same name.
	Revalidate = "no-cache"
	// Immutable: for third-party files whose path names their version.
	Immutable = "public, max-age=31536000, immutable"
)

type file struct {
	body  []byte
	etag  string
	ctype string
}

// Set is a fixed set of files read once from an fs.FS.
type Set struct {
	files    map[string]file
	compress func(http.Handler) http.Handler
	csp      string
}

// New reads every file of fsys. Directories are not served (no listings);
// a name without a known extension is refused, so nothing is ever sniffed.
func New(fsys fs.FS) (*Set, error) {
	s := &Set{files: map[string]file{}, csp: CSP,
		compress: chimw.Compress(5, "text/html", "text/css", "text/javascript", "application/json", "image/svg+xml")}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		ctype := contentType(name)
		if ctype == "" {
			return fmt.Errorf("webasset: no content type for %s", name)
		}
		sum := sha256.Sum256(body)
		s.files[name] = file{body: body, ctype: ctype,
			// Weak: the gzip and identity encodings are one resource.
			etag: `W/"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// MustNew is New for embedded files, which cannot fail at run time once
// the package's tests pass.
func MustNew(fsys fs.FS) *Set {
	s, err := New(fsys)
	if err != nil {
		panic(err)
	}
	return s
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".json":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".txt", ".md":
		return "text/plain; charset=utf-8"
	}
	return mime.TypeByExtension(path.Ext(name))
}

// WithCSP makes the set's files carry another Content-Security-Policy
// (CSPInlineStyles) and returns the set.
func (s *Set) WithCSP(csp string) *Set {
	s.csp = csp
	return s
}

// Has reports whether name is one of the files.
func (s *Set) Has(name string) bool { _, ok := s.files[name]; return ok }

// Names lists the files (for tests).
func (s *Set) Names() []string {
	out := make([]string, 0, len(s.files))
	for n := range s.files {
		out = append(out, n)
	}
	return out
}

// Serve writes the file called name (GET and HEAD; conditional requests
// answered with 304) with the security headers and the cache policy, and
// gzip where the client accepts it. An unknown name is a 404 problem.
func (s *Set) Serve(w http.ResponseWriter, r *http.Request, name, cache string) {
	securityHeaders(w.Header(), s.csp)
	f, ok := s.files[name]
	if !ok {
		NotFound(w)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeProblem(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "files are read with GET")
		return
	}
	s.compress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", f.ctype)
		h.Set("Cache-Control", cache)
		h.Set("ETag", f.etag)
		// The zero time leaves Last-Modified out: the ETag decides.
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
	})).ServeHTTP(w, r)
}

// NotFound writes the API's 404 problem for a file that is not there.
func NotFound(w http.ResponseWriter) {
	writeProblem(w, http.StatusNotFound, "NOT_FOUND", "no such file")
}

// writeProblem writes the API's problem+json shape (docs/errors.md); this
// package cannot import api's writer without a cycle.
func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type":   "https://github.com/bankcore/bank/blob/main/docs/errors.md#" + strings.ToLower(code),
		"title":  http.StatusText(status),
		"status": status,
		"detail": detail,
		"code":   code,
	})
}
