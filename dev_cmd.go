package main

import (
	"context"
	"errors"
	"flag"
)

type devOptions struct{}

func devFlags(fs *flag.FlagSet, e *cmdEnv) { featuresFlag(fs, e) }

func runDev(ctx context.Context, e *cmdEnv) error { return errors.New("not yet") }
