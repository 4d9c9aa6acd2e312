package playground

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// The vendored files are exactly the ones gqlgen v0.17.98's playground page
// loads from the CDN: these are the Subresource Integrity hashes it pins.
var pinned = map[string]string{
	"graphiql-4.1.2/graphiql.min.js":               "sha256-hnImuor1znlJkD/FOTL3jayfS/xsyNoP04abi8bFJWs=",
	"graphiql-4.1.2/graphiql.min.css":              "sha256-MEh+B2NdMSpj9kexQNN3QKc8UzMrCXW/Sx/phcpuyIU=",
	"react-18.2.0/react.production.min.js":         "sha256-S0lp+k7zWUMk2ixteM6HZvu8L9Eh//OVrt+ZfbCpmgY=",
	"react-dom-18.2.0/react-dom.production.min.js": "sha256-IXWO0ITNDjfnNXIu5POVfqlgYoop36bDzhodR6LW5Pc=",
}

func get(t *testing.T, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestVendoredFilesArePinned(t *testing.T) {
	h := Handler()
	for name, sri := range pinned {
		resp := get(t, h, AssetPrefix+name)
		body, _ := io.ReadAll(resp.Body)
		sum := sha256.Sum256(body)
		if got := "sha256-" + base64.StdEncoding.EncodeToString(sum[:]); got != sri {
			t.Errorf("%s: %s, pinned %s", name, got, sri)
		}
		if cc := resp.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("%s: Cache-Control %q, want immutable (the version is in the path)", name, cc)
		}
		dir, _, _ := strings.Cut(name, "/")
		if lic := get(t, h, AssetPrefix+dir+"/LICENSE.txt"); lic.Code != 200 {
			t.Errorf("%s: licence not served: %d", dir, lic.Code)
		}
	}
}

// TestPageLoadsOnlyItsOwnFiles: the page references no other origin, has no
// inline script, and every file it names is served with its type and the
// security headers.
func TestPageLoadsOnlyItsOwnFiles(t *testing.T) {
	h := Handler()
	resp := get(t, h, "/graphql", "Accept", "text/html")
	page, _ := io.ReadAll(resp.Body)
	if resp.Code != 200 || !strings.HasPrefix(resp.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", resp.Code, resp.Header().Get("Content-Type"))
	}
	csp := resp.Header().Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "default-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	// Inline styles are allowed for GraphiQL's menus; inline or eval'd
	// script never.
	if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q allows scripts other than the page's own files", csp)
	}
	if resp.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no X-Content-Type-Options: nosniff")
	}
	if regexp.MustCompile(`(?i)https?:|//[a-z]`).Match(page) {
		t.Errorf("the page names another origin:\n%s", page)
	}
	for _, tag := range regexp.MustCompile(`(?i)<script\b[^>]*>`).FindAllString(string(page), -1) {
		if !strings.Contains(tag, "src=") {
			t.Errorf("inline script: %s", tag)
		}
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(string(page), -1)
	if len(refs) < 5 {
		t.Fatalf("the page names %d files, want GraphiQL's, React's and ours", len(refs))
	}
	for _, m := range refs {
		ref := m[1]
		if !strings.HasPrefix(ref, AssetPrefix) {
			t.Errorf("%s is not one of the playground's files", ref)
			continue
		}
		r := get(t, h, ref, "Accept-Encoding", "gzip")
		want := "text/javascript"
		if strings.HasSuffix(ref, ".css") {
			want = "text/css"
		}
		if r.Code != 200 || !strings.HasPrefix(r.Header().Get("Content-Type"), want) {
			t.Errorf("%s: %d %s", ref, r.Code, r.Header().Get("Content-Type"))
		}
		if r.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("%s: not compressed for a client that accepts gzip", ref)
		}
		if r.Header().Get("Content-Security-Policy") == "" || r.Header().Get("ETag") == "" {
			t.Errorf("%s: no CSP or no ETag", ref)
		}
	}
}

func TestUnknownFilesAreNotFound(t *testing.T) {
	h := Handler()
	for _, p := range []string{AssetPrefix + "nope.js", AssetPrefix, AssetPrefix + "graphiql-4.1.2/", AssetPrefix + "index.html",
		AssetPrefix + "../playground.go"} {
		resp := get(t, h, p)
		if resp.Code != 404 || resp.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s, want a 404 problem", p, resp.Code, resp.Header().Get("Content-Type"))
		}
	}
}

func TestConditionalRequestIsNotModified(t *testing.T) {
	h := Handler()
	first := get(t, h, AssetPrefix+"playground.js")
	etag := first.Header().Get("ETag")
	if etag == "" || first.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, first.Header().Get("Cache-Control"))
	}
	if again := get(t, h, AssetPrefix+"playground.js", "If-None-Match", etag); again.Code != http.StatusNotModified {
		t.Errorf("If-None-Match with the ETag: %d, want 304", again.Code)
	}
}
