// Command featuregraph is a GraphQL gateway for an ML feature store: static features from
// DynamoDB, action features from Redis sorted sets, defined in YAML. See README.md.
//
//go:generate go run ./codegen/cmd/generate --features ./features
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
)

func main() {
	// The heap of a gateway is small and short-lived (per-request objects): trading some memory
	// for fewer collections cut CPU per request by 12-16% in the benchmarks. GOGC and
	// GOMEMLIMIT, when set, win.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "featuregraph:", err)
		}
		os.Exit(2)
	}
}

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, env *cmdEnv) error
	flags   func(fs *flag.FlagSet, env *cmdEnv)
}

// cmdEnv carries what every command needs; flags fill its option structs.
type cmdEnv struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	args           []string // positional arguments left after flags
	opts           options
}

var commands = map[string]command{
	"serve":      {summary: "serve the GraphQL API (the default)", run: runServe, flags: serveFlags},
	"ingest":     {summary: "consume events from Kafka into the stores", run: runIngest, flags: ingestFlags},
	"load":       {summary: "load a file of events or feature values into the stores", run: runLoad, flags: loadFlags},
	"generate":   {summary: "generate schema, models and resolvers from the registry (what go generate runs)", run: runGenerate, flags: generateFlags},
	"validate":   {summary: "validate the feature registry and print every problem", run: runValidate, flags: validateFlags},
	"init-table": {summary: "create the DynamoDB table and enable its TTL", run: runInitTable, flags: initTableFlags},
	"diff":       {summary: "classify the registry's changes against a base (git ref or directory); fails on a breaking one not accepted", run: runDiff, flags: diffFlags},
	"dev":        {summary: "serve and watch the registry: on a change validate, regenerate, rebuild and restart, keeping the data", run: runDev, flags: devFlags},
}

// run parses args (a subcommand, default serve, then its flags) and runs the command.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if name == "help" {
		usage(stderr)
		return nil
	}
	cmd, ok := commands[name]
	if !ok {
		usage(stderr)
		return fmt.Errorf("unknown command %q", name)
	}
	env := &cmdEnv{stdout: stdout, stderr: stderr, getenv: getenv}
	fs := flag.NewFlagSet("featuregraph "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cmd.flags(fs, env)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: featuregraph %s [flags]\n\n%s.\nEvery flag can also be set as FEATUREGRAPH_<FLAG> (upper snake case).\n\n", name, cmd.summary)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := applyEnv(fs, getenv); err != nil {
		return err
	}
	env.args = fs.Args()
	env.recordSet(fs)
	return cmd.run(ctx, env)
}

// applyEnv sets every flag not given on the command line from FEATUREGRAPH_<FLAG>, if present.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		name := EnvName(f.Name)
		if v := getenv(name); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %v", name, v, err))
			}
		}
	})
	return errors.Join(errs...)
}

// EnvName is the environment variable of a flag: redis-addr → FEATUREGRAPH_REDIS_ADDR.
func EnvName(flagName string) string {
	return "FEATUREGRAPH_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: featuregraph <command> [flags]   (no command: serve)")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun `featuregraph <command> -h` for its flags.")
}
