package testenv

import (
	"os/exec"
	"testing"
)

// Tool returns the path of the command-line tool name (promtool, podman, ...), found on PATH.
// A missing tool fails the test when the integration environment is required (naming install,
// what to do), else skips it.
func Tool(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		unavailable(t, missing(name, install))
	}
	return p
}
