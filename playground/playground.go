// Package playground serves the GraphiQL playground from browser bundles embedded in the binary
// (assets/, copied from the npm packages pinned in package.json by sync-assets): the page makes
// no request outside the gateway, so it works without internet.
package playground

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed assets
var assets embed.FS

//go:embed page.html page.js
var files embed.FS

// AssetPrefix is the path under which Handler's assets are served; mount Handler's Assets there.
const AssetPrefix = "/playground/"

// Config is what the page shows.
type Config struct {
	// Title of the page. Default "featuregraph".
	Title string
	// Endpoint is the GraphQL endpoint the page queries. Default "/graphql".
	Endpoint string
	// DefaultQuery fills the query editor on a first visit (GraphiQL keeps the user's tabs in the
	// browser's local storage afterwards). A ?query= parameter in the page's URL wins.
	DefaultQuery string
}

var page = template.Must(template.ParseFS(files, "page.html"))

type pageData struct {
	Title   string
	Assets  string
	Version string // changes with the bundles, so that a browser's cached copy is not reused
	Config  map[string]string
}

// assetsVersion is a short hash of assets/VERSIONS and page.js.
var assetsVersion = func() string {
	h := sha256.New()
	versions, _ := assets.ReadFile("assets/VERSIONS")
	script, _ := files.ReadFile("page.js")
	h.Write(versions)
	h.Write(script)
	return hex.EncodeToString(h.Sum(nil))[:12]
}()

// Page serves the playground's HTML page.
func Page(cfg Config) http.Handler {
	if cfg.Title == "" {
		cfg.Title = "featuregraph"
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = "/graphql"
	}
	data := pageData{Title: cfg.Title, Assets: AssetPrefix, Version: assetsVersion,
		Config: map[string]string{"endpoint": cfg.Endpoint, "defaultQuery": cfg.DefaultQuery}}
	var b strings.Builder
	if err := page.Execute(&b, data); err != nil {
		panic(err) // the template and its data are fixed: a failure is a bug
	}
	html := b.String()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("Cache-Control", "no-cache")
		_, _ = w.Write([]byte(html))
	})
}

// ContentSecurityPolicy confines the page to the gateway: scripts, styles, fonts and queries
// from its own origin only (GraphiQL inlines its fonts and icons as data: URLs and sets inline
// styles).
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"

// Assets serves the bundles and the page's script; mount it at AssetPrefix.
func Assets() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err)
	}
	fileSrv := http.FileServerFS(sub)
	script, err := files.ReadFile("page.js")
	if err != nil {
		panic(err)
	}
	return http.StripPrefix(strings.TrimSuffix(AssetPrefix, "/"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The bundles change only with the binary: let browsers keep them for a day.
		w.Header().Set("Cache-Control", "public, max-age=86400")
		if r.URL.Path == "/page.js" {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			_, _ = w.Write(script)
			return
		}
		if r.URL.Path == "/" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		fileSrv.ServeHTTP(w, r)
	}))
}
