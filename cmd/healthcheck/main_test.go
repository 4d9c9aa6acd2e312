package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Error(w, `{"checks":{"temporal":"down"}}`, http.StatusServiceUnavailable)
	}))
	defer srv.Close()

	var stderr bytes.Buffer
	if code := run([]string{srv.URL + "/readyz"}, &stderr); code != 0 {
		t.Errorf("ready server: exit %d (%s), want 0", code, stderr.String())
	}

	stderr.Reset()
	if code := run([]string{srv.URL + "/other"}, &stderr); code != 1 {
		t.Errorf("503: exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "503") || !strings.Contains(stderr.String(), "temporal") {
		t.Errorf("503: stderr %q, want the status and the body's first bytes", stderr.String())
	}

	// Nothing listening.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	if code := run([]string{"-timeout", "2s", "http://" + addr + "/readyz"}, &stderr); code != 1 {
		t.Errorf("refused: exit %d, want 1", code)
	}

	if code := run([]string{"a", "b"}, &stderr); code != 2 {
		t.Errorf("two URLs: exit %d, want 2 (usage)", code)
	}
}
