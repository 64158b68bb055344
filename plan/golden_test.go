package plan_test

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/internal/testenv"
)

// TestPlanMatchesGqlgenOnGoldenRegistries runs the differential test over every golden registry
// of the generator (codegen/testdata/*/features): each needs its own gqlgen code, so the test
// copies the module, generates it for the registry (go run ./codegen/cmd/generate) and runs
// TestPlanMatchesGqlgen there with 300 operations.
func TestPlanMatchesGqlgenOnGoldenRegistries(t *testing.T) {
	// Most of plan's test time: each registry's generated code is compiled in a copy of the
	// module.
	testenv.Slow(t, "generates and compiles the module once per golden registry")
	if os.Getenv("FEATUREGRAPH_DIFF_QUERIES") != "" {
		return // this is the copy's own run (see below): it tests one registry only
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cases, err := filepath.Glob(filepath.Join(root, "codegen", "testdata", "*", "features"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden registries under codegen/testdata (%v)", err)
	}
	// -trimpath below: the copy is in a new temporary directory on every run, and without it
	// the directory is part of every package's build-cache key, so each run compiled the whole
	// module again; with it only the packages the registry changes compile (as in dev): graph,
	// resolvers, and the link of the test binary. The link is most of a registry's cost, so it
	// leaves out the symbol table and DWARF (-s -w: stack traces and test output do not use
	// them). Two copies of the module run registries side by side: on two cores the compile and
	// link of one overlap the differential run of the other.
	copies := make(chan string, 2)
	for i := range cap(copies) {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("module%d", i))
		if err := copyModule(root, dir); err != nil {
			t.Fatal(err)
		}
		copies <- dir
	}
	for _, dir := range cases {
		name := filepath.Base(filepath.Dir(dir))
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tmp := <-copies
			defer func() { copies <- tmp }()
			old, _ := filepath.Glob(filepath.Join(tmp, "features", "*.yaml"))
			for _, f := range old {
				if err := os.Remove(f); err != nil {
					t.Fatal(err)
				}
			}
			yamls, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
			for _, f := range yamls {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(tmp, "features", filepath.Base(f)), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// CGO_ENABLED=0: the module has no cgo; built as scripts/test vets it and as the
			// container image builds it, the copy reuses their compiles of every package the
			// registry does not change.
			run(t, tmp, []string{"CGO_ENABLED=0"}, "go", "run", "-trimpath", "./codegen/cmd/generate", "--features", "./features")
			out := run(t, tmp, []string{"CGO_ENABLED=0", "FEATUREGRAPH_DIFF_QUERIES=300"}, "go", "test", "-trimpath", "-ldflags=-s -w", "-count=1", "-vet=off", "-v", "-run", "^TestPlanMatchesGqlgen$", "./plan")
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "ran on the plan path") {
					t.Log(strings.TrimSpace(line))
				}
			}
		})
	}
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// copyModule copies the module's sources (not .git, node_modules or build output).
func copyModule(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
}
