package codegen

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGqlgenOutputUnmodified runs gqlgen alone, as gqlgen users do (`go tool gqlgen generate`:
// the tool directive of go.mod, no GOFLAGS), in a copy of the module and checks that graph/ is
// reproduced byte for byte and nothing else is written: the generator adds nothing to gqlgen's
// output and rewrites none of it.
func TestGqlgenOutputUnmodified(t *testing.T) {
	if testing.Short() {
		t.Skip("runs gqlgen (seconds)")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	// The models (hand-written scalars and the generated structs gqlgen autobinds) as they are.
	models, err := filepath.Glob(filepath.Join(root, "graph", "model", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"go.mod", "go.sum", "gqlgen.yml", "schema/schema.graphqls", "resolvers/resolvers_gen.go"}
	for _, m := range models {
		if !strings.HasSuffix(m, "_test.go") {
			files = append(files, filepath.Join("graph", "model", filepath.Base(m)))
		}
	}
	for _, p := range files {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(tmp, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, p), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "tool", "gqlgen", "generate")
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go tool gqlgen generate: %v\n%s", err, out)
	}
	if extra, _ := filepath.Glob(filepath.Join(tmp, "*.go")); len(extra) > 0 {
		t.Errorf("gqlgen wrote %v outside graph/", extra)
	}
	entries, err := os.ReadDir(filepath.Join(root, "graph"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		want, err := os.ReadFile(filepath.Join(root, "graph", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(tmp, "graph", e.Name()))
		if err != nil {
			t.Errorf("graph/%s is not gqlgen's output: %v", e.Name(), err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("graph/%s differs from what gqlgen generates from gqlgen.yml:\n%s", e.Name(), firstDiff(string(want), string(got)))
		}
	}
}
