package clustertest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mathrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// adminURL is the PostgreSQL server the clusters' databases are made in, as
// the bank's own tests read it.
var adminURL = envOr("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")

// binary is the temporal-cluster under test: $TEMPORAL_CLUSTER_BIN (what
// `make test` has just built from this source), else built by TestMain.
var binary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	binary = os.Getenv("TEMPORAL_CLUSTER_BIN")
	if binary == "" {
		dir, err := os.MkdirTemp("", "temporal-cluster-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer func() { _ = os.RemoveAll(dir) }()
		binary = filepath.Join(dir, "temporal-cluster")
		// Without -race: the server is a child process, built as it ships.
		build := exec.Command("go", "build", "-o", binary, "github.com/bankcore/bank/tools/temporal-cluster")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building temporal-cluster:", err)
			return 1
		}
	}
	return m.Run()
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func suffix() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// databases names a fresh pair of databases for one cluster (the cluster
// creates them) and drops them when the test ends, after its processes
// (cleanups run last-registered first).
func databases(t *testing.T) (db, visibilityDB string) {
	t.Helper()
	db = "tc_test_" + suffix()
	visibilityDB = db + "_vis"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("dropping test databases: %v", err)
			return
		}
		defer func() { _ = conn.Close(ctx) }()
		for _, name := range []string{db, visibilityDB} {
			if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
				t.Errorf("dropping %s: %v", name, err)
			}
		}
	})
	return db, visibilityDB
}

// freePorts reserves n distinct free ports on 127.0.0.1 and releases them
// for the cluster to bind. They come from below the kernel's ephemeral range
// (so no outgoing connection takes one meanwhile) and below 32768, where
// membership ports must be (see options.MaxMembershipPort).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			t.Fatalf("no %d free ports in %d-%d", n, lowPort, highPort)
		}
		port := lowPort + mathrand.IntN(highPort-lowPort+1)
		l, err := net.Listen("tcp", "127.0.0.1:"+itoa(port))
		if err != nil {
			continue // taken
		}
		ls = append(ls, l)
		ports = append(ports, port)
	}
	return ports
}

const lowPort, highPort = 20000, 32767

// tail keeps the last bytes a process wrote, for failure messages, and
// hands its ready line over.
type tail struct {
	mu    sync.Mutex
	buf   []byte
	ready chan string
	once  sync.Once
	line  []byte
}

const tailSize = 16 << 10

func newTail() *tail { return &tail{ready: make(chan string, 1)} }

func (w *tail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) > tailSize {
		w.buf = w.buf[len(w.buf)-tailSize:]
	}
	w.line = append(w.line, p...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			break
		}
		line := string(w.line[:i])
		w.line = w.line[i+1:]
		if strings.HasPrefix(line, "temporal-cluster: ready") {
			w.once.Do(func() { w.ready <- line })
		}
	}
	if len(w.line) > tailSize {
		w.line = w.line[len(w.line)-tailSize:]
	}
	return len(p), nil
}

func (w *tail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}

// proc is one temporal-cluster process.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	out  *tail
	done chan struct{}
	err  error // valid once done is closed
}

// start runs `temporal-cluster start args…`; the test's cleanup stops it.
func start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	out := newTail()
	cmd := exec.Command(binary, append([]string{"start", "--log-level", "warn"}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s output (last %d bytes):\n%s", name, tailSize, out)
		}
	})
	return p
}

// waitReady returns the ready line and how long it took since the process
// started.
func (p *proc) waitReady(timeout time.Duration) (string, time.Duration) {
	p.t.Helper()
	began := time.Now()
	select {
	case line := <-p.out.ready:
		return line, time.Since(began)
	case <-p.done:
		p.t.Fatalf("%s exited before it was ready: %v\n%s", p.name, p.err, p.out)
	case <-time.After(timeout):
		p.t.Fatalf("%s not ready after %v:\n%s", p.name, timeout, p.out)
	}
	return "", 0
}

// stop asks the process to stop (SIGTERM) and fails the test unless it
// exits cleanly within a minute.
func (p *proc) stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			p.t.Fatalf("%s: stopping: %v\n%s", p.name, p.err, p.out)
		}
	case <-time.After(time.Minute):
		p.t.Fatalf("%s still running a minute after SIGTERM", p.name)
	}
}

// kill ends the process group at once, as a crash would.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// command runs a temporal-cluster client command and returns its stdout.
func command(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("temporal-cluster %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// clusterStatus is the part of `temporal-cluster status` the tests read.
type clusterStatus struct {
	ServerVersion     string              `json:"server_version"`
	HistoryShardCount int32               `json:"history_shard_count"`
	PersistenceStore  string              `json:"persistence_store"`
	VisibilityStore   string              `json:"visibility_store"`
	Rings             map[string][]string `json:"rings"`
	ShardOwners       map[string][]int32  `json:"shard_owners"`
	UnservedShards    []int32             `json:"unserved_shards"`
	Namespaces        map[string][]string `json:"namespaces"`
}

func status(t *testing.T, address string) clusterStatus {
	t.Helper()
	out, err := command(t, "status", "--address", address)
	if err != nil {
		t.Fatal(err)
	}
	var s clusterStatus
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("status output %q: %v", out, err)
	}
	return s
}

type location struct {
	WorkflowID  string `json:"workflow_id"`
	ShardID     int32  `json:"shard_id"`
	HistoryHost string `json:"history_host"`
}

// locate returns the shard and history host of each workflow.
func locate(t *testing.T, address string, ids []string) []location {
	t.Helper()
	out, err := command(t, append([]string{"locate", "--address", address}, ids...)...)
	if err != nil {
		t.Fatal(err)
	}
	var locs []location
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l location
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("locate output %q: %v", sc.Text(), err)
		}
		locs = append(locs, l)
	}
	if len(locs) != len(ids) {
		t.Fatalf("locate gave %d locations for %d workflows: %s", len(locs), len(ids), out)
	}
	return locs
}

// dial connects an SDK client to namespace default.
func dial(t *testing.T, address string) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  address,
		Namespace: "default",
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// poll calls cond until it returns nil or the deadline passes, then fails
// with cond's last error.
func poll(t *testing.T, what string, timeout time.Duration, cond func() error) time.Duration {
	t.Helper()
	began := time.Now()
	deadline := began.Add(timeout)
	for {
		err := cond()
		if err == nil {
			return time.Since(began)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v: %v", what, timeout, err)
		}
		<-time.After(pollInterval)
	}
}

// pollInterval paces poll: each round asks the cluster (a process start for
// the status command), so faster buys nothing.
const pollInterval = 200 * time.Millisecond

func itoa(n int) string { return strconv.Itoa(n) }
