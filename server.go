// Command featuregraph is a GraphQL gateway for an ML feature store: static features from
// DynamoDB, action features from Redis sorted sets, defined in YAML. See README.md.
//
// The commands are in internal/cli (one file each, with its flags); the wiring of stores and
// servers they start is in internal/app.
//
//go:generate go run ./codegen/cmd/generate --features ./features
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/featuregraph/featuregraph/internal/cli"
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
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "featuregraph:", err)
		os.Exit(2)
	}
}

// run runs the command of the command line until it ends or ctx (SIGINT, SIGTERM) is done.
func run(ctx context.Context) error {
	return cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv, cli.RouteLibraryLogs())
}
