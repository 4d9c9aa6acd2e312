package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bankcore/bank/bench/internal/cpu"
	"github.com/bankcore/bank/bench/internal/report"
	"github.com/bankcore/bank/bench/internal/stack"
	bankconfig "github.com/bankcore/bank/internal/config"
)

// external is a bank the bench did not start (BANK_API_URL), with what the
// environment tells about it.
type external struct {
	urlA, urlB         string
	operator, password string
	databaseURL        string
	temporal           string
	namespace          string
	rabbitURL          string
	workerConcurrency  int
	pids               map[string]int // from -pids: temporal, a, b, notifier
}

// externalFromEnv reads BANK_API_URL ("A" or "A,B") and the optional
// settings the bench may use with it; pids is the -pids flag.
func externalFromEnv(getenv func(string) string, pids string) (*external, error) {
	var urls []string
	for _, u := range strings.Split(getenv("BANK_API_URL"), ",") {
		u = strings.TrimRight(strings.TrimSpace(u), "/")
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || (p.Path != "" && p.Path != "/") {
			return nil, fmt.Errorf("BANK_API_URL: %q is not an API base URL such as http://localhost:8080", u)
		}
		urls = append(urls, u)
	}
	if len(urls) == 0 || len(urls) > 2 {
		return nil, errors.New("BANK_API_URL: one or two comma-separated URLs (instance A, instance B)")
	}
	e := &external{urlA: urls[0], urlB: urls[len(urls)-1],
		operator: getenv("BANK_OPERATOR_EMAIL"), password: getenv("BANK_OPERATOR_PASSWORD"),
		databaseURL: getenv("DATABASE_URL"), temporal: getenv("TEMPORAL_ADDRESS"), namespace: getenv("TEMPORAL_NAMESPACE"),
		rabbitURL: getenv("RABBITMQ_URL"), workerConcurrency: 64, pids: map[string]int{}}
	if e.operator == "" {
		e.operator = bankconfig.DevOperatorEmail
	}
	if e.password == "" {
		e.password = bankconfig.DevOperatorPassword
	}
	if e.namespace == "" {
		e.namespace = "default"
	}
	if v := getenv("WORKER_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("WORKER_CONCURRENCY: %q is not a positive integer", v)
		}
		e.workerConcurrency = n
	}
	if pids != "" {
		for _, f := range strings.Split(pids, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
			pid, err := strconv.Atoi(v)
			if !ok || err != nil || pid < 1 {
				return nil, fmt.Errorf("-pids: %q is not name=PID", f)
			}
			switch k {
			case "temporal", "a", "b", "notifier":
				e.pids[k] = pid
			default:
				return nil, fmt.Errorf("-pids: unknown process %q (temporal, a, b, notifier)", k)
			}
		}
	}
	return e, nil
}

// target is what the run may use: the store pair and the database checks
// only with DATABASE_URL, the ceiling only with TEMPORAL_ADDRESS, raw
// RabbitMQ only with RABBITMQ_URL.
func (e *external) target() *target {
	return &target{urlA: e.urlA, urlB: e.urlB, operator: e.operator, password: e.password,
		databaseURL: e.databaseURL, storeBaseURL: e.databaseURL, temporal: e.temporal, namespace: e.namespace,
		workerConcurrency: e.workerConcurrency, rabbitURL: e.rabbitURL}
}

// check makes sure both instances are ready, then finds the processes whose
// CPU can be read: given with -pids, else the ones listening on the ports
// of URLs on this machine.
func (e *external) check(ctx context.Context, t *target) error {
	for _, u := range []string{t.urlA, t.urlB} {
		if err := ready(ctx, u); err != nil {
			return fmt.Errorf("BANK_API_URL: %w", err)
		}
	}
	type found struct {
		pid  int
		note string
	}
	find := func(key, hostport, defPort string) found {
		if pid := e.pids[key]; pid > 0 {
			if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil {
				return found{note: fmt.Sprintf("-pids %s=%d: no such process", key, pid)}
			}
			return found{pid: pid}
		}
		if hostport == "" {
			return found{note: "not given"}
		}
		host, port, err := net.SplitHostPort(hostport)
		if err != nil {
			host, port = hostport, defPort
		}
		n, err := strconv.Atoi(port)
		if err != nil || !cpu.LocalHost(host) {
			return found{note: hostport + " is not on this machine; give -pids " + key + "=PID"}
		}
		if pid := cpu.ListenerPid(n); pid > 0 {
			return found{pid: pid}
		}
		return found{note: "no process found listening on port " + port + "; give -pids " + key + "=PID"}
	}
	hostOf := func(raw string) (string, string) {
		p, _ := url.Parse(raw)
		def := "80"
		if p.Scheme == "https" {
			def = "443"
		}
		return p.Host, def
	}
	ha, da := hostOf(t.urlA)
	hb, db := hostOf(t.urlB)
	a := find("a", ha, da)
	b := find("b", hb, db)
	srv := find("temporal", e.temporal, "7233")
	if e.temporal == "" && e.pids["temporal"] == 0 {
		srv.note = "TEMPORAL_ADDRESS not given"
	}
	n := found{note: "not given: -pids notifier=PID"}
	if pid := e.pids["notifier"]; pid > 0 {
		n = find("notifier", "", "")
	}
	if b.pid > 0 && b.pid == a.pid {
		b = found{note: "the same process as bank A, counted there"}
	}
	cmdA := cpu.Cmdline(a.pid)
	if n.pid == 0 && a.pid > 0 && strings.HasSuffix(cmdA, " all") {
		n.note = "part of bank A (`bank all`), counted there"
	}
	if n.pid > 0 && n.pid == a.pid {
		n = found{note: "the same process as bank A, counted there"}
	}
	t.probe = cpu.Probe{Pids: cpu.Procs{Server: nonzero(srv.pid), BankA: a.pid, BankB: b.pid, Notifier: n.pid}}
	// PostgreSQL and RabbitMQ+Redis are read only when the bank runs on
	// this machine (then so, as far as we know, do they).
	if a.pid > 0 {
		t.probe.Broker = true
		if t.databaseURL != "" {
			if host := dbHost(t.databaseURL); cpu.LocalHost(host) {
				t.probe.Postgres, t.probe.Databases = true, []string{stack.DBName(t.databaseURL)}
			}
		}
	}
	proc := func(name string, f found) report.Process {
		return report.Process{Name: name, Pid: f.pid, Cmdline: cpu.Cmdline(f.pid), Note: f.note}
	}
	t.processes = []report.Process{
		proc("Temporal server", srv), proc("bank A", a), proc("bank B", b), proc("notifier", n),
		{Name: "load generator", Pid: os.Getpid(), Cmdline: cpu.Cmdline(os.Getpid())},
	}
	return nil
}

// ready is nil when GET base/readyz answers 200 within a few seconds.
func ready(ctx context.Context, base string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s does not answer: %w", base, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s/readyz: %s %s", base, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// dbHost is the host of a postgres:// URL ("" for a key=value DSN or a
// socket, which are local).
func dbHost(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Hostname()
}

// nonzero is pid as a list, empty for 0 (not found).
func nonzero(pid int) []int {
	if pid > 0 {
		return []int{pid}
	}
	return nil
}
