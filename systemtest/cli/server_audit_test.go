package cli_test

import (
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// The GraphQL-over-HTTP audit of the graphql-http npm package (serverAudits, pinned in
// package.json) against `featuregraph serve`: every audit must be "ok" — no error, warning or
// notice. scripts/graphql-http-audit.mjs runs the audits and prints one line per audit.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	root := testenv.NodeModule(t, "graphql-http")
	addr := harness.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() {
		done <- cli.Run(ctx, []string{"serve", "--addr", addr, "--shutdown-drain", "0"}, &logs, &logs, harness.NoEnv)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v\n%s", err, logs.String())
		}
	}()
	url := "http://" + addr + "/graphql"
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		res, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start: %v\n%s", err, logs.String())
		}
	}
	actx, acancel := context.WithTimeout(context.Background(), time.Minute)
	defer acancel()
	cmd := exec.CommandContext(actx, "node", filepath.Join(root, "scripts", "graphql-http-audit.mjs"), url)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	var notOK []string
	ok := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		switch {
		case strings.Contains(line, `"status":"ok"`):
			ok++
		case strings.Contains(line, `"status":`):
			notOK = append(notOK, line)
		}
	}
	if err != nil || len(notOK) > 0 || ok < 50 {
		t.Fatalf("audit: %v; %d ok, not ok:\n%s\n\noutput:\n%s", err, ok, strings.Join(notOK, "\n"), out)
	}
	t.Logf("graphql-http serverAudits: %d ok", ok)
}
