package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// GoBuild compiles pkg (say "./cmd/bank") of the Go module we run in (the
// one around the current directory) into the file out.
func GoBuild(ctx context.Context, pkg, out string) error {
	mod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := strings.TrimSpace(string(mod))
	if root == "" || root == os.DevNull {
		return errors.New("not inside the bank module: run from the repository (or pass a built binary)")
	}
	return Run(ctx, Spec{Name: "go build " + pkg, Path: "go", Args: []string{"build", "-o", out, pkg}, Dir: filepath.Dir(root)})
}

// GoBinDir is where `go install` puts binaries, and so where `make` puts the
// tools it builds (the Temporal CLI, golangci-lint): $(go env GOBIN), else
// the first $(go env GOPATH)/bin. Asking the go command honours go.env and
// `go env -w`; without it the documented defaults apply.
func GoBinDir() (string, error) {
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		if len(lines) == 2 {
			if lines[0] != "" {
				return lines[0], nil
			}
			if gp := firstPath(lines[1]); gp != "" {
				return filepath.Join(gp, "bin"), nil
			}
		}
	}
	if gb := os.Getenv("GOBIN"); gb != "" {
		return gb, nil
	}
	if gp := firstPath(os.Getenv("GOPATH")); gp != "" {
		return filepath.Join(gp, "bin"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "go", "bin"), nil
}

func firstPath(list string) string {
	return strings.TrimSpace(filepath.SplitList(list)[0])
}
