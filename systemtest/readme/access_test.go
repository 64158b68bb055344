package readme_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// The README's Access control example: the clients file shown, served with --clients over the
// demo data, answers every curl command of the block as shown — anonymous, a granted query, a
// forbidden field, the filtered introspection, a push checked per event, the hostile text/plain
// push.
func TestReadmeAccessControl(t *testing.T) {
	var clients string
	for _, f := range harness.ReadmeFences(t) {
		if f.Lang == "yaml" && f.Before == "<!-- not a registry: the clients file of TestReadmeAccessControl -->" {
			clients = f.Body
		}
	}
	if clients == "" {
		t.Fatal("README.md has no clients file marked for TestReadmeAccessControl")
	}
	file := filepath.Join(t.TempDir(), "clients.yaml")
	if err := os.WriteFile(file, []byte(clients), 0o600); err != nil {
		t.Fatal(err)
	}
	base := harness.StartServer(t, "--demo", "--clients", file)
	block := harness.ReadmeBlockTestedBy(t, "TestReadmeAccessControl")
	n := 0
	for _, c := range harness.ShellCommands(block.Body) {
		if len(c.Words) == 0 || c.Words[0] != "curl" {
			continue
		}
		n++
		ex := harness.CurlExample(t, "README.md", c.Words)
		req, _ := http.NewRequest(ex.Method, base+ex.Path, strings.NewReader(ex.Body))
		for i, w := range c.Words {
			if w == "-H" && i+1 < len(c.Words) {
				k, v, _ := strings.Cut(c.Words[i+1], ":")
				req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
			}
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !harness.SameJSON(string(b), c.Answer) {
			t.Errorf("README.md:%d: %s %s answers\n%s\nthe README shows\n%s", block.Line, ex.Method, ex.Path, b, c.Answer)
		}
	}
	if n < 6 {
		t.Errorf("%d curl commands in the block, want at least 6", n)
	}
}
