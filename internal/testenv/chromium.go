package testenv

import (
	"os"
	"os/exec"
	"testing"
)

const chromiumInstall = "install the Debian package chromium (apt-get install -y chromium), or set FEATUREGRAPH_CHROMIUM to a Chromium or Chrome binary"

// Chromium returns the path of a Chromium binary for the browser tests: $FEATUREGRAPH_CHROMIUM,
// else /usr/bin/chromium or the first of chromium, chromium-browser, google-chrome on $PATH.
// A missing browser fails the test when the integration environment is required, else skips
// it.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("FEATUREGRAPH_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			unavailable(t, missing("FEATUREGRAPH_CHROMIUM="+p, chromiumInstall))
		}
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	unavailable(t, missing("chromium", chromiumInstall))
	return ""
}
