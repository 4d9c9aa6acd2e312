package main

import (
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestExternalFromEnv(t *testing.T) {
	e, err := externalFromEnv(envOf(map[string]string{"BANK_API_URL": "http://localhost:8080/"}), "")
	if err != nil {
		t.Fatal(err)
	}
	if e.urlA != "http://localhost:8080" || e.urlB != e.urlA {
		t.Errorf("one URL serves as A and B: %q, %q", e.urlA, e.urlB)
	}
	if e.operator != "operator@bank.local" || e.password != "operator-dev-password" || e.namespace != "default" || e.workerConcurrency != 64 {
		t.Errorf("defaults: %+v", e)
	}
	tg := e.target()
	if tg.databaseURL != "" || tg.storeBaseURL != "" || tg.temporal != "" || tg.rabbitURL != "" {
		t.Errorf("nothing beyond the API without its settings: %+v", tg)
	}

	e, err = externalFromEnv(envOf(map[string]string{
		"BANK_API_URL": " http://127.0.0.1:8080 , http://127.0.0.1:8081", "BANK_OPERATOR_EMAIL": "op@x.test",
		"BANK_OPERATOR_PASSWORD": "pw-0123456789", "DATABASE_URL": "postgres://p@127.0.0.1/bank", "TEMPORAL_ADDRESS": "127.0.0.1:7233",
		"TEMPORAL_NAMESPACE": "ns", "WORKER_CONCURRENCY": "8",
	}), "a=12,notifier=34")
	if err != nil {
		t.Fatal(err)
	}
	if e.urlA != "http://127.0.0.1:8080" || e.urlB != "http://127.0.0.1:8081" || e.operator != "op@x.test" || e.namespace != "ns" ||
		e.workerConcurrency != 8 || e.pids["a"] != 12 || e.pids["notifier"] != 34 {
		t.Errorf("settings: %+v", e)
	}
	if tg := e.target(); tg.databaseURL == "" || tg.storeBaseURL == "" || tg.temporal != "127.0.0.1:7233" {
		t.Errorf("target with DATABASE_URL and TEMPORAL_ADDRESS: %+v", tg)
	}

	for _, bad := range []struct{ url, pids, want string }{
		{"localhost:8080", "", "not an API base URL"},
		{"http://a:1,http://b:2,http://c:3", "", "one or two"},
		{"http://a:1/api", "", "not an API base URL"},
		{",", "", "one or two"},
		{"http://a:1", "x=1", "unknown process"},
		{"http://a:1", "a=zero", "not name=PID"},
	} {
		_, err := externalFromEnv(envOf(map[string]string{"BANK_API_URL": bad.url}), bad.pids)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("BANK_API_URL=%q -pids %q: %v, want %q", bad.url, bad.pids, err, bad.want)
		}
	}
}

func TestDBHost(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://postgres@127.0.0.1:5432/bank?sslmode=disable": "127.0.0.1",
		"postgres://u:p@db.example.com/bank":                      "db.example.com",
		"host=/var/run/postgresql dbname=bank":                    "",
	} {
		if got := dbHost(dsn); got != want {
			t.Errorf("dbHost(%q) = %q, want %q", dsn, got, want)
		}
	}
}
