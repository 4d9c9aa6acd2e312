// Package console serves the web console for customers and operators at
// /console/: static files embedded in the binary (plain ES modules, no build
// step, nothing from the internet) and a small config.json. The console
// talks to the REST API and /graphql like any other client; the server
// keeps no session for it.
package console

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"strings"

	"github.com/bankcore/bank/internal/webasset"
)

//go:embed static
var static embed.FS

// Prefix is where the console is mounted.
const Prefix = "/console/"

// Options are what the console needs to know about its deployment.
type Options struct {
	// TemporalUIURL is the Temporal Web UI operators open a transfer's
	// workflow in (BANK_TEMPORAL_UI_URL).
	TemporalUIURL string
	// TemporalNamespace is the namespace the bank's workflows run in.
	TemporalNamespace string
}

// Files are the console's files, read once.
var Files = func() *webasset.Set {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	return webasset.MustNew(sub)
}()

// Handler serves /console (redirected to /console/), /console/ (the page),
// /console/config.json and the console's files. Vendored files carry their
// version in their path and are cached for good; ours are revalidated by
// ETag on every load, so a new release is picked up at once.
func Handler(o Options) http.Handler {
	config, err := json.Marshal(map[string]string{
		"temporal_ui_url":    o.TemporalUIURL,
		"temporal_namespace": o.TemporalNamespace,
	})
	if err != nil {
		panic(err) // strings always marshal
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, Prefix)
		switch {
		case !ok: // "/console"
			http.Redirect(w, r, Prefix, http.StatusPermanentRedirect)
		case name == "":
			Files.Serve(w, r, "index.html", webasset.Revalidate)
		case name == "index.html":
			webasset.SecurityHeaders(w.Header())
			webasset.NotFound(w) // one address for the page
		case name == "config.json":
			webasset.SecurityHeaders(w.Header())
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write(config)
		case strings.HasPrefix(name, "vendor/"):
			Files.Serve(w, r, name, webasset.Immutable)
		default:
			Files.Serve(w, r, name, webasset.Revalidate)
		}
	})
}
