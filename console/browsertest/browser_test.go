// Package browsertest runs the console and the GraphQL playground in
// Debian's headless Chromium against a whole bank started in-process: the
// Go test starts the stack (real PostgreSQL, RabbitMQ, Redis and a Temporal
// dev server) and an operator, then runs console.test.mjs, which drives the
// browser with playwright-core and checks what customers and operators see.
//
// `make test` installs Chromium (apt-get) and the npm packages (npm ci, from
// package-lock.json) when missing, and sets BANK_BROWSER_TESTS=1, which
// makes missing tools a failure. A plain `go test ./...` without them skips
// this package and says why.
package browsertest

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/bankcore/bank/internal/postgres"
	"github.com/bankcore/bank/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// tools finds node, Chromium and the npm packages, or ends the test.
func tools(t *testing.T) (node, chromium string) {
	t.Helper()
	required := os.Getenv("BANK_BROWSER_TESTS") == "1"
	missing := func(what string) {
		msg := what + " (make test installs it: make browser-deps)"
		if required {
			t.Fatal(msg)
		}
		t.Skip("browser tests skipped: " + msg + "; set BANK_BROWSER_TESTS=1 to make this a failure")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("Chromium is not at " + chromium)
	}
	for _, pkg := range []string{"playwright-core", "axe-core"} {
		if _, err := os.Stat(filepath.Join("node_modules", pkg, "package.json")); err != nil {
			missing("the npm package " + pkg + " is not in console/browsertest/node_modules")
		}
	}
	return node, chromium
}

// operator creates an operator as `bank operator create` does.
func operator(t *testing.T, st *testenv.Stack) (email, password string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	email = "operator-" + testenv.Suffix() + "@bank.local"
	password = "operator-password-" + testenv.Suffix()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := postgres.Connect(ctx, st.Config.DatabaseURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := postgres.NewUsers(pool).EnsureOperator(ctx, email, "Ngozi Operator", string(hash)); err != nil {
		t.Fatal(err)
	}
	return email, password
}

// TestConsoleInChromium: the scenario of console.test.mjs (see there), in
// one browser with a context per person.
func TestConsoleInChromium(t *testing.T) {
	node, chromium := tools(t)
	st := testenv.NewStack(t, testenv.StackOptions{Env: map[string]string{
		"BANK_TEMPORAL_UI_URL": "http://127.0.0.1:8233",
	}})
	email, password := operator(t, st)

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "console.test.mjs")
	cmd.Env = append(os.Environ(),
		"BANK_URL="+st.URL,
		"BANK_OPERATOR_EMAIL="+email,
		"BANK_OPERATOR_PASSWORD="+password,
		"BANK_TEMPORAL_NAMESPACE="+st.Config.TemporalNamespace,
		"CHROMIUM="+chromium,
		// Screenshots for docs/img (make screenshots); empty = none.
		"BANK_SCREENSHOTS="+os.Getenv("BANK_SCREENSHOTS"),
	)
	cmd.WaitDelay = 10 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		relay(t, stdout)
	}()
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("console.test.mjs: %v", err)
	}
}

// relay copies the script's lines into the test log as they come: each
// step's "ok"/"not ok" and the measured figures ("figure: ..."), shown by
// go test -v (make screenshots) and for a failing run.
func relay(t *testing.T, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		t.Log(sc.Text())
	}
}
