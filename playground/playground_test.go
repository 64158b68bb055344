package playground_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/playground"
)

// The committed assets are those of the versions package.json pins: assets/VERSIONS (written
// by sync-assets, which also checks the npm tarballs; scripts/test runs it with --check) names
// each file's package and hash.
func TestAssetsMatchPinnedVersions(t *testing.T) {
	var pkg struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	src, err := os.ReadFile("package.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(src, &pkg); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("assets/VERSIONS")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Fields(sc.Text())
		if len(parts) != 3 {
			t.Fatalf("bad VERSIONS line %q", sc.Text())
		}
		file, pv, sum := parts[0], parts[1], strings.TrimPrefix(parts[2], "sha256:")
		name, version, _ := strings.Cut(pv, "@")
		if pkg.DevDependencies[name] != version {
			t.Errorf("%s comes from %s@%s but package.json pins %q: run playground/sync-assets", file, name, version, pkg.DevDependencies[name])
		}
		b, err := os.ReadFile("assets/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != sum {
			t.Errorf("assets/%s does not match VERSIONS: run playground/sync-assets", file)
		}
		seen[name] = true
	}
	for name := range pkg.DevDependencies {
		if !seen[name] {
			t.Errorf("package.json pins %s but no asset comes from it", name)
		}
	}
}

// The page loads only what the gateway serves: every src/href is under AssetPrefix, each of
// them answers, and the CSP header forbids anything else.
func TestPageLoadsOnlyEmbeddedAssets(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/{$}", playground.Page(playground.Config{DefaultQuery: "{ user(id: 1) { os } }</script><script>alert(1)"}))
	mux.Handle(playground.AssetPrefix, playground.Assets())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string) (*http.Response, string) {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, page := get("/")
	if res.StatusCode != 200 || res.Header.Get("Content-Security-Policy") != playground.ContentSecurityPolicy {
		t.Fatalf("page: %d, CSP %q", res.StatusCode, res.Header.Get("Content-Security-Policy"))
	}
	if strings.Contains(page, "<script>alert(1)") {
		t.Fatal("the default query is not escaped")
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(page, -1)
	if len(refs) != 5 {
		t.Fatalf("want 5 references (css, react, react-dom, graphiql, page.js), got %v", refs)
	}
	for _, m := range refs {
		if !strings.HasPrefix(m[1], playground.AssetPrefix) {
			t.Errorf("page references %s, outside the embedded assets", m[1])
			continue
		}
		if res, body := get(m[1]); res.StatusCode != 200 || len(body) < 100 {
			t.Errorf("%s: %d, %d bytes", m[1], res.StatusCode, len(body))
		}
	}
	if res, _ := get(playground.AssetPrefix); res.StatusCode != http.StatusNotFound {
		t.Errorf("directory listing served: %d", res.StatusCode)
	}
}
