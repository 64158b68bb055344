package readme_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// The README as a reference: its tables of flags, environment variables, metrics and error codes
// are checked against the code, and its links against the files they name. (readme_test.go
// checks its examples.)

// readmeSection returns the lines of the README from the heading line start (e.g. "### Flags")
// up to the next heading of the same or a higher level.
func readmeSection(t *testing.T, start string) []string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	level := strings.Index(start, " ")
	var out []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		if in && strings.HasPrefix(line, "#") {
			if l := strings.Index(line, " "); l > 0 && l <= level && strings.Trim(line[:l], "#") == "" {
				break
			}
		}
		if line == start {
			in = true
		}
		if in {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		t.Fatalf("README.md has no section %q", start)
	}
	return out
}

// The README's flag tables (Configuration, "### Flags") name every flag of every command once,
// in the first cell of a row, with the default its -h prints and the commands that take it (those
// in the parentheses of the table's bold heading, or those the row's meaning starts with, as in
// "serve, dev: listen address"), and name no flag that no command has.
func TestReadmeConfigurationListsEveryFlag(t *testing.T) {
	commandNames := helpCommands(t)
	isCommand := map[string]bool{}
	for _, c := range commandNames {
		isCommand[c] = true
	}
	// commandsIn returns the command names among the comma-separated leading words of s.
	commandsIn := func(s string) []string {
		var out []string
		for _, w := range strings.Split(s, ",") {
			w = strings.Trim(strings.TrimSpace(w), "`")
			if !isCommand[w] {
				break
			}
			out = append(out, w)
		}
		return out
	}
	type flagDoc struct {
		defaultCell string
		commands    []string
	}
	documented := map[string]flagDoc{}
	flagRE := regexp.MustCompile("`--([a-z0-9-]+)")
	headingRE := regexp.MustCompile(`^\*\*[^*]+\*\* \(([^)]*)\)`)
	var mentioned []string
	var group []string
	for _, line := range readmeSection(t, "### Flags") {
		if strings.HasPrefix(line, "**") {
			group = nil
			if m := headingRE.FindStringSubmatch(line); m != nil {
				group = commandsIn(strings.Split(m[1], ";")[0])
			}
			continue
		}
		if !strings.HasPrefix(line, "| `--") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 3 {
			t.Errorf("a flag row has a flag, a default and a meaning: %s", line)
			continue
		}
		cmds := group
		if prefix, _, ok := strings.Cut(cells[2], ":"); ok && len(commandsIn(prefix)) > 0 {
			cmds = commandsIn(prefix)
		}
		if len(cmds) == 0 {
			t.Errorf("a flag row whose commands are not said (in its table's heading or at the start of its meaning): %s", line)
		}
		for _, m := range flagRE.FindAllStringSubmatch(cells[0], -1) {
			if _, dup := documented[m[1]]; dup {
				t.Errorf("--%s is listed twice", m[1])
			}
			documented[m[1]] = flagDoc{defaultCell: cells[1], commands: cmds}
		}
		for _, m := range flagRE.FindAllStringSubmatch(cells[1]+" "+cells[2], -1) {
			mentioned = append(mentioned, m[1])
		}
	}
	// Every flag of every command, with the default -h prints.
	defaultRE := regexp.MustCompile(`\(default "?([^")]*)"?\)$`)
	takenBy := map[string][]string{}
	for _, name := range commandNames {
		var stdout, stderr bytes.Buffer
		if err := cli.Run(context.Background(), []string{name, "-h"}, &stdout, &stderr, harness.NoEnv); err != nil {
			t.Fatalf("%s -h: %v", name, err)
		}
		lines := strings.Split(stdout.String(), "\n")
		for i, line := range lines {
			if !strings.HasPrefix(line, "  -") {
				continue
			}
			flagName := strings.Fields(strings.TrimPrefix(line, "  -"))[0]
			takenBy[flagName] = append(takenBy[flagName], name)
			doc, ok := documented[flagName]
			if !ok {
				t.Errorf("%s --%s is not in the README's flag tables", name, flagName)
				continue
			}
			if i+1 >= len(lines) || flagName == "redis-pool-size" { // 10 per CPU: -h shows this machine's
				continue
			}
			m := defaultRE.FindStringSubmatch(strings.TrimSpace(lines[i+1]))
			if m == nil || strings.HasPrefix(m[1], "<") || strings.HasPrefix(m[1], "on") || strings.HasPrefix(m[1], "from") {
				continue // no default, or one -h describes in words
			}
			want := m[1]
			if strings.HasSuffix(want, "m0s") { // 1m0s is written 1m
				want = strings.TrimSuffix(want, "0s")
			}
			if want == "true" {
				want = "on"
			}
			if !strings.Contains(strings.ReplaceAll(doc.defaultCell, "`", ""), want) {
				t.Errorf("--%s: the README's default %q, -h says %q", flagName, doc.defaultCell, m[1])
			}
		}
	}
	for f, doc := range documented {
		got, want := append([]string(nil), doc.commands...), takenBy[f]
		sort.Strings(got)
		sort.Strings(want)
		if len(want) == 0 {
			t.Errorf("the README lists --%s, which no command has", f)
		} else if !reflect.DeepEqual(got, want) {
			t.Errorf("--%s: the README says it is a flag of %v, -h of %v", f, got, want)
		}
	}
	for _, f := range mentioned {
		if len(takenBy[f]) == 0 {
			t.Errorf("the README's flag tables mention --%s, which no command has", f)
		}
	}
}

// helpCommands returns the commands `featuregraph -h` lists (help aside).
func helpCommands(t *testing.T) []string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := cli.Run(context.Background(), []string{"-h"}, &stdout, &stderr, harness.NoEnv); err != nil {
		t.Fatalf("-h: %v", err)
	}
	_, list, _ := strings.Cut(stdout.String(), "commands:\n")
	var names []string
	for _, line := range strings.Split(list, "\n") {
		if !strings.HasPrefix(line, "  ") {
			break
		}
		if name := strings.Fields(line)[0]; name != "help" {
			names = append(names, name)
		}
	}
	if len(names) < 5 {
		t.Fatalf("-h lists %d commands:\n%s", len(names), stdout.String())
	}
	return names
}

// githubAnchor is the anchor GitHub gives a heading: lower case, punctuation dropped, spaces to
// hyphens.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// markdownAnchors returns the anchors of a Markdown file's headings (outside code blocks).
func markdownAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	fenced := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
		}
		if !fenced && strings.HasPrefix(line, "#") {
			anchors[githubAnchor(strings.TrimSpace(strings.TrimLeft(line, "#")))] = true
		}
	}
	return anchors
}

// Every relative link of the README, CHANGELOG.md and docs/*.md names a file that exists and,
// with a #fragment, a heading of it.
func TestReadmeLinksResolve(t *testing.T) {
	files := []string{"README.md", "CHANGELOG.md"}
	docs, _ := filepath.Glob("docs/*.md")
	files = append(files, docs...)
	if len(docs) == 0 {
		t.Fatal("no docs/*.md")
	}
	linkRE := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range linkRE.FindAllStringSubmatch(string(b), -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			n++
			target, frag, _ := strings.Cut(link, "#")
			path := file
			if target != "" {
				path = filepath.Join(filepath.Dir(file), target)
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s: link %s: %v", file, link, err)
					continue
				}
			}
			if frag != "" && !markdownAnchors(t, path)[frag] {
				t.Errorf("%s: link %s: %s has no heading with anchor #%s", file, link, path, frag)
			}
		}
		if file == "README.md" && n == 0 {
			t.Error("README.md has no relative link: the link check reads nothing")
		}
	}
}

// The README's environment table (Configuration, "### Environment variables") names every
// variable the code and the scripts read: os.Getenv/LookupEnv of a literal name in any Go file,
// the OTEL_* names package tracing decides on, and ${NAME} in scripts/.
func TestReadmeListsEveryEnvironmentVariable(t *testing.T) {
	section := strings.Join(readmeSection(t, "### Environment variables"), "\n")
	want := map[string]string{} // name → where it is read
	goRE := regexp.MustCompile(`(?:Getenv|LookupEnv)\("([A-Z][A-Z0-9_]*)"\)|IntegrationEnv *= *"([A-Z0-9_]+)"|env[A-Za-z]+ *= *"(OTEL_[A-Z_]+)"`)
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && p != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range goRE.FindAllStringSubmatch(string(b), -1) {
			want[m[1]+m[2]+m[3]] = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	scripts, _ := filepath.Glob("scripts/*")
	for _, p := range scripts {
		b, _ := os.ReadFile(p)
		for _, m := range regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*)`).FindAllStringSubmatch(string(b), -1) {
			want[m[1]] = p
		}
	}
	for _, system := range []string{"PATH", "HOME", "TMPDIR", "SECONDS"} { // the system's and the shell's own
		delete(want, system)
	}
	if len(want) < 5 {
		t.Fatalf("found only %v: the search reads nothing", want)
	}
	for name, where := range want {
		if !regexp.MustCompile("`" + name + "[`=]").MatchString(section) {
			t.Errorf("%s reads %s, which the README's environment table does not name", where, name)
		}
	}
}

// The README's metrics table (Operations, "### Metrics") names every metric package metrics
// defines, and the README names no featuregraph_* metric that it does not define.
func TestReadmeListsEveryMetric(t *testing.T) {
	defined := map[string]bool{}
	files, _ := filepath.Glob("metrics/*.go")
	defRE := regexp.MustCompile(`(?:Name: *|NewDesc\()"(featuregraph_[a-z_]+)"`)
	for _, p := range files {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range defRE.FindAllStringSubmatch(string(b), -1) {
			defined[m[1]] = true
		}
	}
	if len(defined) < 10 {
		t.Fatalf("found only %d metrics in metrics/: the search reads nothing", len(defined))
	}
	table := map[string]bool{}
	for _, line := range readmeSection(t, "### Metrics") {
		if m := regexp.MustCompile("^\\| `(featuregraph_[a-z_]+)`").FindStringSubmatch(line); m != nil {
			table[m[1]] = true
		}
	}
	for name := range defined {
		if !table[name] {
			t.Errorf("metric %s is not in the README's metrics table", name)
		}
	}
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`featuregraph_[a-z_]+`).FindAllString(string(b), -1) {
		if !defined[m] {
			t.Errorf("the README names %s, which package metrics does not define", m)
		}
	}
}

// The README's error-code table (GraphQL API) names every extensions.code the gateway, the
// resolvers and the plans answer.
func TestReadmeListsEveryErrorCode(t *testing.T) {
	codeRE := regexp.MustCompile(`"code": *"([A-Z_]+)"|\bcode[A-Z][A-Za-z]* *= *"([A-Z_]+)"`)
	codes := map[string]string{}
	for _, dir := range []string{"gateway", "resolvers", "plan"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, p := range files {
			if strings.HasSuffix(p, "_test.go") {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range codeRE.FindAllStringSubmatch(string(b), -1) {
				codes[m[1]+m[2]] = p
			}
		}
	}
	if len(codes) < 5 {
		t.Fatalf("found only %v: the search reads nothing", codes)
	}
	var table strings.Builder
	for _, line := range readmeSection(t, "### Over HTTP") {
		if strings.HasPrefix(line, "| `") {
			table.WriteString(strings.SplitN(line, " | ", 2)[0] + "\n")
		}
	}
	for code, where := range codes {
		if !strings.Contains(table.String(), "`"+code+"`") {
			t.Errorf("%s answers extensions.code %s, which the README's error-code table does not name", where, code)
		}
	}
}
