// Package cli is featuregraph's command line: the table of commands, the parsing of their flags
// (and of the FEATUREGRAPH_* variables that set them) and their help. Each command is one file,
// with its flags and options next to it; what the commands start (stores, servers, the push
// endpoint) is wired in internal/app.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/featuregraph/featuregraph/internal/app"
)

// command is one subcommand. Adding one is adding an entry to commands: its runner's flags
// method registers only the flags that apply to it (so its -h lists only those).
type command struct {
	summary string
	// new returns the command with its options at their zero values; flags fills them.
	new func() runner
	// args describes the positional arguments the command takes, for its usage line
	// ("FILE...", "[DIR]"); empty means none, and any positional argument is an error.
	args string
}

// runner is a command's options and what it does with them.
type runner interface {
	flags(fs *flag.FlagSet)
	run(ctx context.Context, e *env) error
}

// env carries what every command needs besides its own options.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	args           []string // positional arguments left after flags (only for commands with args)
	// routeLibraryLogs sends the process-wide loggers (go-redis, slog.Default) through the
	// command's logger: set by main, not by tests (which run several commands in one process,
	// each with its own writer).
	routeLibraryLogs bool
}

// logger builds the structured logger o asks for, writing to stderr.
func (e *env) logger(o app.LogOptions) (*slog.Logger, error) {
	return o.Logger(e.stderr, e.routeLibraryLogs)
}

// startStoreCommand begins a worker command that uses the stores (ingest, load): tracing from
// the environment, then the command's logger. The returned stop flushes the tracer, waiting at
// most grace; the caller defers it.
func (e *env) startStoreCommand(ctx context.Context, so *app.StoreOptions, lo app.LogOptions, grace time.Duration) (*slog.Logger, func(), error) {
	prov, err := app.StartTracing(ctx, e.getenv, e.stderr, so)
	if err != nil {
		return nil, nil, err
	}
	stop := func() { app.StopTracing(ctx, prov, grace, e.stderr) }
	log, err := e.logger(lo)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return log, stop, nil
}

var commands = map[string]command{
	"serve":      {summary: "serve the GraphQL API (the default)", new: func() runner { return &serveCmd{} }},
	"ingest":     {summary: "consume events from Kafka into the stores", new: func() runner { return &ingestCmd{} }},
	"load":       {summary: "load a file of events or feature values into the stores", new: func() runner { return &loadCmd{} }},
	"generate":   {summary: "generate schema, models and resolvers from the registry (what go generate runs)", new: func() runner { return &generateCmd{} }},
	"validate":   {summary: "validate the feature registry and print every problem", new: func() runner { return &validateCmd{} }},
	"init-table": {summary: "create the DynamoDB table and enable its TTL", new: func() runner { return &initTableCmd{} }},
	"version":    {summary: "print the version, commit and Go version of this binary", new: func() runner { return versionCmd{} }},
	"diff":       {summary: "classify the registry's changes against a base (git ref or directory); fails on a breaking one not accepted", new: func() runner { return &diffCmd{} }},
	"dataset":    {summary: "write a point-in-time training set (Parquet) from a spine of entity ids and times, read with a GraphQL operation", new: func() runner { return &datasetCmd{} }},
	"dev":        {summary: "serve and watch the registry: on a change validate, regenerate, rebuild and restart, keeping the data", new: func() runner { return &devCmd{} }, args: "[-- serve flags...]"},
}

// isHelp reports whether arg asks for help (-h, -help, --help).
func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// An Option changes how Run runs a command.
type Option func(*env)

// RouteLibraryLogs sends the logs of libraries (go-redis, slog.Default: process-wide) through
// the command's logger, so that every line follows --log-format and --log-level. The program
// asks for it; tests, which run several commands in one process, do not.
func RouteLibraryLogs() Option { return func(e *env) { e.routeLibraryLogs = true } }

// Run parses args (a subcommand, default serve, then its flags) and runs the command. Help that
// was asked for (-h, help) goes to stdout and is not an error; usage after a mistake goes to
// stderr with the error. getenv reads the FEATUREGRAPH_* variables (and OTEL_*).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, opts ...Option) error {
	name := "serve"
	switch {
	case len(args) > 0 && isHelp(args[0]):
		usage(stdout)
		return nil
	case len(args) > 0 && args[0] == "help":
		if len(args) == 1 {
			usage(stdout)
			return nil
		}
		if len(args) > 2 {
			return fmt.Errorf("help: unexpected argument %q (usage: featuregraph help [command])", args[2])
		}
		// help COMMAND is COMMAND -h.
		name, args = args[1], []string{"-h"}
	case len(args) > 0 && !strings.HasPrefix(args[0], "-"):
		name, args = args[0], args[1:]
	}
	cmd, ok := commands[name]
	if !ok {
		usage(stderr)
		return fmt.Errorf("unknown command %q%s", name, suggestCommand(name))
	}
	e := &env{stdout: stdout, stderr: stderr, getenv: getenv}
	for _, o := range opts {
		o(e)
	}
	r := cmd.new()
	fs := flag.NewFlagSet("featuregraph "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	r.flags(fs)
	fs.Usage = func() { commandUsage(fs.Output(), name, cmd, fs) }
	for _, a := range args {
		if a == "--" {
			break
		}
		if isHelp(a) {
			fs.SetOutput(stdout)
			fs.Usage()
			return nil
		}
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 && cmd.args == "" {
		return fmt.Errorf("%s: unexpected argument %q (it takes flags only; see featuregraph %s -h)", name, fs.Arg(0), name)
	}
	if err := applyEnv(fs, getenv); err != nil {
		return err
	}
	e.args = fs.Args()
	return r.run(ctx, e)
}

// FlagSet returns the flags of the command name, as its -h lists them (false: no such command).
// The deploy tests check the Helm chart's FEATUREGRAPH_* variables against it.
func FlagSet(name string) (*flag.FlagSet, bool) {
	cmd, ok := commands[name]
	if !ok {
		return nil, false
	}
	fs := flag.NewFlagSet("featuregraph "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cmd.new().flags(fs)
	return fs, true
}

// commandUsage prints one command's usage line and only the flags it registered.
func commandUsage(w io.Writer, name string, cmd command, fs *flag.FlagSet) {
	line := "featuregraph " + name
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		line += " [flags]"
	}
	if cmd.args != "" {
		line += " " + cmd.args
	}
	fmt.Fprintf(w, "usage: %s\n\n%s.\n", line, cmd.summary)
	if n > 0 {
		fmt.Fprintf(w, "Every flag can also be set as FEATUREGRAPH_<FLAG> (upper snake case).\n\nflags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

// suggestCommand returns ` (did you mean "serve"?)` for a near miss, else "".
func suggestCommand(name string) string {
	best, bestD := "", 3
	for n := range commands {
		if d := editDistance(name, n); d < bestD || (d == bestD && n < best) {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
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
	fmt.Fprintln(w, "  help        print this list; `help <command>` prints that command's flags")
	fmt.Fprintln(w, "\nRun `featuregraph <command> -h` for its flags.")
}
