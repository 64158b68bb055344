package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/featuregraph/featuregraph/diff"
	"github.com/featuregraph/featuregraph/internal/app"
)

// diffCmd is `featuregraph diff`.
type diffCmd struct {
	features   string
	base       string
	json       bool
	accept     stringList
	acceptFile string
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ", ") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

func (c *diffCmd) flags(fs *flag.FlagSet) {
	app.FeaturesFlag(fs, &c.features)
	o := c
	fs.StringVar(&o.base, "base", "", "the registry to compare against: a directory of YAML, or a git revision (branch, tag, commit) of --features (required)")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON")
	fs.Var(&o.accept, "accept", "accept a breaking change by its ID, as the report prints it (e.g. 'field-removed User.imageCount'); repeatable")
	fs.StringVar(&o.acceptFile, "accept-file", "", "file of accepted change IDs, one per line (# comments)")
}

// diffReport is the --json output.
type diffReport struct {
	Base      string        `json:"base"`
	Head      string        `json:"head"`
	Changes   []diff.Change `json:"changes"`
	Breaking  int           `json:"breaking"` // breaking changes not accepted
	UnusedIDs []string      `json:"unusedAccepted,omitempty"`
	Passed    bool          `json:"passed"`
}

func (c *diffCmd) run(ctx context.Context, e *env) error {
	o := c
	if o.base == "" {
		return errors.New("diff needs --base: a directory of registry YAML or a git revision (e.g. --base origin/main)")
	}
	head, _, err := app.LoadRegistry(c.features, nil)
	if err != nil {
		return err
	}
	base, err := diff.LoadBase(ctx, o.base, c.features)
	if err != nil {
		return err
	}
	rep, err := diff.Compare(base, head)
	if err != nil {
		return err
	}
	ids := append([]string(nil), o.accept...)
	if o.acceptFile != "" {
		f, err := os.Open(o.acceptFile)
		if err != nil {
			return fmt.Errorf("--accept-file: %w", err)
		}
		more, err := diff.ReadAccepted(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("--accept-file %s: %w", o.acceptFile, err)
		}
		ids = append(ids, more...)
	}
	unused := rep.Accept(ids)
	bad := rep.Unaccepted()
	if o.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		out := diffReport{Base: o.base, Head: c.features, Changes: rep.Changes, Breaking: len(bad), UnusedIDs: unused, Passed: len(bad) == 0}
		if out.Changes == nil {
			out.Changes = []diff.Change{}
		}
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stdout, "registry %s against base %s\n", c.features, o.base)
		rep.WriteText(e.stdout)
		for _, id := range unused {
			fmt.Fprintf(e.stderr, "warning: accepted change %q matches no change\n", id)
		}
	}
	if len(bad) > 0 {
		names := make([]string, len(bad))
		for i, c := range bad {
			names[i] = c.ID()
		}
		return fmt.Errorf("%d breaking change(s) not accepted: %s (accept each with --accept '<id>' or list it in --accept-file)",
			len(bad), strings.Join(names, "; "))
	}
	return nil
}
