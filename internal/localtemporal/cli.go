package localtemporal

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/bankcore/bank/internal/proc"
)

// CLIVersion is the Temporal CLI release we build and run. Later tags do not
// `go install` (their go.mod has a replace directive), see ARCHITECTURE.md.
const CLIVersion = "1.5.1"

const cliModulePath = "github.com/temporalio/cli"

// FindCLI returns the path of a Temporal CLI of version CLIVersion:
// $TEMPORAL_CLI when set, else the `temporal` binary that `go install` puts in
// $(go env GOBIN) or $(go env GOPATH)/bin.
func FindCLI() (string, error) {
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		if err := checkCLI(p); err != nil {
			return "", fmt.Errorf("TEMPORAL_CLI=%s: %w (unset it to use the one `make temporal` builds)", p, err)
		}
		return p, nil
	}
	dir, err := proc.GoBinDir()
	if err != nil {
		return "", fmt.Errorf("locating the Temporal CLI: %w; run `make temporal`", err)
	}
	p := filepath.Join(dir, "temporal")
	if err := checkCLI(p); err != nil {
		return "", fmt.Errorf("temporal CLI %s is not usable at %s: %w; run `make temporal` to build it "+
			"(first time only, ~10 minutes on 2 cores)", CLIVersion, p, err)
	}
	return p, nil
}

var versionLine = regexp.MustCompile(`\bversion v?` + regexp.QuoteMeta(CLIVersion) + `\b`)

// checkCLI accepts a binary built by `go install …/cmd/temporal@vX` (its
// `--version` says 0.0.0-DEV, so we read the module version from the Go build
// info) or an official release (whose `--version` names the release).
func checkCLI(path string) error {
	st, err := os.Stat(path) // #nosec G703 -- the user names the binary to run
	if err != nil {
		return err
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	if bi, err := buildinfo.ReadFile(path); err == nil && bi.Main.Path == cliModulePath {
		switch bi.Main.Version {
		case "v" + CLIVersion:
			return nil
		case "", "(devel)":
			// Built from a checkout: only --version can tell.
		default:
			return fmt.Errorf("it is version %s, want v%s", bi.Main.Version, CLIVersion)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput() // #nosec G204 G702 -- the CLI we were told to run
	if err != nil {
		return fmt.Errorf("`%s --version` failed: %w", path, err)
	}
	if !versionLine.Match(out) {
		return fmt.Errorf("`temporal --version` says %q, want version %s", strings.TrimSpace(string(out)), CLIVersion)
	}
	return nil
}
