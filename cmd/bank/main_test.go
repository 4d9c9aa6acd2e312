package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bankcore/bank/internal/app"
	"github.com/bankcore/bank/internal/config"
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

// TestBankProcess is not a test: TestRefusesPublishedSecrets runs the test
// binary again with BANK_TEST_MAIN set, and this becomes `bank` itself.
func TestBankProcess(t *testing.T) {
	if os.Getenv("BANK_TEST_MAIN") != "1" {
		t.Skip("runs only as the child of TestRefusesPublishedSecrets")
	}
	args := flag.Args()
	os.Exit(run(args, os.Stderr))
}

// Issue 15, finding 1: `bank api` with no secrets and no BANK_ENV (or with
// the published ones) exits non-zero before it dials anything, naming each
// missing setting and how to make one; BANK_ENV=development lets it start.
func TestRefusesPublishedSecrets(t *testing.T) {
	bank := func(env []string, args ...string) (int, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"-test.run=^TestBankProcess$", "--"}, args...)...)
		cmd.Env = append([]string{
			"BANK_TEST_MAIN=1", "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
			// Nothing answers here: a process that got past the check
			// fails at once instead of serving.
			"DATABASE_URL=postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2",
			"TEMPORAL_ADDRESS=127.0.0.1:1", "HTTP_ADDR=127.0.0.1:0", "METRICS_ADDR=127.0.0.1:0",
		}, env...)
		out, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(out)
	}
	for _, tc := range []struct {
		name, role string
		env        []string
		want       []string
	}{
		{"NoSecrets", "api", nil, []string{"JWT_SECRET", "PAYLOAD_KEY", "IDENTITY_KEY"}},
		{"Production", "api", []string{"BANK_ENV=production"}, []string{"JWT_SECRET", "PAYLOAD_KEY", "IDENTITY_KEY"}},
		{"Published", "api", []string{"JWT_SECRET=" + config.DevJWTSecret, "PAYLOAD_KEY=" + config.DevPayloadKey,
			"IDENTITY_KEY=" + config.DevIdentityKey}, []string{"JWT_SECRET", "PAYLOAD_KEY", "IDENTITY_KEY"}},
		{"Worker", "worker", nil, []string{"PAYLOAD_KEY", "IDENTITY_KEY"}},
		{"All", "all", nil, []string{"JWT_SECRET", "PAYLOAD_KEY", "IDENTITY_KEY"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := bank(tc.env, tc.role)
			if code == 0 || code == -1 {
				t.Fatalf("bank %s exited %d, want a refusal:\n%s", tc.role, code, out)
			}
			if !strings.Contains(out, "refusing to start") {
				t.Errorf("bank %s did not refuse (exit %d):\n%s", tc.role, code, out)
			}
			for _, name := range tc.want {
				if !strings.Contains(out, "export "+name+"=") {
					t.Errorf("bank %s does not say how to set %s:\n%s", tc.role, name, out)
				}
			}
			if strings.Contains(out, "reach Temporal") || strings.Contains(out, "connect") {
				t.Errorf("bank %s dialled a dependency before refusing:\n%s", tc.role, out)
			}
		})
	}
	// The same process under BANK_ENV=development gets past the check (and
	// then fails on the unreachable database, which is the point here).
	code, out := bank([]string{"BANK_ENV=development"}, "api")
	if strings.Contains(out, "refusing to start") || code == 0 {
		t.Errorf("BANK_ENV=development: exit %d:\n%s", code, out)
	}
}
