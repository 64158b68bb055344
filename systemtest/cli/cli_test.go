package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

func TestUnexpectedArgumentIsAnError(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "extra"}, `serve: unexpected argument "extra"`},
		{[]string{"validate", "--features", "features", "more"}, `validate: unexpected argument "more"`},
		{[]string{"version", "x"}, `version: unexpected argument "x"`},
		{[]string{"help", "serve", "x"}, `help: unexpected argument "x"`},
		{[]string{"serve", "--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"help", "srve"}, `unknown command "srve" (did you mean "serve"?)`},
		{[]string{"vlidate"}, `unknown command "vlidate" (did you mean "validate"?)`},
	} {
		var out bytes.Buffer
		err := cli.Run(context.Background(), tc.args, &out, &out, harness.NoEnv)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestVersionPrintsTheGoVersion(t *testing.T) {
	var out bytes.Buffer
	if err := cli.Run(context.Background(), []string{"version"}, &out, &out, harness.NoEnv); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "featuregraph ") || !strings.Contains(out.String(), goruntime.Version()) {
		t.Fatalf("version printed %q", out.String())
	}
}

func TestAdminEndpointsOnTheirOwnAddress(t *testing.T) {
	adminAddr := harness.FreeAddr(t)
	addr, _ := harness.StartServe(t, "--admin-addr", adminAddr)
	code, body := harness.Get(t, "http://"+adminAddr+"/buildinfo")
	var info struct {
		Version, GoVersion string
	}
	if err := json.Unmarshal([]byte(body), &info); code != 200 || err != nil {
		t.Fatalf("/buildinfo: %d %v %s", code, err, body)
	}
	if info.GoVersion != goruntime.Version() || info.Version == "" {
		t.Fatalf("/buildinfo: %s", body)
	}
	if code, body := harness.Get(t, "http://"+adminAddr+"/debug/pprof/heap?debug=1"); code != 200 || !strings.Contains(body, "heap profile") {
		t.Fatalf("/debug/pprof/heap: %d %.200s", code, body)
	}
	if code, body := harness.Get(t, "http://"+adminAddr+"/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("/debug/pprof/goroutine: %d %.200s", code, body)
	}
	// The public listener does not serve them.
	for _, p := range []string{"/debug/pprof/", "/buildinfo"} {
		if code, _ := harness.Get(t, "http://"+addr+p); code != http.StatusNotFound {
			t.Errorf("public %s: %d, want 404", p, code)
		}
	}
	// The build is also a metric, for dashboards.
	if _, body := harness.Get(t, "http://"+addr+"/metrics"); !strings.Contains(body, `featuregraph_build_info{goversion="`+goruntime.Version()+`"`) {
		t.Errorf("/metrics lacks featuregraph_build_info")
	}
}

func TestAdminEndpointsOffByDefault(t *testing.T) {
	fs, _ := cli.FlagSet("serve")
	if f := fs.Lookup("admin-addr"); f == nil || f.DefValue != "" {
		t.Fatalf("--admin-addr must exist and default to off: %+v", f)
	}
	addr, _ := harness.StartServe(t)
	if code, _ := harness.Get(t, "http://"+addr+"/debug/pprof/"); code != http.StatusNotFound {
		t.Fatalf("/debug/pprof/ on the public address: %d", code)
	}
	// A busy admin port is a clear error naming the flag.
	err := cli.Run(context.Background(), []string{"serve", "--addr", harness.FreeAddr(t), "--admin-addr", addr}, io.Discard, io.Discard, harness.NoEnv)
	if err == nil || !strings.Contains(err.Error(), "--admin-addr "+addr) {
		t.Fatalf("busy admin port: %v", err)
	}
}
