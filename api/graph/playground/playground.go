// Package playground serves the GraphiQL playground from the binary:
// GraphiQL, React and ReactDOM at pinned versions (the files gqlgen's
// playground page loads from a CDN, byte for byte, with their licences;
// see VENDORED.md), and a start script of ours. Nothing is loaded from
// the internet, so the page works offline, under a CSP without inline
// script.
package playground

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"

	"github.com/bankcore/bank/internal/webasset"
)

//go:embed static
var static embed.FS

// AssetPrefix is where the page's scripts and styles are served, below the
// GraphQL endpoint.
const AssetPrefix = "/graphql/playground/"

var files = func() *webasset.Set {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	// GraphiQL's menus and dialogs insert <style> elements (scroll locking)
	// as they open: inline styles are allowed here, inline scripts are not.
	return webasset.MustNew(sub).WithCSP(webasset.CSPInlineStyles)
}()

// Handler serves the page (for GET /graphql from a browser) and, below
// AssetPrefix, its files. Third-party files carry their version in their
// path and are cached for good; the page and our script are revalidated.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, isAsset := strings.CutPrefix(r.URL.Path, AssetPrefix)
		if !isAsset {
			files.Serve(w, r, "index.html", webasset.Revalidate)
			return
		}
		cache := webasset.Immutable
		if !strings.Contains(name, "/") { // playground.js, playground.css: ours
			cache = webasset.Revalidate
		}
		if name == "index.html" {
			name = "" // the page is served at /graphql only
		}
		files.Serve(w, r, name, cache)
	})
}
