package graph

import (
	"net/http"
	"strings"
	"testing"
)

// Issue 15, finding 7: the playground page may not be framed by other sites.
func TestPlaygroundSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	in := e.newInstance(instanceOptions{})
	req, _ := http.NewRequest(http.MethodGet, in.url, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v", resp.Header)
	}
}
