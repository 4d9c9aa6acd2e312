package localtemporal

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"

	"github.com/bankcore/bank/internal/proc"
)

// The CLI is a build prerequisite like the Go toolchain (`make test` builds
// it first), so a missing CLI fails the test instead of skipping it: a skip
// would let CI pass without ever exercising Temporal.
func findCLIOrFail(t *testing.T) {
	t.Helper()
	if _, err := FindCLI(); err != nil {
		t.Fatalf("Temporal CLI missing: %v\n(run `make temporal`, or `make test`, which does it first)", err)
	}
}

func TestStartServesSearchAttributesAndStops(t *testing.T) {
	findCLIOrFail(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	attrs := []string{"BankTestReference", "BankTestUserID"}
	log := proc.NewTailBuffer(1 << 20)
	srv, err := Start(ctx, Options{
		Headless:         true,
		SearchAttributes: attrs,
		Log:              log,
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = srv.Stop()
		}
	}()

	c, err := dial(ctx, srv.Address(), "default")
	if err != nil {
		t.Fatalf("dial %s: %v", srv.Address(), err)
	}
	resp, err := c.OperatorService().ListSearchAttributes(ctx,
		&operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	c.Close()
	if err != nil {
		t.Fatalf("ListSearchAttributes: %v", err)
	}
	for _, name := range attrs {
		if got, ok := resp.GetCustomAttributes()[name]; !ok || got != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			t.Errorf("search attribute %s: got %v (present %v), want Keyword; all: %v",
				name, got, ok, resp.GetCustomAttributes())
		}
	}

	// Registering what exists plus one new name must succeed and add it.
	more := append(attrs, "BankTestExtra")
	if err := EnsureSearchAttributes(ctx, srv.Address(), "default", more); err != nil {
		t.Fatalf("EnsureSearchAttributes: %v", err)
	}
	if err := EnsureSearchAttributes(ctx, srv.Address(), "default", more); err != nil {
		t.Fatalf("EnsureSearchAttributes again: %v", err)
	}
	c, err = dial(ctx, srv.Address(), "default")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	resp, err = c.OperatorService().ListSearchAttributes(ctx,
		&operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	c.Close()
	if err != nil {
		t.Fatalf("ListSearchAttributes: %v", err)
	}
	if _, ok := resp.GetCustomAttributes()["BankTestExtra"]; !ok {
		t.Errorf("BankTestExtra not registered: %v", resp.GetCustomAttributes())
	}

	stopped = true
	if err := srv.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	for _, p := range srv.Processes() {
		if p.Running() {
			t.Fatalf("Stop returned before %s exited", p.Name())
		}
	}
	conn, err := net.DialTimeout("tcp", srv.Address(), time.Second)
	if err == nil {
		_ = conn.Close()
		t.Fatalf("%s still accepts connections after Stop", srv.Address())
	}
	if t.Failed() {
		t.Logf("server output:\n%s", log.String())
	}
}

func TestStartFailsCleanlyWhenPortTaken(t *testing.T) {
	findCLIOrFail(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	port := l.Addr().(*net.TCPAddr).Port

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := Start(ctx, Options{Port: port, Headless: true, StartTimeout: 30 * time.Second})
	if err == nil {
		_ = srv.Stop()
		t.Fatal("Start succeeded on a port that was taken")
	}
	if !strings.Contains(err.Error(), "exited while starting") {
		t.Errorf("error does not say the server exited: %v", err)
	}
	t.Logf("expected error: %v", err)
}

func TestFindCLIRejectsWrongBinary(t *testing.T) {
	t.Setenv("TEMPORAL_CLI", os.Args[0]) // this test binary: executable, not the CLI
	_, err := FindCLI()
	if err == nil {
		t.Fatal("FindCLI accepted the test binary as the Temporal CLI")
	}
	if !strings.Contains(err.Error(), "TEMPORAL_CLI") {
		t.Errorf("error does not name TEMPORAL_CLI: %v", err)
	}
}

// argv is the dev server's command line for opts, as New plans it.
func argv(t *testing.T, opts Options) string {
	t.Helper()
	opts.CLI = "/bin/temporal" // not run
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Processes()) != 1 {
		t.Fatalf("a dev server is one process, got %d", len(s.Processes()))
	}
	return strings.Join(s.Processes()[0].Spec().Args, " ")
}

func TestArgv(t *testing.T) {
	got := argv(t, Options{
		Port: 7233, UIPort: 8233, DBFile: filepath.Join(t.TempDir(), "x.db"), Namespace: "bank",
		SearchAttributes: []string{"A", "B"}, UICodecEndpoint: "http://localhost:8080/codec",
	})
	for _, want := range []string{
		"server start-dev --ip 127.0.0.1 --port 7233 --log-level warn --ui-port 8233",
		"x.db", "--namespace bank",
		"--sqlite-pragma journal_mode=wal", "--dynamic-config-value matching.numTaskqueueWritePartitions=1",
		"--search-attribute A=Keyword --search-attribute B=Keyword",
		"--ui-codec-endpoint http://localhost:8080/codec",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("argv lacks %q:\n%s", want, got)
		}
	}

	got = argv(t, Options{Port: 1, Headless: true})
	for _, unwanted := range []string{"--ui-port", "--db-filename", "--namespace", "--ui-codec-endpoint"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("headless in-memory argv has %s:\n%s", unwanted, got)
		}
	}
	if !strings.Contains(got, "--headless") {
		t.Errorf("argv lacks --headless:\n%s", got)
	}

	if _, err := New(Options{CLI: "/bin/temporal", SearchAttributes: []string{"bad=name"}}); err == nil {
		t.Error("accepted a search attribute name with '='")
	}
}
