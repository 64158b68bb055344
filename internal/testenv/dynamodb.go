package testenv

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

const dynaliteInstall = "run `npm ci` at the repository root (needs Node.js >= 20 and npm, e.g. apt-get install -y nodejs npm)"

var sharedDynamoDB shared

// DynamoDB returns the endpoint URL (http://127.0.0.1:PORT) of a dynalite server shared by the
// tests of this binary. Tests create their own tables (unique names) and never delete others'.
func DynamoDB(t testing.TB) string {
	t.Helper()
	return sharedDynamoDB.get(t, func() (string, func(), error) {
		p, url, err := startDynalite()
		if err != nil {
			return "", nil, err
		}
		return url, p.stop, nil
	})
}

func startDynalite() (*process, string, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, "", err
	}
	bin := filepath.Join(root, "node_modules", ".bin", "dynalite")
	if _, err := os.Stat(bin); err != nil {
		return nil, "", missing(bin, dynaliteInstall)
	}
	if _, err := exec.LookPath("node"); err != nil {
		return nil, "", missing("node", dynaliteInstall)
	}
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, "", err
		}
		args := []string{"--host", "127.0.0.1", "--port", strconv.Itoa(port),
			"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"}
		addr := hostPort(port)
		p, err := start("dynalite", bin, args, root, func() error {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				return err
			}
			return c.Close()
		})
		if err == nil {
			return p, "http://" + addr, nil
		}
		lastErr = err
	}
	return nil, "", lastErr
}
