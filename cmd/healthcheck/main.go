// Command healthcheck is the container image's HEALTHCHECK: it asks one URL
// (default http://127.0.0.1:8080/readyz, the API's readiness) and exits 0 on
// a 2xx answer, 1 otherwise. The image is distroless (no shell, curl or
// wget), so the probe is a static binary beside bank. Workers and the
// notifier, which serve no /readyz, are probed on their metrics port.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	url := "http://127.0.0.1:8080/readyz"
	switch fs.NArg() {
	case 0:
	case 1:
		url = fs.Arg(0)
	default:
		_, _ = fmt.Fprintln(stderr, "usage: healthcheck [-timeout 3s] [URL]")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1
	}
	defer func() { _ = resp.Body.Close() }()
	// The answer's first bytes say what is wrong (/readyz names the
	// dependency that is down); Docker keeps them in the health log.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = fmt.Fprintf(stderr, "healthcheck: %s answered %d: %s\n", url, resp.StatusCode, body)
		return 1
	}
	return 0
}
