// Package options reads the command line of `temporal-cluster start` into
// plain values: which services this process runs, its ports, the PostgreSQL
// connection, namespaces and search attributes. It imports no Temporal server
// package, so its tests stay cheap under -race; package main turns Options
// into the server's configuration.
package options

import (
	_ "embed" // the bank's search attributes
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The services one process can run. "ui" is the Web UI server, which talks to
// a frontend over gRPC like any client.
const (
	Frontend = "frontend"
	History  = "history"
	Matching = "matching"
	Worker   = "worker"
	UI       = "ui"
)

// AllServices is what `start` runs when --services is not given.
var AllServices = []string{Frontend, History, Matching, Worker, UI}

// PostgresURLEnv names the environment variable that holds the PostgreSQL
// URL, so a password never has to appear on a command line.
const PostgresURLEnv = "TEMPORAL_POSTGRES_URL"

// DefaultPostgresURL matches the bank's local defaults (user postgres, trust).
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// bankSearchAttributes is the list of Keyword search attributes the bank's
// workflows set (workflows/names.go in the bank's module, which checks this
// file in its tests), one name a line.
//
//go:embed search_attributes.txt
var bankSearchAttributes string

// BankSearchAttributes returns the search attributes registered when no
// --search-attribute is given, each as NAME=Keyword.
func BankSearchAttributes() []string {
	var out []string
	for _, line := range strings.Split(bankSearchAttributes, "\n") {
		if name := strings.TrimSpace(line); name != "" && !strings.HasPrefix(name, "#") {
			out = append(out, name+"=Keyword")
		}
	}
	return out
}

// searchAttributeTypes are the types SQL visibility accepts for custom
// search attributes.
var searchAttributeTypes = []string{"Keyword", "Text", "Int", "Double", "Bool", "Datetime", "KeywordList"}

// Ports are the listeners of one process. Each service has a gRPC port and a
// membership (gossip) port; two processes on one host need distinct ones.
type Ports struct {
	Frontend, FrontendMembership, FrontendHTTP int
	History, HistoryMembership                 int
	Matching, MatchingMembership               int
	Worker, WorkerMembership                   int
	UI                                         int
	Metrics                                    int // Prometheus; 0 = off
}

// MaxMembershipPort: each member's membership port is stored in the
// server's cluster_membership table, a SMALLINT in the PostgreSQL schema, so
// a higher port fails every heartbeat and the service never starts.
const MaxMembershipPort = 32767

// DefaultPorts are Temporal's usual ports, so tools and habits carry over;
// the UI is on 8233 like the dev server's.
var DefaultPorts = Ports{
	Frontend: 7233, FrontendMembership: 6933, FrontendHTTP: 7243,
	History: 7234, HistoryMembership: 6934,
	Matching: 7235, MatchingMembership: 6935,
	Worker: 7239, WorkerMembership: 6939,
	UI: 8233,
}

// Postgres is where persistence and visibility live.
type Postgres struct {
	Host     string
	Port     int
	User     string
	Password string
	// AdminDB is the database connected to for CREATE DATABASE and for the
	// lock that serialises schema set-up: the URL's path, default postgres.
	AdminDB string
	// TLS follows the URL's sslmode: disable (no TLS), require (encrypted,
	// certificate not checked), verify-ca or verify-full (checked).
	TLS            bool
	VerifyHost     bool
	RootCert       string
	Cert, Key      string
	Attributes     map[string]string // other URL query parameters, passed to the driver
	URL            string            // as given, for the schema lock's own connection
	redactedString string
}

// String hides the password.
func (p Postgres) String() string { return p.redactedString }

// Options is everything `start` needs.
type Options struct {
	Services []string
	// IP is the address every listener binds and the address announced to
	// the other members of the cluster: a real interface address, not
	// 0.0.0.0, when processes run on several hosts.
	IP    string
	Ports Ports
	// FrontendAddress is where the UI finds a frontend and what the cluster
	// metadata names as its address; empty means IP:Ports.Frontend, filled
	// in once IP is resolved.
	FrontendAddress string

	HistoryShards int
	Postgres      Postgres
	DB            string // persistence database
	VisibilityDB  string
	MaxConns      int // per process and database
	SetupSchema   bool

	Namespaces       []string
	Retention        time.Duration
	SearchAttributes map[string]string // name → type

	UICodecEndpoint string

	// DynamicConfig holds KEY=JSON values; numbers that are integers are
	// ints, as the server's dynamic config expects.
	DynamicConfig map[string]any
	LogLevel      string
	LogFormat     string
}

// Has reports whether this process runs service.
func (o Options) Has(service string) bool { return slices.Contains(o.Services, service) }

// Parse reads the flags of `start` from args; getenv supplies the
// environment (os.Getenv in production).
func Parse(args []string, getenv func(string) string) (Options, error) {
	fs := flag.NewFlagSet("temporal-cluster start", flag.ContinueOnError)
	var (
		o           Options
		services    string
		pgURL       string
		namespaces  stringList
		searchAttrs stringList
		dynConfig   stringList
	)
	fs.StringVar(&services, "services", strings.Join(AllServices, ","),
		"comma-separated services this process runs: frontend, history, matching, worker, ui")
	fs.StringVar(&o.IP, "ip", "127.0.0.1", "address to bind and to announce to the other members")
	p := &o.Ports
	d := DefaultPorts
	fs.IntVar(&p.Frontend, "frontend-port", d.Frontend, "frontend gRPC port (clients: TEMPORAL_ADDRESS)")
	fs.IntVar(&p.FrontendMembership, "frontend-membership-port", d.FrontendMembership, "frontend membership port")
	fs.IntVar(&p.FrontendHTTP, "frontend-http-port", d.FrontendHTTP, "frontend HTTP API port; 0 = off")
	fs.IntVar(&p.History, "history-port", d.History, "history gRPC port")
	fs.IntVar(&p.HistoryMembership, "history-membership-port", d.HistoryMembership, "history membership port")
	fs.IntVar(&p.Matching, "matching-port", d.Matching, "matching gRPC port")
	fs.IntVar(&p.MatchingMembership, "matching-membership-port", d.MatchingMembership, "matching membership port")
	fs.IntVar(&p.Worker, "worker-port", d.Worker, "worker gRPC port")
	fs.IntVar(&p.WorkerMembership, "worker-membership-port", d.WorkerMembership, "worker membership port")
	fs.IntVar(&p.UI, "ui-port", d.UI, "Web UI port")
	fs.IntVar(&p.Metrics, "metrics-port", 0, "Prometheus /metrics port; 0 = off")
	fs.StringVar(&o.FrontendAddress, "frontend-address", "",
		"frontend the Web UI uses when this process runs none (default IP:frontend-port)")
	fs.IntVar(&o.HistoryShards, "history-shards", 4,
		"history shards; fixed when the cluster's database is created (a later change is ignored)")
	fs.StringVar(&pgURL, "postgres", "",
		"PostgreSQL URL (user, password, host, port, admin database, sslmode); default $"+PostgresURLEnv+
			" or "+DefaultPostgresURL)
	fs.StringVar(&o.DB, "db", "temporal", "persistence database (created when missing)")
	fs.StringVar(&o.VisibilityDB, "visibility-db", "temporal_visibility", "visibility database (created when missing)")
	fs.IntVar(&o.MaxConns, "max-conns", 20, "connections per database and process")
	fs.BoolVar(&o.SetupSchema, "setup-schema", true,
		"create the databases and set up or upgrade their schemas before starting (idempotent)")
	fs.Var(&namespaces, "namespace", "namespace to register besides default (repeatable)")
	fs.DurationVar(&o.Retention, "retention", 72*time.Hour, "retention of closed workflows in namespaces this process registers")
	fs.Var(&searchAttrs, "search-attribute",
		"NAME=TYPE to register in every namespace (repeatable; default: the bank's, all Keyword)")
	fs.StringVar(&o.UICodecEndpoint, "ui-codec-endpoint", "http://localhost:8080/codec",
		"codec server the Web UI's browser calls to decode payloads (the bank API's /codec); empty = none")
	fs.Var(&dynConfig, "dynamic-config-value", "KEY=JSON dynamic config value (repeatable)")
	fs.StringVar(&o.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.LogFormat, "log-format", "json", "json or console")

	if err := fs.Parse(args); err != nil {
		return Options{}, err
	}
	if fs.NArg() > 0 {
		return Options{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}

	var err error
	if o.Services, err = parseServices(services); err != nil {
		return Options{}, err
	}
	if net.ParseIP(o.IP) == nil {
		return Options{}, fmt.Errorf("--ip %q is not an IP address", o.IP)
	}
	if o.IP == "0.0.0.0" || o.IP == "::" {
		// The address is announced to the other members, who must be able
		// to dial it.
		return Options{}, errors.New("--ip must be an address the other members can reach, not a wildcard")
	}
	if err := o.Ports.check(o.Services); err != nil {
		return Options{}, err
	}
	if o.HistoryShards < 1 || o.HistoryShards > 16384 {
		return Options{}, fmt.Errorf("--history-shards %d: want 1 to 16384", o.HistoryShards)
	}
	if pgURL == "" {
		pgURL = getenv(PostgresURLEnv)
	}
	if pgURL == "" {
		pgURL = DefaultPostgresURL
	}
	if o.Postgres, err = ParsePostgresURL(pgURL); err != nil {
		return Options{}, err
	}
	for _, db := range []string{o.DB, o.VisibilityDB} {
		if !validDBName(db) {
			return Options{}, fmt.Errorf("database name %q: use lower-case letters, digits and _", db)
		}
	}
	if o.DB == o.VisibilityDB {
		return Options{}, errors.New("--db and --visibility-db must differ")
	}
	if o.MaxConns < 1 {
		return Options{}, errors.New("--max-conns must be at least 1")
	}
	o.Namespaces = []string{"default"}
	for _, ns := range namespaces {
		if ns == "" || strings.ContainsAny(ns, " \t\n") {
			return Options{}, fmt.Errorf("--namespace %q is not a namespace name", ns)
		}
		if !slices.Contains(o.Namespaces, ns) {
			o.Namespaces = append(o.Namespaces, ns)
		}
	}
	if o.Retention < 24*time.Hour {
		// The server refuses less than a day.
		return Options{}, fmt.Errorf("--retention %v: at least 24h", o.Retention)
	}
	if len(searchAttrs) == 0 {
		searchAttrs = BankSearchAttributes()
	}
	if o.SearchAttributes, err = parseSearchAttributes(searchAttrs); err != nil {
		return Options{}, err
	}
	if o.DynamicConfig, err = ParseDynamicConfig(dynConfig); err != nil {
		return Options{}, err
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, o.LogLevel) {
		return Options{}, fmt.Errorf("--log-level %q: want debug, info, warn or error", o.LogLevel)
	}
	if o.LogFormat != "json" && o.LogFormat != "console" {
		return Options{}, fmt.Errorf("--log-format %q: want json or console", o.LogFormat)
	}
	return o, nil
}

func parseServices(s string) ([]string, error) {
	var out []string
	for _, svc := range strings.Split(s, ",") {
		svc = strings.TrimSpace(svc)
		if svc == "" {
			continue
		}
		if !slices.Contains(AllServices, svc) {
			return nil, fmt.Errorf("--services: unknown service %q (want %s)", svc, strings.Join(AllServices, ", "))
		}
		if !slices.Contains(out, svc) {
			out = append(out, svc)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("--services: name at least one service")
	}
	return out, nil
}

// Listener is one port this process binds, with the flag that sets it.
type Listener struct {
	Flag string
	Port int
}

// Listeners are the ports a process running services binds: those of its
// own services (the others' ports are ignored) and metrics when on.
func (p Ports) Listeners(services []string) []Listener {
	var ls []Listener
	add := func(flag string, port int, optional bool) {
		if !optional || port != 0 {
			ls = append(ls, Listener{flag, port})
		}
	}
	for _, svc := range services {
		switch svc {
		case Frontend:
			add("--frontend-port", p.Frontend, false)
			add("--frontend-membership-port", p.FrontendMembership, false)
			add("--frontend-http-port", p.FrontendHTTP, true)
		case History:
			add("--history-port", p.History, false)
			add("--history-membership-port", p.HistoryMembership, false)
		case Matching:
			add("--matching-port", p.Matching, false)
			add("--matching-membership-port", p.MatchingMembership, false)
		case Worker:
			add("--worker-port", p.Worker, false)
			add("--worker-membership-port", p.WorkerMembership, false)
		case UI:
			add("--ui-port", p.UI, false)
		}
	}
	add("--metrics-port", p.Metrics, true)
	return ls
}

// check refuses ports out of range and two listeners of this process on one
// port.
func (p Ports) check(services []string) error {
	seen := map[int]string{}
	for _, l := range p.Listeners(services) {
		limit := 65535
		if strings.Contains(l.Flag, "membership") {
			limit = MaxMembershipPort
		}
		if l.Port < 1 || l.Port > limit {
			return fmt.Errorf("%s %d: want 1 to %d", l.Flag, l.Port, limit)
		}
		if other, dup := seen[l.Port]; dup {
			return fmt.Errorf("%s and %s are both %d", other, l.Flag, l.Port)
		}
		seen[l.Port] = l.Flag
	}
	return nil
}

// ParsePostgresURL reads postgres://user:password@host:port/admindb?sslmode=…
func ParsePostgresURL(raw string) (Postgres, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url's error quotes the URL, password included.
		return Postgres{}, errors.New("PostgreSQL URL does not parse")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return Postgres{}, fmt.Errorf("PostgreSQL URL: scheme %q, want postgres://", u.Scheme)
	}
	p := Postgres{Host: u.Hostname(), Port: 5432, AdminDB: strings.TrimPrefix(u.Path, "/"), URL: raw,
		Attributes: map[string]string{}}
	if p.Host == "" {
		return Postgres{}, errors.New("PostgreSQL URL: no host")
	}
	if ps := u.Port(); ps != "" {
		if p.Port, err = strconv.Atoi(ps); err != nil || p.Port < 1 || p.Port > 65535 {
			return Postgres{}, fmt.Errorf("PostgreSQL URL: port %q", ps)
		}
	}
	if u.User != nil {
		p.User = u.User.Username()
		p.Password, _ = u.User.Password()
	}
	if p.User == "" {
		return Postgres{}, errors.New("PostgreSQL URL: no user")
	}
	if p.AdminDB == "" {
		p.AdminDB = "postgres"
	}
	for key, vals := range u.Query() {
		if len(vals) != 1 {
			return Postgres{}, fmt.Errorf("PostgreSQL URL: %s given %d times", key, len(vals))
		}
		v := vals[0]
		switch key {
		case "sslmode":
			switch v {
			case "disable":
			case "require":
				p.TLS = true
			case "verify-ca", "verify-full":
				p.TLS, p.VerifyHost = true, true
			default:
				// allow and prefer may silently fall back to plain text.
				return Postgres{}, fmt.Errorf("PostgreSQL URL: sslmode %q: want disable, require, verify-ca or verify-full", v)
			}
		case "sslrootcert":
			p.RootCert = v
		case "sslcert":
			p.Cert = v
		case "sslkey":
			p.Key = v
		default:
			p.Attributes[key] = v
		}
	}
	if (p.RootCert != "" || p.Cert != "" || p.Key != "") && !p.TLS {
		return Postgres{}, errors.New("PostgreSQL URL: certificates given but sslmode is not require, verify-ca or verify-full")
	}
	p.redactedString = u.Redacted()
	return p, nil
}

var dbNameChars = func() [256]bool {
	var ok [256]bool
	for c := 'a'; c <= 'z'; c++ {
		ok[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		ok[c] = true
	}
	ok['_'] = true
	return ok
}()

// validDBName keeps names that need no quoting anywhere: the server's SQL
// tool writes some of its statements with the name unquoted.
func validDBName(s string) bool {
	if s == "" || len(s) > 63 || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !dbNameChars[s[i]] {
			return false
		}
	}
	return true
}

func parseSearchAttributes(list []string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range list {
		name, typ, ok := strings.Cut(item, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--search-attribute %q: want NAME=TYPE", item)
		}
		if !slices.Contains(searchAttributeTypes, typ) {
			return nil, fmt.Errorf("--search-attribute %q: type %q, want one of %s", item, typ,
				strings.Join(searchAttributeTypes, ", "))
		}
		if prev, dup := out[name]; dup && prev != typ {
			return nil, fmt.Errorf("--search-attribute %s given as %s and %s", name, prev, typ)
		}
		out[name] = typ
	}
	return out, nil
}

// ParseDynamicConfig reads KEY=JSON pairs the way the dev server's
// --dynamic-config-value does.
func ParseDynamicConfig(list []string) (map[string]any, error) {
	out := map[string]any{}
	for _, item := range list {
		key, raw, ok := strings.Cut(item, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("--dynamic-config-value %q: want KEY=JSON", item)
		}
		v, err := decodeJSONValue(raw)
		if err != nil {
			return nil, fmt.Errorf("--dynamic-config-value %s: %w", key, err)
		}
		out[key] = v
	}
	return out, nil
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
