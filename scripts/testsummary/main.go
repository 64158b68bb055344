// Command testsummary reads `go test -json` on stdin and prints what a plain `go test` prints
// (the output of failing tests, build errors, a line per package), then the packages by test
// time. With FEATUREGRAPH_INTEGRATION=1 a skipped test is a failure: every test server and tool
// is required then, so nothing may be skipped silently. scripts/test pipes the suite through it.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Output     string
	Elapsed    float64
}

func main() {
	integration := os.Getenv("FEATUREGRAPH_INTEGRATION") == "1"
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	held := map[string][]string{} // output of a running test, shown if it fails
	var skipped []string
	type pkgTime struct {
		name    string
		elapsed float64
	}
	var times []pkgTime
	failed := false
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if json.Unmarshal(line, &e) != nil || e.Action == "" {
			fmt.Fprintf(out, "%s\n", line) // not test2json: pass it on
			continue
		}
		key := e.Package + " " + e.Test
		switch {
		case e.Action == "build-output":
			fmt.Fprint(out, e.Output)
		case e.Test == "" && e.Action == "output":
			if s := strings.TrimSpace(e.Output); s != "PASS" && !strings.HasPrefix(s, "=== ") {
				fmt.Fprint(out, e.Output)
			}
		case e.Test == "":
			if e.Action == "fail" {
				failed = true
				// A crash or timeout: show what the tests still running had printed.
				for k, lines := range held {
					if strings.HasPrefix(k, e.Package+" ") {
						for _, l := range lines {
							fmt.Fprint(out, l)
						}
						delete(held, k)
					}
				}
			}
			if e.Action == "pass" || e.Action == "fail" {
				times = append(times, pkgTime{e.Package, e.Elapsed})
			}
			out.Flush()
		case e.Action == "output":
			held[key] = append(held[key], e.Output)
		case e.Action == "fail":
			failed = true
			for _, l := range held[key] {
				fmt.Fprint(out, l)
			}
			delete(held, key)
		case e.Action == "skip":
			reason := ""
			for _, l := range held[key] {
				if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "=== ") && !strings.HasPrefix(t, "--- SKIP") {
					reason = t
				}
			}
			skipped = append(skipped, fmt.Sprintf("%s %s: %s", e.Package, e.Test, reason))
			delete(held, key)
		case e.Action == "pass":
			delete(held, key)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(out, "testsummary:", err)
		failed = true
	}
	sort.Slice(times, func(i, j int) bool { return times[i].elapsed > times[j].elapsed })
	fmt.Fprintln(out, "\nslowest packages (test binary run time):")
	for i, p := range times {
		if i == 8 {
			break
		}
		fmt.Fprintf(out, "  %6.1fs  %s\n", p.elapsed, p.name)
	}
	if len(skipped) > 0 {
		fmt.Fprintf(out, "\n%d skipped test(s):\n", len(skipped))
		for _, s := range skipped {
			fmt.Fprintln(out, "  "+s)
		}
		if integration {
			fmt.Fprintln(out, "FEATUREGRAPH_INTEGRATION=1 requires every test to run: a skip is a failure")
			failed = true
		}
	}
	if failed {
		out.Flush()
		os.Exit(1)
	}
}
