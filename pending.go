package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

func ingestFlags(fs *flag.FlagSet, e *cmdEnv) {
	featuresFlag(fs, e)
	logFlags(fs, e)
	storeFlags(fs, e)
}
func loadFlags(fs *flag.FlagSet, e *cmdEnv) { featuresFlag(fs, e); logFlags(fs, e); storeFlags(fs, e) }

func runIngest(context.Context, *cmdEnv) error { return errors.New("ingest: not wired yet") }
func runLoad(context.Context, *cmdEnv) error   { return errors.New("load: not wired yet") }

func mountIngest(*gateway.Gateway, *registry.Registry, store.Writer, *slog.Logger) {}
