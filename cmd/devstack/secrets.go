package main

import (
	"os"

	"github.com/bankcore/bank/internal/devsecrets"
)

// useDevSecrets gives this run (and the `bank` processes it starts) the
// machine's own secrets and BANK_ENV=development, generating them on the
// first run; values already in the environment win. It returns the file's
// path, which the banner shows: other shells source it.
func useDevSecrets(dir string) (string, error) {
	path, vars, created, err := devsecrets.Ensure(dir)
	if err != nil {
		return path, err
	}
	if created {
		logf("generated this machine's secrets (JWT_SECRET, PAYLOAD_KEY, IDENTITY_KEY) in %s", path)
	}
	set, err := devsecrets.Apply(vars, os.LookupEnv, os.Setenv)
	if err != nil {
		return path, err
	}
	if len(set) < len(vars) {
		logf("settings already in the environment win over %s", path)
	}
	return path, nil
}
