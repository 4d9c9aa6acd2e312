package options

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

func TestParseDefaults(t *testing.T) {
	o, err := Parse(nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.Services, AllServices) {
		t.Errorf("services = %v, want all of %v", o.Services, AllServices)
	}
	if o.Ports != DefaultPorts {
		t.Errorf("ports = %+v, want %+v", o.Ports, DefaultPorts)
	}
	if o.HistoryShards != 4 || o.DB != "temporal" || o.VisibilityDB != "temporal_visibility" {
		t.Errorf("shards %d, db %q, visibility db %q", o.HistoryShards, o.DB, o.VisibilityDB)
	}
	if o.Postgres.Host != "127.0.0.1" || o.Postgres.Port != 5432 || o.Postgres.User != "postgres" ||
		o.Postgres.AdminDB != "postgres" || o.Postgres.TLS {
		t.Errorf("postgres = %+v, want the bank's local default", o.Postgres)
	}
	if !reflect.DeepEqual(o.Namespaces, []string{"default"}) || o.Retention != 72*time.Hour {
		t.Errorf("namespaces %v retention %v", o.Namespaces, o.Retention)
	}
	want := map[string]string{"BankReference": "Keyword", "BankFromAccount": "Keyword", "BankToAccount": "Keyword",
		"BankUserID": "Keyword", "BankStatus": "Keyword"}
	if !reflect.DeepEqual(o.SearchAttributes, want) {
		t.Errorf("search attributes = %v, want the bank's %v", o.SearchAttributes, want)
	}
	if o.UICodecEndpoint != "http://localhost:8080/codec" {
		t.Errorf("codec endpoint = %q, want the bank API's default", o.UICodecEndpoint)
	}
	if o.FrontendAddress != "" {
		t.Errorf("frontend address = %q, want empty until the IP is resolved", o.FrontendAddress)
	}
}

func TestParseHistoryHost(t *testing.T) {
	o, err := Parse([]string{"--services", "history", "--history-port", "7334", "--history-membership-port", "7034",
		"--history-shards", "8", "--namespace", "bank", "--namespace", "default", "--search-attribute", "X=Int",
		"--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000",
		"--dynamic-config-value", `frontend.namespaceRPS={"n":2.5,"list":[1,"a"]}`}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Has(History) || o.Has(Frontend) || o.Has(UI) {
		t.Errorf("services = %v, want history only", o.Services)
	}
	if o.HistoryShards != 8 || !reflect.DeepEqual(o.Namespaces, []string{"default", "bank"}) {
		t.Errorf("shards %d namespaces %v", o.HistoryShards, o.Namespaces)
	}
	if !reflect.DeepEqual(o.SearchAttributes, map[string]string{"X": "Int"}) {
		t.Errorf("search attributes = %v, want only X (given ones replace the bank's)", o.SearchAttributes)
	}
	if v, ok := o.DynamicConfig["history.transferProcessorMaxPollRPS"].(int); !ok || v != 1000 {
		t.Errorf("integer dynamic config = %#v, want int 1000 (the server reads ints only as int)",
			o.DynamicConfig["history.transferProcessorMaxPollRPS"])
	}
	nested := o.DynamicConfig["frontend.namespaceRPS"].(map[string]any)
	if nested["n"] != 2.5 || !reflect.DeepEqual(nested["list"], []any{1, "a"}) {
		t.Errorf("nested dynamic config = %#v", nested)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown service", []string{"--services", "frontend,historian"}, `unknown service "historian"`},
		{"no service", []string{"--services", " , "}, "at least one service"},
		{"wildcard ip", []string{"--ip", "0.0.0.0"}, "not a wildcard"},
		{"two listeners on one port", []string{"--history-port", "7233"}, "--frontend-port and --history-port are both 7233"},
		{"membership port above smallint", []string{"--history-membership-port", "40000"}, "want 1 to 32767"},
		{"port out of range", []string{"--ui-port", "70000"}, "want 1 to 65535"},
		{"shards", []string{"--history-shards", "0"}, "want 1 to 16384"},
		{"same databases", []string{"--visibility-db", "temporal"}, "must differ"},
		{"database name needing quotes", []string{"--db", "Temporal-Prod"}, "lower-case letters"},
		{"short retention", []string{"--retention", "1h"}, "at least 24h"},
		{"search attribute without type", []string{"--search-attribute", "BankReference"}, "want NAME=TYPE"},
		{"search attribute type", []string{"--search-attribute", "A=Float"}, `type "Float"`},
		{"dynamic config not JSON", []string{"--dynamic-config-value", "k=fast"}, "not JSON"},
		{"log level", []string{"--log-level", "loud"}, "--log-level"},
		{"arguments", []string{"history"}, "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.args, noEnv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%v) = %v, want an error containing %q", tc.args, err, tc.want)
			}
		})
	}
}

// A port used by a service this process does not run is no conflict: each
// process of a cluster binds only its own.
func TestParsePortsOfOtherServicesIgnored(t *testing.T) {
	if _, err := Parse([]string{"--services", "history", "--frontend-port", "7234"}, noEnv); err != nil {
		t.Fatal(err)
	}
}

func TestPostgresURL(t *testing.T) {
	o, err := Parse(nil, func(k string) string {
		if k == PostgresURLEnv {
			return "postgres://temporal:s3cret@db.internal:6432/admin?sslmode=verify-full&sslrootcert=/ca.pem&application_name=temporal"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	p := o.Postgres
	if p.Host != "db.internal" || p.Port != 6432 || p.User != "temporal" || p.Password != "s3cret" || p.AdminDB != "admin" {
		t.Errorf("postgres = %+v", p)
	}
	if !p.TLS || !p.VerifyHost || p.RootCert != "/ca.pem" {
		t.Errorf("TLS %v verify %v root %q, want verified TLS with the CA", p.TLS, p.VerifyHost, p.RootCert)
	}
	if !reflect.DeepEqual(p.Attributes, map[string]string{"application_name": "temporal"}) {
		t.Errorf("attributes = %v, want the rest of the query, TLS settings taken out", p.Attributes)
	}
	if s := p.String(); strings.Contains(s, "s3cret") || !strings.Contains(s, "db.internal") {
		t.Errorf("String() = %q, want the URL without its password", s)
	}

	// The flag wins over the environment.
	o, err = Parse([]string{"--postgres", "postgres://u@h/?sslmode=require"}, func(string) string { return "postgres://x@y/" })
	if err != nil {
		t.Fatal(err)
	}
	if o.Postgres.Host != "h" || !o.Postgres.TLS || o.Postgres.VerifyHost || o.Postgres.AdminDB != "postgres" {
		t.Errorf("postgres = %+v, want h with unverified TLS and the postgres admin database", o.Postgres)
	}

	for raw, want := range map[string]string{
		"mysql://u@h/":                            "scheme",
		"postgres://h/":                           "no user",
		"postgres://u@h:99999/":                   "port",
		"postgres://u@h/?sslmode=prefer":          "sslmode",
		"postgres://u@h/?sslrootcert=/ca.pem":     "certificates given",
		"postgres://u:pw@h/?a=1&a=2":              "given 2 times",
		"postgres://u:topsecret@h:5432/%zz?x=y":   "does not parse",
		"postgres://u:topsecret@h:5432/?sslmode=": "sslmode",
	} {
		_, err := ParsePostgresURL(raw)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePostgresURL(%q) = %v, want an error containing %q", raw, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "topsecret") {
			t.Errorf("ParsePostgresURL error %q quotes the password", err)
		}
	}
}
