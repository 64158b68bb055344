package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/featuregraph/featuregraph/internal/app"
)

// initTableCmd is `featuregraph init-table`: create the DynamoDB table and enable its TTL.
type initTableCmd struct {
	log   app.LogOptions
	store app.StoreOptions
}

func (c *initTableCmd) flags(fs *flag.FlagSet) { c.log.Flags(fs); c.store.Flags(fs) }

// run creates the DynamoDB table with its key schema and enables TTL on exp.
func (c *initTableCmd) run(ctx context.Context, e *env) error {
	log, err := e.logger(c.log)
	if err != nil {
		return err
	}
	if err := c.store.RequireDynamoDB(); err != nil { // init-table always means DynamoDB
		return err
	}
	st, err := app.OpenStore(ctx, &c.store, log.With("command", "init-table"), nil, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Table.CreateTable(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "table %s is ready (pk S, sk N, TTL on exp)\n", st.Table.Table())
	return nil
}
