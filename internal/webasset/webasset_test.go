package webasset

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func serve(s *Set, method, name string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/x", nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	s.Serve(w, req, name, Revalidate)
	return w
}

func TestServe(t *testing.T) {
	body := strings.Repeat("console.log('bankcore');\n", 100)
	s, err := New(fstest.MapFS{"app.js": {Data: []byte(body)}, "dir/page.html": {Data: []byte("<p>hi</p>")}})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("TypeHeadersAndETag", func(t *testing.T) {
		r := serve(s, http.MethodGet, "app.js")
		got, _ := io.ReadAll(r.Body)
		if r.Code != 200 || string(got) != body || r.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
			t.Fatalf("%d %q", r.Code, r.Header().Get("Content-Type"))
		}
		if r.Header().Get("Content-Security-Policy") != CSP || r.Header().Get("X-Frame-Options") != "DENY" ||
			r.Header().Get("X-Content-Type-Options") != "nosniff" || r.Header().Get("Cache-Control") != Revalidate {
			t.Errorf("headers %v", r.Header())
		}
		etag := r.Header().Get("ETag")
		if !strings.HasPrefix(etag, `W/"`) {
			t.Fatalf("ETag %q", etag)
		}
		if again := serve(s, http.MethodGet, "app.js", "If-None-Match", etag); again.Code != http.StatusNotModified {
			t.Errorf("revalidation: %d, want 304", again.Code)
		}
	})

	t.Run("Gzip", func(t *testing.T) {
		r := serve(s, http.MethodGet, "app.js", "Accept-Encoding", "gzip")
		if r.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding %q", r.Header().Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(zr)
		if string(got) != body {
			t.Error("gzip body differs")
		}
	})

	t.Run("UnknownAndWrongMethod", func(t *testing.T) {
		for _, name := range []string{"nope.js", "dir", "dir/"} {
			if r := serve(s, http.MethodGet, name); r.Code != 404 || r.Header().Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: %d %s", name, r.Code, r.Header().Get("Content-Type"))
			}
		}
		if r := serve(s, http.MethodPost, "app.js"); r.Code != 405 || r.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("POST: %d", r.Code)
		}
	})

	t.Run("CSPAllowsNothingInline", func(t *testing.T) {
		for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:"} {
			if strings.Contains(CSP, bad) {
				t.Errorf("CSP allows %s", bad)
			}
		}
		for _, want := range []string{"frame-ancestors 'none'", "script-src 'self'", "default-src 'none'", "base-uri 'none'"} {
			if !strings.Contains(CSP, want) {
				t.Errorf("CSP lacks %s", want)
			}
		}
	})
}

func TestNewRefusesFilesWithoutAType(t *testing.T) {
	if _, err := New(fstest.MapFS{"LICENSE": {Data: []byte("MIT")}}); err == nil {
		t.Fatal("a file without a known type was accepted (it would be sniffed)")
	}
}

func TestCSPInlineStylesAllowsNoScript(t *testing.T) {
	s := MustNew(fstest.MapFS{"a.css": {Data: []byte("p{}")}}).WithCSP(CSPInlineStyles)
	r := serve(s, http.MethodGet, "a.css")
	csp := r.Header().Get("Content-Security-Policy")
	if csp != CSPInlineStyles || !strings.Contains(csp, "style-src 'self' 'unsafe-inline';") {
		t.Fatalf("CSP %q", csp)
	}
	if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe-eval") ||
		!strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q loosens more than styles", csp)
	}
}
