// Package harness is what the system tests under systemtest/ share: running featuregraph's
// commands in process (internal/cli.Run) on free ports, waiting for them to answer, reading the
// README's examples, and the TestMain of every system-test package.
package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/featuregraph/featuregraph/internal/testenv"
)

// Main is the TestMain of a system-test package: it runs the tests from the module root (where
// README.md, features/, deploy/ and go.mod are, as for a user running featuregraph from a
// checkout), then stops the shared test servers (testenv.Main).
func Main(m *testing.M) {
	root, err := ModuleRoot()
	if err == nil {
		err = os.Chdir(root)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(2)
	}
	testenv.Main(m)
}

// ModuleRoot is the directory of the featuregraph module's go.mod, found upwards from the
// working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "gqlgen.yml")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no featuregraph module root (go.mod and gqlgen.yml) above the working directory")
		}
		dir = parent
	}
}
