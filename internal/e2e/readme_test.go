package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/bankcore/bank/internal/config"
	"github.com/bankcore/bank/internal/postgres"
	"github.com/bankcore/bank/internal/testenv"
)

// readmeWalkthrough is the first sh block under README.md's "## Try it".
func readmeWalkthrough(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(raw), "\n## Try it\n")
	if !ok {
		t.Fatal(`README.md has no "## Try it" section`)
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	if !ok {
		t.Fatal(`"## Try it" has no sh block`)
	}
	script, _, ok := strings.Cut(block, "```")
	if !ok {
		t.Fatal("the sh block does not end")
	}
	return script
}

// Issue 15: README's walkthrough runs as written, twice in a row on one
// machine (it used an undefined $TO, a taken NIN, a fixed email), and shows
// the replay's status and header. This runs the very text of the README
// against a stack, with bash, curl and jq, only its address replaced.
func TestReadmeWalkthroughRunsTwice(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the walkthrough needs %s: %v", tool, err)
		}
	}
	st := testenv.SharedStack(t)
	// The operator make run creates, with the credentials the README uses.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hash, err := bcrypt.GenerateFromPassword([]byte(config.DevOperatorPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := postgres.Connect(ctx, st.Config.DatabaseURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := postgres.NewUsers(pool).EnsureOperator(ctx, config.DevOperatorEmail, "Bank Operator", string(hash)); err != nil {
		t.Fatal(err)
	}

	script := readmeWalkthrough(t)
	if !strings.Contains(script, "localhost:8080") {
		t.Fatal("the walkthrough no longer talks to localhost:8080; update this test")
	}
	script = "set -eu -o pipefail\n" + strings.ReplaceAll(script, "localhost:8080", strings.TrimPrefix(st.URL, "http://"))
	run := func() string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-c", script)
		cmd.Dir = t.TempDir() // the walkthrough saves a statement.pdf where it runs
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the walkthrough failed: %v\n%s", err, out)
		}
		return string(out)
	}
	for i := range 2 {
		started := time.Now().Unix()
		out := run()
		for _, want := range []string{
			`"account_number"`, `"role":"customer"`, // /me
			`"status":"COMPLETED"`, `"amount":"1500.50"`, // the transfer, and GET /transfers/{reference}
			"HTTP/1.1 200 OK", "Idempotent-Replayed: true", // the replay
			"IDEMPOTENCY_KEY_REUSED",    // another body under the key
			`"balance_after":"3499.50"`, // Ada's history: 5000.00 deposited, 1500.50 sent
		} {
			if !strings.Contains(out, want) {
				t.Errorf("run %d: the output lacks %s:\n%s", i+1, want, out)
			}
		}
		// A variable jq filled with null (a failed login or registration)
		// shows up as the string "null" in a URL or a body.
		for _, bad := range []string{`:"null"`, "NOT_FOUND", "EMAIL_TAKEN", "IDENTITY_IN_USE", "RATE_LIMITED", "UNAUTHENTICATED"} {
			if strings.Contains(out, bad) {
				t.Errorf("run %d: the output shows %s:\n%s", i+1, bad, out)
			}
		}
		// The walkthrough names this run by the second it starts in.
		for time.Now().Unix() == started {
			time.Sleep(20 * time.Millisecond)
		}
	}
}
