package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"regexp"
	goruntime "runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestHelpListsEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"help"}} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, &stdout, &stderr, noEnv); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		for name, c := range commands {
			if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(name) + ` +` + regexp.QuoteMeta(c.summary) + `$`).MatchString(stdout.String()) {
				t.Errorf("%v: %q with its summary is not listed:\n%s", args, name, stdout.String())
			}
		}
		if stderr.Len() != 0 {
			t.Errorf("%v: help asked for goes to stdout, got stderr %q", args, stderr.String())
		}
	}
}

// helpFlags returns the flag names a command's -h prints.
func helpFlags(t *testing.T, args ...string) []string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, &stdout, &stderr, noEnv); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, stderr.String())
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(stdout.String(), -1) {
		names = append(names, m[1])
	}
	sort.Strings(names)
	return names
}

func TestCommandHelpShowsOnlyItsOwnFlags(t *testing.T) {
	for name, c := range commands {
		// What the command registers is exactly what its -h (and help <command>) prints.
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		c.flags(fs, &cmdEnv{})
		var want []string
		fs.VisitAll(func(f *flag.Flag) { want = append(want, f.Name) })
		if got := helpFlags(t, name, "-h"); !slices.Equal(got, want) {
			t.Errorf("%s -h prints %v, registers %v", name, got, want)
		}
		if got := helpFlags(t, "help", name); !slices.Equal(got, want) {
			t.Errorf("help %s prints %v, registers %v", name, got, want)
		}
	}
	has := func(cmd string, flags []string, want bool, names ...string) {
		for _, n := range names {
			if slices.Contains(flags, n) != want {
				t.Errorf("%s -h: has --%s = %v, want %v", cmd, n, !want, want)
			}
		}
	}
	serve := helpFlags(t, "serve", "-h")
	has("serve", serve, true, "addr", "admin-addr", "shutdown-timeout", "max-ids", "redis-addr", "log-format")
	has("serve", serve, false, "kafka-brokers", "file", "concurrency", "metrics-addr", "write-batch")
	ingest := helpFlags(t, "ingest", "-h")
	has("ingest", ingest, true, "kafka-brokers", "kafka-group", "metrics-addr", "admin-addr", "write-batch")
	has("ingest", ingest, false, "addr", "max-ids", "file", "production", "shutdown-timeout")
	load := helpFlags(t, "load", "-h")
	has("load", load, true, "file", "concurrency", "dynamodb-table")
	has("load", load, false, "addr", "kafka-brokers", "admin-addr", "metrics-addr")
	if got := helpFlags(t, "validate", "-h"); !slices.Equal(got, []string{"features"}) {
		t.Errorf("validate -h: %v, want only --features", got)
	}
	if got := helpFlags(t, "version", "-h"); len(got) != 0 {
		t.Errorf("version -h: %v, want no flags", got)
	}
}

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
		err := run(context.Background(), tc.args, &out, &out, noEnv)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestVersionPrintsTheGoVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, &out, noEnv); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "featuregraph ") || !strings.Contains(out.String(), goruntime.Version()) {
		t.Fatalf("version printed %q", out.String())
	}
}

func waitHTTP(t *testing.T, url string, done <-chan error) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			return
		}
		select {
		case err := <-done:
			t.Fatalf("server exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestAdminEndpointsOnTheirOwnAddress(t *testing.T) {
	adminAddr := freeAddr(t)
	addr, _ := startServe(t, "--admin-addr", adminAddr)
	code, body := get(t, "http://"+adminAddr+"/buildinfo")
	var info struct {
		Version, GoVersion string
	}
	if err := json.Unmarshal([]byte(body), &info); code != 200 || err != nil {
		t.Fatalf("/buildinfo: %d %v %s", code, err, body)
	}
	if info.GoVersion != goruntime.Version() || info.Version == "" {
		t.Fatalf("/buildinfo: %s", body)
	}
	if code, body := get(t, "http://"+adminAddr+"/debug/pprof/heap?debug=1"); code != 200 || !strings.Contains(body, "heap profile") {
		t.Fatalf("/debug/pprof/heap: %d %.200s", code, body)
	}
	if code, body := get(t, "http://"+adminAddr+"/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("/debug/pprof/goroutine: %d %.200s", code, body)
	}
	// The public listener does not serve them.
	for _, p := range []string{"/debug/pprof/", "/buildinfo"} {
		if code, _ := get(t, "http://"+addr+p); code != http.StatusNotFound {
			t.Errorf("public %s: %d, want 404", p, code)
		}
	}
	// The build is also a metric, for dashboards.
	if _, body := get(t, "http://"+addr+"/metrics"); !strings.Contains(body, `featuregraph_build_info{goversion="`+goruntime.Version()+`"`) {
		t.Errorf("/metrics lacks featuregraph_build_info")
	}
}

func TestAdminEndpointsOffByDefault(t *testing.T) {
	var e cmdEnv
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	serveFlags(fs, &e)
	if f := fs.Lookup("admin-addr"); f == nil || f.DefValue != "" {
		t.Fatalf("--admin-addr must exist and default to off: %+v", f)
	}
	addr, _ := startServe(t)
	if code, _ := get(t, "http://"+addr+"/debug/pprof/"); code != http.StatusNotFound {
		t.Fatalf("/debug/pprof/ on the public address: %d", code)
	}
	// A busy admin port is a clear error naming the flag.
	err := run(context.Background(), []string{"serve", "--addr", freeAddr(t), "--admin-addr", addr}, io.Discard, io.Discard, noEnv)
	if err == nil || !strings.Contains(err.Error(), "--admin-addr "+addr) {
		t.Fatalf("busy admin port: %v", err)
	}
}
