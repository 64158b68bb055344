package diff

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Class says whom a change can break.
type Class string

// The classes of a change.
const (
	// BreakingClient: a query that works against the base schema may fail or be misread.
	BreakingClient Class = "breaking-client"
	// BreakingData: values already stored would be orphaned, misread or trimmed.
	BreakingData Class = "breaking-data"
	// Safe: an addition or a change no client or stored value can notice as a break.
	Safe Class = "safe"
)

// Breaking reports whether the class is one of the breaking ones.
func (c Class) Breaking() bool { return c == BreakingClient || c == BreakingData }

// Change is one classified difference between the base and the head registry.
type Change struct {
	Class   Class  `json:"class"`
	Code    string `json:"code"`    // what kind of change: "field-removed", "prefix-changed", ...
	Subject string `json:"subject"` // what changed: a schema coordinate ("User.os", "User.recentPurchases(count:)") or a feature ("user.os")
	Message string `json:"message"` // what changed and what it means, for a reviewer
	// Accepted is set by Accept when the change is listed as accepted.
	Accepted bool `json:"accepted"`
}

// ID names the change in an accepted-changes list: "<code> <subject>".
func (c Change) ID() string { return c.Code + " " + c.Subject }

// Report is every change between two registries, breaking ones first, then by subject.
type Report struct {
	Changes []Change `json:"changes"`
}

func (r *Report) add(class Class, code, subject, format string, args ...any) {
	r.Changes = append(r.Changes, Change{Class: class, Code: code, Subject: subject, Message: fmt.Sprintf(format, args...)})
}

func classRank(c Class) int {
	switch c {
	case BreakingClient:
		return 0
	case BreakingData:
		return 1
	}
	return 2
}

func (r *Report) sort() {
	sort.SliceStable(r.Changes, func(i, j int) bool {
		a, b := r.Changes[i], r.Changes[j]
		if classRank(a.Class) != classRank(b.Class) {
			return classRank(a.Class) < classRank(b.Class)
		}
		if a.Subject != b.Subject {
			return a.Subject < b.Subject
		}
		return a.Code < b.Code
	})
}

// Unaccepted returns the breaking changes that are not accepted.
func (r *Report) Unaccepted() []Change {
	var out []Change
	for _, c := range r.Changes {
		if c.Class.Breaking() && !c.Accepted {
			out = append(out, c)
		}
	}
	return out
}

// Accept marks every change whose ID is in ids as accepted and returns the ids that matched no
// change (a stale entry, or a typo).
func (r *Report) Accept(ids []string) (unused []string) {
	used := map[string]bool{}
	for i := range r.Changes {
		for _, id := range ids {
			if normalizeID(id) == r.Changes[i].ID() {
				r.Changes[i].Accepted = true
				used[id] = true
			}
		}
	}
	for _, id := range ids {
		if !used[id] {
			unused = append(unused, id)
		}
	}
	return unused
}

func normalizeID(id string) string { return strings.Join(strings.Fields(id), " ") }

// ReadAccepted reads an accepted-changes list: one change ID ("<code> <subject>", as the report
// prints it) per line; blank lines and lines starting with # are ignored, as is anything after
// " #" on a line (a reason).
func ReadAccepted(r io.Reader) ([]string, error) {
	var ids []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ids = append(ids, normalizeID(line))
	}
	return ids, sc.Err()
}

// WriteText writes the report for a reviewer: breaking changes first, each with its ID.
func (r *Report) WriteText(w io.Writer) {
	if len(r.Changes) == 0 {
		fmt.Fprintln(w, "no changes")
		return
	}
	titles := map[Class]string{
		BreakingClient: "breaking for clients",
		BreakingData:   "breaking for stored data",
		Safe:           "safe",
	}
	var last Class
	for _, c := range r.Changes {
		if c.Class != last {
			fmt.Fprintf(w, "%s:\n", titles[c.Class])
			last = c.Class
		}
		mark := ""
		if c.Accepted {
			mark = " (accepted)"
		}
		fmt.Fprintf(w, "  %s%s\n      %s\n", c.ID(), mark, c.Message)
	}
}
