package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// podmanEnv is a podman with its own storage (removed afterwards) and the configuration this
// machine needs: runc, no default ulimits, cgroupfs.
type podmanEnv struct {
	t      *testing.T
	global []string // podman's global flags
	env    []string
}

func newPodman(t *testing.T) *podmanEnv {
	t.Helper()
	podman := testenv.Tool(t, "podman", "install the Debian packages podman and runc (apt-get install -y podman runc; ./scripts/test does it as root)")
	if _, err := exec.LookPath("runc"); err != nil {
		if _, err := os.Stat("/usr/sbin/runc"); err != nil {
			testenv.Tool(t, "runc", "install the Debian package runc (apt-get install -y runc)")
		}
	}
	dir, err := os.MkdirTemp("", "featuregraph-podman-")
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "containers.conf")
	if err := os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = []\n\n[engine]\ncgroup_manager = \"cgroupfs\"\nruntime = \"runc\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &podmanEnv{t: t,
		global: []string{podman, "--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"), "--storage-driver", "vfs"},
		env:    append(os.Environ(), "CONTAINERS_CONF="+conf, "PATH="+os.Getenv("PATH")+":/usr/sbin:/sbin")}
	t.Cleanup(func() {
		_, _ = p.run("rm", "-a", "-f", "-t", "2")
		_, _ = p.run("rmi", "-a", "-f")
		_ = os.RemoveAll(dir)
	})
	return p
}

// run runs podman args... and returns its combined output.
func (p *podmanEnv) run(args ...string) (string, error) {
	cmd := exec.Command(p.global[0], append(p.global[1:], args...)...)
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (p *podmanEnv) must(args ...string) string {
	p.t.Helper()
	out, err := p.run(args...)
	if err != nil {
		p.t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// The image builds with scripts/image from the static binary, runs as non-root and answers the
// README's first query from inside the container.
func TestContainerImageAnswersTheReadmeQuery(t *testing.T) {
	testenv.Slow(t, "builds the container image")
	p := newPodman(t)
	tag := fmt.Sprintf("localhost/featuregraph-test:%d", time.Now().UnixNano())
	build := exec.Command("./scripts/image", tag)
	build.Env = append(p.env, "CONTAINER_ENGINE="+strings.Join(p.global, " "))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("scripts/image: %v\n%s", err, out)
	}
	if user := p.must("image", "inspect", "--format", "{{.Config.User}}", tag); user != "65532:65532" {
		t.Fatalf("image user %q, want 65532:65532 (non-root)", user)
	}
	// Nothing but the CA bundle and the binary (a layer each, FROM scratch): no shell.
	if layers := p.must("image", "inspect", "--format", "{{len .RootFS.Layers}}", tag); layers != "2" {
		t.Errorf("image has %s layers, want 2 (FROM scratch: the CA bundle and the binary)", layers)
	}
	if out, err := p.run("run", "--rm", "--runtime", "runc", "--network", "none", "--entrypoint", "/bin/sh", tag, "-c", "true"); err == nil {
		t.Errorf("the image has a shell: %s", out)
	}

	// The CLI inside the image: -h lists the commands and exits 0; a wrong command exits 2.
	if out := p.must("run", "--rm", "--runtime", "runc", "--network", "none", tag, "-h"); !strings.Contains(out, "commands:") {
		t.Errorf("featuregraph -h in the container: %s", out)
	}
	out, err := p.run("run", "--rm", "--runtime", "runc", "--network", "none", tag, "srve")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(out, `unknown command "srve"`) {
		t.Errorf("featuregraph srve in the container: %v\n%s", err, out)
	}

	// Serve on a published loopback port; where this machine cannot publish ports, share the
	// host's network instead.
	port := harness.FreeAddr(t)[len("127.0.0.1:"):]
	addr := "127.0.0.1:" + port
	name := fmt.Sprintf("featuregraph-test-%d", time.Now().UnixNano())
	if out, err := p.run("run", "-d", "--name", name, "--runtime", "runc", "-p", addr+":8080", tag); err != nil {
		t.Logf("publishing a port failed (%v: %s); using --network host", err, strings.TrimSpace(out))
		_, _ = p.run("rm", "-f", name)
		p.must("run", "-d", "--name", name, "--runtime", "runc", "--network", "host", tag, "serve", "--addr", addr)
	}
	defer func() {
		if t.Failed() {
			logs, _ := p.run("logs", name)
			t.Logf("container logs:\n%s", logs)
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			if code, _ := httpGet(addr + "/healthz"); code == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the container did not answer /healthz on %s: %v", addr, err)
		}
	}
	body, _ := json.Marshal(map[string]string{"query": harness.ReadmeQuery})
	res, err := http.Post("http://"+addr+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var got any
	err = json.NewDecoder(res.Body).Decode(&got)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	gotJSON, _ := json.Marshal(got)
	// The same answer as the binary gives outside a container (TestServeAnswersTheReadmeQuery
	// holds that one to the README).
	if want := harness.ServeAndQuery(t, nil, harness.ReadmeQuery)[0]; string(gotJSON) != want {
		t.Fatalf("container answered\n%s\nwant\n%s", gotJSON, want)
	}
	// It logs JSON (the image's default) and runs as uid 65532.
	if logs := p.must("logs", name); !strings.Contains(logs, `"msg":"serving"`) {
		t.Errorf("container logs are not JSON:\n%s", logs)
	}
	if uid := p.must("inspect", "--format", "{{.Config.User}}", name); uid != "65532:65532" {
		t.Errorf("container user %q", uid)
	}
	// SIGTERM stops it gracefully (exit code 0) well within the stop timeout.
	start := time.Now()
	p.must("stop", "-t", "10", name)
	if code := p.must("inspect", "--format", "{{.State.ExitCode}}", name); code != "0" {
		t.Errorf("exit code after SIGTERM: %s", code)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("stopping took %s: SIGTERM was not handled", d)
	}
}

func httpGet(addr string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}
