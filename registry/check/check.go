// Package check decides whether a running process may take a new registry: it parses and
// validates the files, then compares the result with the registry being served by the rules of
// `featuregraph diff` (package diff). A breaking change — for clients or for stored data — is
// refused unless its ID is accepted, exactly as `featuregraph diff --accept` accepts it.
package check

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/featuregraph/featuregraph/diff"
	"github.com/featuregraph/featuregraph/registry"
)

// Outcome is the verdict on a candidate registry (the label of
// featuregraph_registry_reloads_total).
type Outcome string

// The outcomes of a reload.
const (
	// Taken: valid, and every breaking change (if any) accepted.
	Taken Outcome = "taken"
	// Refused: valid, but a breaking change is not accepted.
	Refused Outcome = "refused"
	// Invalid: the files do not parse or validate (or the accept list does not parse).
	Invalid Outcome = "invalid"
	// Failed: the source could not be read, or what depends on the registry could not be built
	// from it.
	Failed Outcome = "failed"
)

// Verdict is the result of Check.
type Verdict struct {
	Outcome Outcome
	// Registry is the parsed candidate (nil when Invalid).
	Registry *registry.Registry
	// Report is the diff against the serving registry (nil when there is none or Invalid).
	Report *diff.Report
	// Problems lists, one line each, why the candidate is not taken: every validation problem,
	// or every breaking change not accepted (with its ID, message and how to accept it).
	Problems []string
	// Err is the parse or validation error when Invalid because of the files (a
	// *registry.Error lists every problem), for callers that report it as an error.
	Err error
}

// Check parses files (name → content) and compares the result with serving (nil: nothing is
// served yet, so nothing can break). accepted is the accepted-changes list (as `diff
// --accept-file` reads it: one ID per line, # comments); extra are more accepted IDs
// (--accept-file of the process).
func Check(serving *registry.Registry, files map[string][]byte, accepted []byte, extra []string) Verdict {
	next, err := registry.Parse(files)
	if err != nil {
		return Verdict{Outcome: Invalid, Problems: problems(err), Err: err}
	}
	ids := append([]string(nil), extra...)
	if len(accepted) > 0 {
		more, err := diff.ReadAccepted(bytes.NewReader(accepted))
		if err != nil {
			return Verdict{Outcome: Invalid, Registry: next, Problems: []string{"accepted changes: " + err.Error()}}
		}
		ids = append(ids, more...)
	}
	v := Verdict{Outcome: Taken, Registry: next}
	if serving == nil {
		return v
	}
	rep, err := diff.Compare(serving, next)
	if err != nil {
		return Verdict{Outcome: Invalid, Registry: next, Problems: []string{err.Error()}}
	}
	v.Report = rep
	// Accepted IDs that match no change are normal here: they accepted an earlier reload.
	rep.Accept(ids)
	for _, c := range rep.Unaccepted() {
		v.Problems = append(v.Problems, fmt.Sprintf("%s change not accepted: %s (to take it, add the line %q to the registry's accepted-changes.txt or to --accept-file)",
			c.Class, c.Message, c.ID()))
	}
	if len(v.Problems) > 0 {
		v.Outcome = Refused
	}
	return v
}

// problems splits a registry error into its problems (a *registry.Error lists every one).
func problems(err error) []string {
	var re *registry.Error
	if errors.As(err, &re) {
		var out []string
		for _, p := range re.Problems {
			out = append(out, p.String())
		}
		if len(out) > 0 {
			return out
		}
	}
	return []string{err.Error()}
}
