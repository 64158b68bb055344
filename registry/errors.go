package registry

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a registry: where, what, and how to fix it.
type Problem struct {
	Pos Pos
	Msg string
	Fix string
}

func (p *Problem) String() string {
	s := fmt.Sprintf("%s:%d: %s", p.Pos.File, p.Pos.Line, p.Msg)
	if p.Pos.Column > 0 {
		s = fmt.Sprintf("%s:%d:%d: %s", p.Pos.File, p.Pos.Line, p.Pos.Column, p.Msg)
	}
	if p.Fix != "" {
		s += " (fix: " + p.Fix + ")"
	}
	return s
}

// Error is every problem found in a registry, sorted by file and line.
type Error struct {
	Problems []*Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid feature registry: %d problem(s)", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

type problems []*Problem

func (ps *problems) add(pos Pos, fix, format string, args ...any) {
	*ps = append(*ps, &Problem{Pos: pos, Msg: fmt.Sprintf(format, args...), Fix: fix})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Pos.File != ps[j].Pos.File {
			return ps[i].Pos.File < ps[j].Pos.File
		}
		return ps[i].Pos.Line < ps[j].Pos.Line
	})
	return &Error{Problems: ps}
}

// suggest returns the candidate closest to s (edit distance ≤ 3 or same letters ignoring case).
func suggest(s string, candidates []string) string {
	best, bestD := "", 4
	for _, c := range candidates {
		if strings.EqualFold(strings.ReplaceAll(c, "_", ""), strings.ReplaceAll(s, "_", "")) {
			return c
		}
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
