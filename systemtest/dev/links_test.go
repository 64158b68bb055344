package dev_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestServerLinksNoGenerator: the featuregraph binary (every command in it) imports neither the
// code generator nor what gqlgen's generator pulls in (golang.org/x/tools), so a fresh
// `go run .` downloads and compiles none of it. `featuregraph generate` and `dev` run the
// generator as its own program.
func TestServerLinksNoGenerator(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "github.com/featuregraph/featuregraph/codegen" || strings.HasPrefix(pkg, "golang.org/x/tools/") ||
			strings.HasPrefix(pkg, "github.com/99designs/gqlgen/codegen") || strings.HasPrefix(pkg, "github.com/99designs/gqlgen/api") {
			t.Errorf("the binary links %s", pkg)
		}
	}
}
