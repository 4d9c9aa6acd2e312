package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bankcore/bank/app"
)

func TestParseRoles(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want app.Roles
	}{
		{"api", app.Roles{API: true}},
		{"api,worker", app.Roles{API: true, Worker: true}},
		{" worker , notifier ", app.Roles{Worker: true, Notifier: true}},
		{"api,worker,notifier", app.Roles{API: true, Worker: true, Notifier: true}},
	} {
		got, err := parseRoles(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseRoles(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "api,", "all", "api,workers"} {
		if _, err := parseRoles(in); err == nil {
			t.Errorf("parseRoles(%q): no error", in)
		}
	}
}

// A bad role list fails before anything is dialled.
func TestServeRejectsBadRoles(t *testing.T) {
	for _, args := range [][]string{{"serve"}, {"serve", "api,bogus"}, {"serve", "api", "worker"}} {
		var stderr bytes.Buffer
		if code := run(args, &stderr); code == 0 {
			t.Errorf("run(%q) = 0", args)
		}
		if !strings.Contains(stderr.String(), "serve") {
			t.Errorf("run(%q): stderr does not name serve: %s", args, stderr.String())
		}
	}
}

func TestLogLevel(t *testing.T) {
	for _, tc := range []struct {
		env        string
		info, warn bool
	}{
		{"", true, true},
		{"debug", true, true},
		{"warn", false, true},
		{"ERROR", false, false},
		{"nonsense", true, true},
	} {
		t.Setenv("LOG_LEVEL", tc.env)
		var buf bytes.Buffer
		l := newLogger(&buf)
		l.Info("i")
		l.Warn("w")
		out := buf.String()
		if got := strings.Contains(out, "msg=i"); got != tc.info {
			t.Errorf("LOG_LEVEL=%q: info logged %v, want %v", tc.env, got, tc.info)
		}
		if got := strings.Contains(out, "msg=w"); got != tc.warn {
			t.Errorf("LOG_LEVEL=%q: warn logged %v, want %v", tc.env, got, tc.warn)
		}
	}
}
