package codegen

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/registry"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/*/golden")

// goldenCases are the registries under testdata/<case>/features whose rendered files are kept in
// testdata/<case>/golden. Every directory under testdata must be listed here and vice versa.
var goldenCases = []string{
	"case_conversion",               // digits, one-letter words and Go initialisms in names
	"deprecations_and_descriptions", // quotes, newlines and block-string delimiters; deprecated true/string
	"example",                       // a frozen copy of the repository's features/*.yaml
	"many_to_many",                  // one feature fed by two event types, one event feeding three features
	"map_container",                 // maps of Int and of String, next to a set and a list
	"on_demand",                     // service and derived features of every container, with arguments
	"no_actions",                    // an entity with static features only
	"string_ids",                    // String ids joined by String fields, joins across id types
}

// goldenFiles are the outputs compared per case; the Go files carry .txt so they are not compiled.
var goldenFiles = []struct {
	name   string
	render func(*registry.Registry) ([]byte, error)
}{
	{"schema.graphqls", func(r *registry.Registry) ([]byte, error) { return SDL(r), nil }},
	{"models_gen.go.txt", Models},
	{"resolvers_gen.go.txt", Glue},
}

func loadCase(t *testing.T, name string) *registry.Registry {
	t.Helper()
	reg, err := registry.Load(filepath.Join("testdata", name, "features"))
	if err != nil {
		t.Fatalf("load case %s: %v", name, err)
	}
	return reg
}

// caseFiles returns the YAML files of a case by base name.
func caseFiles(t *testing.T, name string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", name, "features", "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("case %s has no features/*.yaml (%v)", name, err)
	}
	files := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = b
	}
	return files
}

func TestGoldenCasesListed(t *testing.T) {
	dirs, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range dirs {
		if d.IsDir() {
			got = append(got, d.Name())
		}
	}
	want := append([]string(nil), goldenCases...)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("testdata holds cases %v; goldenCases lists %v", got, want)
	}
}

func TestGolden(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			reg := loadCase(t, name)
			for _, gf := range goldenFiles {
				got, err := gf.render(reg)
				if err != nil {
					t.Fatalf("render %s: %v", gf.name, err)
				}
				checkGolden(t, filepath.Join("testdata", name, "golden", gf.name), got)
			}
		})
	}
}

// checkGolden compares got with the golden file at path, or rewrites it under -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Errorf("golden file %s is missing: run `go test ./codegen -update` and review the new file", path)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the rendered output (if the change is intended, run `go test ./codegen -update` and review the diff):\n%s",
			path, firstDiff(string(want), string(got)))
	}
}

// firstDiff shows the first differing line of two texts, with a little context.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g || i >= len(wl) || i >= len(gl) {
			var b strings.Builder
			for j := max(0, i-2); j < i; j++ {
				fmt.Fprintf(&b, "  %4d   %s\n", j+1, wl[j])
			}
			fmt.Fprintf(&b, "  %4d - %s\n  %4d + %s", i+1, w, i+1, g)
			return b.String()
		}
	}
	return "(no line differs)"
}

var (
	generatedHeader = regexp.MustCompile(`^// Code generated .* DO NOT EDIT\.$`)
	blanks          = regexp.MustCompile(`[ \t]+`)
)

// TestSpotChecks asserts the parts of each case that the case exists for, so that a golden file
// updated by mistake does not hide a regression.
func TestSpotChecks(t *testing.T) {
	tests := []struct {
		name                     string
		sdl, models, glue, notIn []string
	}{
		{
			name:   "no_actions",
			sdl:    []string{"  product(\n    id: Int!\n", "  products(\n    ids: [Int!]!\n", "  tags: [String!]\n", "  attributes: JSON\n", "Default: true."},
			models: []string{" InStock *bool `json:\"inStock\"`\n", " LaunchedAt *time.Time `json:\"launchedAt\"`\n", " Tags []string `json:\"tags\"`\n", " Attributes *JSON `json:\"attributes\"`\n"},
			glue:   []string{`"product": {"attributes", "in_stock", "launched_at", "name", "price", "tags"},`},
			notIn:  []string{"Event", "graph.ProductResolver", "productResolver", "MapEntry"},
		},
		{
			name: "string_ids",
			sdl: []string{"  seller(\n    id: String!\n", "  sellers(\n    ids: [String!]!\n", "  id: String!\n",
				"  listingId: String\n  \"\"\"\n  The listing that listingId refers to", "  listing: Listing\n",
				"  sellerRef: String\n", "  seller: Seller\n", "  buyerId: Int\n", "  buyer: Buyer\n"},
			models: []string{" ID string `json:\"id\"`\n", " ListingID *string `json:\"listing_id\"`\n", " Listing *Listing `json:\"-\"`\n", " Seller *Seller `json:\"-\"`\n"},
			glue: []string{"return &model.Seller{ID: id}", "return one(ctx, r.Resolver, sellerBinding, id, asOf)", "return many(ctx, r.Resolver, sellerBinding, ids, asOf)",
				"return *o.ListingID, true", "return strconv.Itoa(*o.BuyerID), true", `r.actions(ctx, "seller", "recent_listings", obj.ID, count, lastNSec, filterOfSellerRecentListingsEvent(filter), at)`,
				`r.actions(ctx, "buyer", "recent_views", strconv.Itoa(obj.ID), count, lastNSec, filterOfBuyerRecentViewsEvent(filter), at)`},
		},
		{
			name: "map_container",
			sdl: []string{"  stockBySku: [IntMapEntry!]\n", "  labels: [StringMapEntry!]\n", "type IntMapEntry {\n  key: String!\n  value: Int!\n}\n",
				"type StringMapEntry {\n  key: String!\n  value: String!\n}\n", `Default: {"currency":"KRW","lang":"en"}.`, "Default: [1,3,5].", "  recentPrices: [Float!]\n"},
			models: []string{" StockBySku []*IntMapEntry `json:\"stockBySku\"`\n", "type IntMapEntry struct {\n Key string `json:\"key\"`\n Value int `json:\"value\"`\n}"},
			glue:   []string{"o.StockBySku = asIntMap(v)", "o.Labels = asStringMap(v)", "func asIntMap(v store.Value) []*model.IntMapEntry {", "func asStringMap(v store.Value) []*model.StringMapEntry {", "o.OpenDays = asIntList(v)"},
			notIn:  []string{"FloatMapEntry"},
		},
		{
			name: "case_conversion",
			sdl: []string{"  regionIdV2: Int\n", "  isOsX: Boolean\n", "  apiUrl: String\n", "  httpStatusCode: Int\n", "  userUuid: String\n",
				"  ipBlock(\n    id: Int!\n", "  ipBlockList(\n    ids: [Int!]!\n", "  countryIso2: String\n",
				"type DeviceRecentUrlVisitsEvent {", "  pageUrl: String\n", "  ipBlockId: Int\n", "  ipBlock: IpBlock\n", "  processIdV2: Int\n"},
			models: []string{" RegionIDV2 *int `json:\"regionIdV2\"`\n", " IsOSX *bool `json:\"isOsX\"`\n", " APIURL *string `json:\"apiUrl\"`\n",
				" HTTPStatusCode *int `json:\"httpStatusCode\"`\n", " UserUUID *string `json:\"userUuid\"`\n", " JSONPayload *JSON `json:\"jsonPayload\"`\n",
				"type IpBlock struct {", " PageURL *string `json:\"page_url\"`\n", " IPBlock *IpBlock `json:\"-\"`\n"},
			glue: []string{"o.RegionIDV2 = asInt(v)", "o.IsOSX = asBoolean(v)", `join(ctx, r.Resolver, "ipBlock", ipBlockBinding, at, out,`},
		},
		{
			name: "many_to_many",
			sdl: []string{"  recentEngagements(\n", "): [UserRecentEngagementsEvent!]\n", "  recentViews(\n", "  lastSeenAt: Time\n",
				"  viewers(\n", "  likeCount: Int\n", "type UserRecentEngagementsEvent {\n"},
			glue: []string{`r.actions(ctx, "user", "recent_engagements", strconv.Itoa(obj.ID), count, lastNSec, filterOfUserRecentEngagementsEvent(filter), at)`, `r.actions(ctx, "item", "viewers", strconv.Itoa(obj.ID), count, lastNSec, filterOfItemViewersEvent(filter), at)`},
		},
		{
			name: "deprecations_and_descriptions",
			sdl: []string{
				"\"\"\"\nA user of the \"app\".\n\nSecond paragraph, with a backslash \\ and a \\\"\"\"block string\\\"\"\" inside.\n  An indented line.\n\"\"\"\ntype User {\n",
				"  nickname: String @deprecated(reason: \"No longer supported\")\n",
				`  legacyScore: Float @deprecated(reason: "Use \"score_v2\" instead.\nSee the wiki at https://wiki/x?a=b&c=\\d.")` + "\n",
				"  \"\"\"\n  Line one.\n  Line two: tab\there.\n\n  Default: 0.5.\n\n  Owner: ranking.\n  \"\"\"\n",
				"  Folded description on one line.\n", "  scoreV2: Float\n",
				"): [UserOldClicksEvent!] @deprecated(reason: \"Replaced by clicks — read that instead.\")\n",
				"  \"\"\"\n  The \"target\", an id.\n  May be absent.\n  \"\"\"\n  targetId: Int\n",
			},
			notIn: []string{"  \"\"\"\n   \n", "scoreV2: Float @deprecated"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := loadCase(t, tt.name)
			models, err := Models(reg)
			if err != nil {
				t.Fatal(err)
			}
			glue, err := Glue(reg)
			if err != nil {
				t.Fatal(err)
			}
			// gofmt aligns struct fields; compare the models with runs of blanks as one space.
			out := map[string]string{"SDL": string(SDL(reg)), "models": blanks.ReplaceAllString(string(models), " "), "glue": string(glue)}
			for what, subs := range map[string][]string{"SDL": tt.sdl, "models": tt.models, "glue": tt.glue} {
				for _, s := range subs {
					if !strings.Contains(out[what], s) {
						t.Errorf("%s lacks %q", what, s)
					}
				}
			}
			for _, s := range tt.notIn {
				for what, text := range out {
					if strings.Contains(text, s) {
						t.Errorf("%s contains %q", what, s)
					}
				}
			}
		})
	}
}

func TestGeneratedHeaders(t *testing.T) {
	for _, name := range goldenCases {
		reg := loadCase(t, name)
		files, err := Files(reg)
		if err != nil {
			t.Fatalf("%s: Files: %v", name, err)
		}
		if len(files) != 3 {
			t.Errorf("%s: Files returned %d files, want schema, models and glue", name, len(files))
		}
		for path, content := range files {
			first, _, _ := strings.Cut(string(content), "\n")
			switch {
			case strings.HasSuffix(path, ".go"):
				if !generatedHeader.MatchString(first) {
					t.Errorf("%s: %s starts %q; want a `// Code generated ... DO NOT EDIT.` line", name, path, first)
				}
			case !strings.HasPrefix(first, "# Code generated ") || !strings.HasSuffix(first, "DO NOT EDIT."):
				t.Errorf("%s: %s starts %q; want a generated-file comment", name, path, first)
			}
		}
	}
}

// TestDeterministic renders each case from two separate loads, the second with its files under
// other names (so they are read and merged in another order): the output must be byte-identical.
func TestDeterministic(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			files := caseFiles(t, name)
			var names []string
			for n := range files {
				names = append(names, n)
			}
			sort.Strings(names)
			renamed := map[string][]byte{}
			for i, n := range names {
				// Reverse the read order and put the files in a subdirectory.
				renamed[fmt.Sprintf("sub/%02d-%s", len(names)-i, n)] = files[n]
			}
			var outs [2]map[string][]byte
			for i, in := range []map[string][]byte{files, renamed} {
				reg, err := registry.Parse(in)
				if err != nil {
					t.Fatal(err)
				}
				if outs[i], err = Files(reg); err != nil {
					t.Fatal(err)
				}
				again, err := Files(reg)
				if err != nil {
					t.Fatal(err)
				}
				for path := range again {
					if !bytes.Equal(again[path], outs[i][path]) {
						t.Errorf("rendering one registry twice gives two different %s", path)
					}
				}
			}
			for path := range outs[0] {
				if !bytes.Equal(outs[0][path], outs[1][path]) {
					t.Errorf("%s differs between two loads:\n%s", path, firstDiff(string(outs[0][path]), string(outs[1][path])))
				}
			}
		})
	}
}

// TestFingerprint: the fingerprint identifies the schema. Ingestion rules (filters, topics, event
// paths) do not change the schema, so they change neither the fingerprint nor any generated file.
func TestFingerprint(t *testing.T) {
	base := caseFiles(t, "example")
	render := func(t *testing.T, files map[string][]byte) (string, map[string][]byte) {
		t.Helper()
		reg, err := registry.Parse(files)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		out, err := Files(reg)
		if err != nil {
			t.Fatal(err)
		}
		return Fingerprint(reg), out
	}
	baseFP, baseOut := render(t, base)
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(baseFP) {
		t.Fatalf("Fingerprint = %q; want 16 hex digits", baseFP)
	}
	if !strings.Contains(string(baseOut[GlueFile]), fmt.Sprintf("const SchemaFingerprint = %q", baseFP)) {
		t.Errorf("the glue does not embed the fingerprint %s", baseFP)
	}

	edit := func(file, old, new string) func(map[string][]byte) {
		return func(files map[string][]byte) {
			if !bytes.Contains(files[file], []byte(old)) {
				t.Fatalf("%s does not contain %q", file, old)
			}
			files[file] = bytes.Replace(files[file], []byte(old), []byte(new), 1)
		}
	}
	appendTo := func(file, text string) func(map[string][]byte) {
		return func(files map[string][]byte) { files[file] = append(files[file], text...) }
	}
	tests := []struct {
		name        string
		change      func(map[string][]byte)
		wantChanged bool
	}{
		{"filter values", edit("user.yaml", "condition: { optype: equal, values: [kr] }", "condition: { optype: in, values: [kr, jp] }"), false},
		{"filter removed", edit("user.yaml", `          filter:
            - name: status
              condition: { optype: in, values: [completed, settled] }
`, ""), false},
		{"filter added", edit("article.yaml", "          subTopic: article_created\n", `          subTopic: article_created
          filter:
            - { name: is_test, type: Boolean, condition: { optype: not_equal, values: [true] } }
`), false},
		{"topic and entity id path", edit("user.yaml", "topic: order_cdc\n          subTopic: order_completed\n          entityId: buyer_id",
			"topic: orders_v2\n          subTopic: order_done\n          entityId: buyer.id"), false},
		{"stream description", edit("entities.yaml", "description: Change-data-capture of the service databases.", "description: CDC."), false},
		{"feature added", appendTo("user.yaml", "\n    favorite_color:\n      featureType: static\n      type: String\n"), true},
		{"feature type", edit("article.yaml", "    price:\n      featureType: static\n      type: Int", "    price:\n      featureType: static\n      type: Float"), true},
		{"action field added", edit("user.yaml", "        - { name: price, type: Int }\n", "        - { name: price, type: Int }\n        - { name: coupon, type: String }\n"), true},
		{"maxCount (shown in the schema)", edit("article.yaml", "maxCount: 50", "maxCount: 60"), true},
		{"deprecation", edit("article.yaml", "    title:\n      featureType: static\n", "    title:\n      featureType: static\n      deprecated: true\n"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string][]byte{}
			for k, v := range base {
				files[k] = bytes.Clone(v)
			}
			tt.change(files)
			fp, out := render(t, files)
			if changed := fp != baseFP; changed != tt.wantChanged {
				t.Errorf("fingerprint changed = %v (%s → %s), want %v", changed, baseFP, fp, tt.wantChanged)
			}
			if tt.wantChanged {
				return
			}
			for path := range baseOut {
				if !bytes.Equal(out[path], baseOut[path]) {
					t.Errorf("an ingestion-only change altered %s:\n%s", path, firstDiff(string(baseOut[path]), string(out[path])))
				}
			}
		})
	}
}

// TestCommittedFilesUpToDate: the generated files committed in the repository are what the
// example registry renders to (CI proves the same with `go generate ./...` and git diff).
func TestCommittedFilesUpToDate(t *testing.T) {
	reg, err := registry.Load("../features")
	if err != nil {
		t.Fatalf("load ../features: %v", err)
	}
	files, err := Files(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{SchemaFile, ModelsFile, GlueFile} {
		got, ok := files[path]
		if !ok {
			t.Errorf("Files does not render %s", path)
			continue
		}
		committed, err := os.ReadFile(filepath.Join("..", path))
		if err != nil {
			t.Errorf("read committed %s: %v (run `go generate ./...`)", path, err)
			continue
		}
		if !bytes.Equal(got, committed) {
			t.Errorf("%s is stale: it does not match features/*.yaml; run `go generate ./...` and commit the result:\n%s",
				path, firstDiff(string(committed), string(got)))
		}
	}
}
