package console

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	return w
}

func TestHandler(t *testing.T) {
	h := Handler(Options{TemporalUIURL: "http://localhost:8233", TemporalNamespace: "default"})

	t.Run("BareMountRedirects", func(t *testing.T) {
		r := get(t, h, "/console")
		if r.Code != http.StatusPermanentRedirect || r.Header().Get("Location") != "/console/" {
			t.Fatalf("%d %q", r.Code, r.Header().Get("Location"))
		}
	})

	t.Run("PageWithStrictCSP", func(t *testing.T) {
		r := get(t, h, "/console/")
		body, _ := io.ReadAll(r.Body)
		if r.Code != 200 || !strings.HasPrefix(r.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("%d %s", r.Code, r.Header().Get("Content-Type"))
		}
		csp := r.Header().Get("Content-Security-Policy")
		if strings.Contains(csp, "unsafe-") || !strings.Contains(csp, "script-src 'self';") ||
			!strings.Contains(csp, "style-src 'self';") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP %q", csp)
		}
		if r.Header().Get("Cache-Control") != "no-cache" || r.Header().Get("ETag") == "" {
			t.Errorf("Cache-Control %q ETag %q: the page must be revalidated", r.Header().Get("Cache-Control"), r.Header().Get("ETag"))
		}
		if !strings.Contains(string(body), `<script type="module" src="/console/js/main.js">`) {
			t.Error("the page does not load the console's entry module")
		}
	})

	t.Run("Config", func(t *testing.T) {
		r := get(t, h, "/console/config.json")
		var cfg map[string]string
		if err := json.NewDecoder(r.Body).Decode(&cfg); err != nil {
			t.Fatal(err)
		}
		if r.Header().Get("Cache-Control") != "no-store" || cfg["temporal_ui_url"] != "http://localhost:8233" || cfg["temporal_namespace"] != "default" {
			t.Errorf("%v %v", r.Header(), cfg)
		}
	})

	t.Run("VendoredFilesAreCachedForGood", func(t *testing.T) {
		r := get(t, h, "/console/vendor/graphql-ws-6.4.2/client.js")
		if r.Code != 200 || !strings.Contains(r.Header().Get("Cache-Control"), "immutable") {
			t.Errorf("%d %q", r.Code, r.Header().Get("Cache-Control"))
		}
		if r := get(t, h, "/console/js/main.js"); r.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("our modules: Cache-Control %q, want no-cache", r.Header().Get("Cache-Control"))
		}
	})

	t.Run("UnknownIsNotFound", func(t *testing.T) {
		for _, p := range []string{"/console/nope.js", "/console/index.html", "/console/js/", "/console/js"} {
			r := get(t, h, p)
			if r.Code != 404 || r.Header().Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: %d %s", p, r.Code, r.Header().Get("Content-Type"))
			}
		}
	})
}

// The graphql-ws client files are those of the npm package graphql-ws@6.4.2
// (dist/client.js, dist/common-CGW11Fyb.js, LICENSE.md), unchanged.
var pinned = map[string]string{
	"vendor/graphql-ws-6.4.2/client.js":          "99eef5372cbdd14e05eb6173840f6e359de0bb59dc1d29d7f9c72de2b35c8702",
	"vendor/graphql-ws-6.4.2/common-CGW11Fyb.js": "00dc68b0645f642f7bd56c1a4c0ee87a346209be844ed67cbbb4834a1213f010",
	"vendor/graphql-ws-6.4.2/LICENSE.md":         "58737f97fe15c9aa68eb067f97a5488ceffca6835bfce511c6819c5156dca48e",
}

func TestVendoredFilesArePinned(t *testing.T) {
	for name, want := range pinned {
		body, err := fs.ReadFile(static, "static/"+name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s: sha256 %s, pinned %s", name, got, want)
		}
	}
}

// TestNoMarkupFromStrings keeps the rule the XSS browser test checks
// from the other side: the console's own code never parses a string as
// HTML or code, and money never goes through a float.
func TestNoMarkupFromStrings(t *testing.T) {
	forbidden := regexp.MustCompile(`\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|\beval\(|new Function\(|parseFloat|Number\.parseFloat|toFixed\(`)
	html := regexp.MustCompile(`(?i)<script\b[^>]*>|\son\w+=|style=`)
	err := fs.WalkDir(static, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(name, "static/vendor/") {
			return err
		}
		body, err := fs.ReadFile(static, name)
		if err != nil {
			return err
		}
		switch {
		case strings.HasSuffix(name, ".js"):
			for _, m := range forbidden.FindAllString(string(body), -1) {
				t.Errorf("%s uses %s", name, m)
			}
		case strings.HasSuffix(name, ".html"):
			for _, m := range html.FindAllString(string(body), -1) {
				if !strings.Contains(m, "src=") {
					t.Errorf("%s has inline script, a handler attribute or a style attribute: %s", name, m)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
