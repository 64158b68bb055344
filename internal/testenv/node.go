package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// NodeModule returns the repository root when `node` is on the PATH and the npm package module
// is installed under node_modules (`npm ci`), so a test can run a Node.js script that imports it
// (the GraphQL-over-HTTP audit). A missing one fails the test under FEATUREGRAPH_INTEGRATION=1,
// else skips it.
func NodeModule(t testing.TB, module string) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		unavailable(t, missing("node", dynaliteInstall))
		return ""
	}
	root, err := repoRoot()
	if err != nil {
		unavailable(t, err)
		return ""
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", module, "package.json")); err != nil {
		unavailable(t, missing("node_modules/"+module, dynaliteInstall))
		return ""
	}
	return root
}
