package catalog_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/featuregraph/featuregraph/catalog"
	"github.com/featuregraph/featuregraph/features"
	"github.com/featuregraph/featuregraph/metrics"
	"github.com/featuregraph/featuregraph/registry"
)

func exampleRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	reg, err := registry.LoadFS(features.FS, "features")
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func get(t *testing.T, h http.Handler, target string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Result(), string(b)
}

type liveJSON struct {
	Reads        int64   `json:"reads"`
	ReadsPerSec  float64 `json:"readsPerSecond"`
	Writes       int64   `json:"writes"`
	WritesPerSec float64 `json:"writesPerSecond"`
	DeadLetters  int64   `json:"deadLetters"`
	LastEvent    string  `json:"lastEventTime"`
	Freshness    string  `json:"freshness"`
}

type catalogJSON struct {
	Entities []struct {
		Name     string `json:"name"`
		Features []struct {
			Name       string    `json:"name"`
			Example    string    `json:"exampleQuery"`
			ExampleURL string    `json:"exampleURL"`
			TTL        string    `json:"ttl"`
			Live       *liveJSON `json:"live"`
		} `json:"features"`
	} `json:"entities"`
}

func live(t *testing.T, h http.Handler, entity, feature string) (*liveJSON, string) {
	t.Helper()
	_, body := get(t, h, "/catalog?format=json")
	var c catalogJSON
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	for _, e := range c.Entities {
		for _, f := range e.Features {
			if e.Name == entity && f.Name == feature {
				return f.Live, f.ExampleURL
			}
		}
	}
	t.Fatalf("no %s.%s in the catalog", entity, feature)
	return nil, ""
}

// Rates are measured over the window from the samples the renders take; freshness is the
// newest event time written.
func TestLiveFigures(t *testing.T) {
	reg := exampleRegistry(t)
	m := metrics.New()
	c := &clock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	h := catalog.New(reg, catalog.Config{Playground: "/", Figures: m, RateWindow: time.Minute, Now: c.now})

	if l, _ := live(t, h, "user", "os"); l.Reads != 0 || l.ReadsPerSec != 0 || l.LastEvent != "" {
		t.Fatalf("figures before anything happened: %+v", l)
	}
	// 10 s after start: 50 reads, 4 writes.
	c.t = c.t.Add(10 * time.Second)
	m.FeatureRead("user", "os", 50)
	m.FeatureWritten("user", "os", 4, time.Date(2026, 11, 1, 11, 0, 0, 0, time.UTC).UnixMilli())
	m.FeatureFailed("user", "os", 2)
	l, exampleURL := live(t, h, "user", "os")
	if l.Reads != 50 || l.ReadsPerSec != 5 || l.Writes != 4 || l.WritesPerSec != 0.4 || l.DeadLetters != 2 {
		t.Fatalf("after 10 s: %+v", l)
	}
	if l.LastEvent != "2026-11-01T11:00:00Z" || l.Freshness != "1h" {
		t.Fatalf("freshness: %+v", l)
	}
	// Two minutes later, 120 more reads in the last minute: the rate covers the window only.
	c.t = c.t.Add(60 * time.Second)
	live(t, h, "user", "os") // a sample at 70 s
	c.t = c.t.Add(60 * time.Second)
	m.FeatureRead("user", "os", 120)
	if l, _ := live(t, h, "user", "os"); l.Reads != 170 || l.ReadsPerSec != 2 {
		t.Fatalf("after 130 s: %+v, want 120 reads over the last 60 s", l)
	}
	// The example opens in the playground with its query.
	u, err := url.Parse(exampleURL)
	if err != nil || u.Path != "/" || u.Query().Get("query") != catalog.FeatureExample(reg, reg.Entity("user").Feature("os")) {
		t.Fatalf("example URL %q", exampleURL)
	}
}

func TestPage(t *testing.T) {
	reg := exampleRegistry(t)
	h := catalog.New(reg, catalog.Config{}) // no playground, no figures
	res, body := get(t, h, "/catalog")
	if res.StatusCode != 200 || res.Header.Get("Content-Security-Policy") != catalog.ContentSecurityPolicy {
		t.Fatalf("%d, CSP %q", res.StatusCode, res.Header.Get("Content-Security-Policy"))
	}
	for _, e := range reg.Entities {
		for _, f := range e.Features() {
			if !strings.Contains(body, `id="feature-`+e.Name+`-`+f.Name+`"`) {
				t.Errorf("no section for %s.%s", e.Name, f.Name)
			}
		}
	}
	for _, bad := range []string{"<script", "http://", "https://", "Open in playground", "reads/s"} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	for _, want := range []string{"ttl 3650d", "deprecated", "country_code equal [&#34;kr&#34;] (String)", "params.article_id_v1 → article_id (Int)"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/catalog", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
}

// Every example validates against the generated schema.
func TestExamplesAreValidQueries(t *testing.T) {
	reg := exampleRegistry(t)
	src, err := os.ReadFile("../schema/schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	schema, gerr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(src)})
	if gerr != nil {
		t.Fatal(gerr)
	}
	examples := []string{catalog.RegistryExample(reg)}
	for _, e := range reg.Entities {
		for _, f := range e.Features() {
			examples = append(examples, catalog.FeatureExample(reg, f))
		}
	}
	for _, q := range examples {
		if _, errs := gqlparser.LoadQuery(schema, q); len(errs) > 0 {
			t.Errorf("invalid example: %v\n%s", errs, q)
		}
	}
	q := catalog.RegistryExample(reg)
	if !strings.Contains(q, "user(id: 1)") || !strings.Contains(q, "recentClickedArticles(count: 3)") || !strings.Contains(q, "article { id") {
		t.Fatalf("registry example:\n%s", q)
	}
	if strings.Contains(q, "imageCount") {
		t.Errorf("the example reads a deprecated feature:\n%s", q)
	}
}

// ExampleID is the entity's exampleId as a GraphQL literal, 1 by default.
func TestExampleID(t *testing.T) {
	for _, tc := range []struct {
		e    registry.Entity
		want string
	}{
		{registry.Entity{IDType: registry.Int}, `1`},
		{registry.Entity{IDType: registry.String}, `"1"`},
		{registry.Entity{IDType: registry.Int, ExampleID: "101"}, `101`},
		{registry.Entity{IDType: registry.String, ExampleID: `a"b`}, `"a\"b"`},
	} {
		if got := catalog.ExampleID(&tc.e); got != tc.want {
			t.Errorf("ExampleID(%s %q) = %s, want %s", tc.e.IDType, tc.e.ExampleID, got, tc.want)
		}
	}
}
