package devsecrets

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bankcore/bank/internal/codec"
	"github.com/bankcore/bank/internal/config"
)

func lookupOf(vars []Var) func(string) (string, bool) {
	return func(k string) (string, bool) {
		for _, v := range vars {
			if v.Name == k {
				return v.Value, true
			}
		}
		return "", false
	}
}

// The first make run generates secrets of its own, readable by its owner
// only, that the bank accepts as real ones (not the published values).
func TestEnsureGeneratesSecretsOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bankcore")
	path, vars, created, err := Ensure(dir)
	if err != nil || !created {
		t.Fatalf("Ensure = %v, created %v", err, created)
	}
	if path != filepath.Join(dir, FileName) {
		t.Errorf("path = %s", path)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	cfg, err := config.FromLookup(lookupOf(vars))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Development() || len(cfg.DevDefaults()) != 0 {
		t.Errorf("BANK_ENV %q, published values in use: %v", cfg.Env, cfg.DevDefaults())
	}
	// Good enough to run outside development too: nothing published.
	cfg.Env = config.EnvProduction
	if err := cfg.CheckSecrets(config.SecretsFor(true, true)); err != nil {
		t.Errorf("generated secrets refused: %v", err)
	}
	k, err := codec.ParseKeyring(cfg.PayloadKey)
	if err != nil || k.ActiveKeyID() == codec.DevKeyID || !strings.HasPrefix(k.ActiveKeyID(), "local-") {
		t.Errorf("PAYLOAD_KEY key id %q: %v", k.ActiveKeyID(), err)
	}

	// Every later run reads the same secrets.
	_, again, created, err := Ensure(dir)
	if err != nil || created {
		t.Fatalf("second Ensure = %v, created %v", err, created)
	}
	if len(again) != len(vars) {
		t.Fatalf("second run read %v", again)
	}
	for i := range vars {
		if again[i] != vars[i] {
			t.Errorf("second run: %s = %q, first %q", vars[i].Name, again[i].Value, vars[i].Value)
		}
	}
	// Another machine (directory) gets other secrets.
	_, other, _, err := Ensure(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for i := range vars {
		if vars[i].Name != "BANK_ENV" && other[i].Value == vars[i].Value {
			t.Errorf("two machines share %s", vars[i].Name)
		}
	}
}

// Processes started by hand as the README shows (a second `bank api`, a
// `bank worker`) get the secrets by sourcing the file in their shell: the
// very values make run passes to its own processes.
func TestSourcedFileGivesTheSameSecrets(t *testing.T) {
	path, vars, _, err := Ensure(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", "-c", `. "$1" && env`, "sh", path).Output()
	if err != nil {
		t.Fatalf("sourcing %s: %v", path, err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	for _, v := range vars {
		if env[v.Name] != v.Value {
			t.Errorf("sourced %s = %q, make run uses %q", v.Name, env[v.Name], v.Value)
		}
	}
}

func TestApplyKeepsWhatTheUserSet(t *testing.T) {
	vars := []Var{{"BANK_ENV", "development"}, {"JWT_SECRET", "from-file"}}
	env := map[string]string{"JWT_SECRET": "users-own"}
	set, err := Apply(vars, func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		func(k, v string) error { env[k] = v; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if env["JWT_SECRET"] != "users-own" || env["BANK_ENV"] != "development" || len(set) != 1 || set[0] != "BANK_ENV" {
		t.Errorf("env %v, set %v", env, set)
	}
}

func TestReadRefusesAnIncompleteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, []byte("export BANK_ENV='development'\nexport JWT_SECRET='x'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := Ensure(filepath.Dir(path)); err == nil || !strings.Contains(err.Error(), "PAYLOAD_KEY") {
		t.Errorf("Ensure on a file without PAYLOAD_KEY = %v", err)
	}
	// The file is left as it was: regenerating would orphan sealed data.
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "JWT_SECRET='x'") {
		t.Errorf("file rewritten: %s", b)
	}
}
