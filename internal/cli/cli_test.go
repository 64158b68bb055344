package cli

import (
	"bytes"
	"context"
	"flag"
	"regexp"
	"slices"
	"sort"
	"testing"
)

func noEnv(string) string { return "" }

func TestHelpListsEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"help"}} {
		var stdout, stderr bytes.Buffer
		if err := Run(context.Background(), args, &stdout, &stderr, noEnv); err != nil {
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
	if err := Run(context.Background(), args, &stdout, &stderr, noEnv); err != nil {
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
		c.new().flags(fs)
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
