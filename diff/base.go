package diff

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/featuregraph/featuregraph/registry"
)

// LoadBase loads the base registry: base is a directory holding registry YAML, or else a git
// revision (a branch, tag or commit) at which the files under featuresDir are read from the
// git repository featuresDir is in. The error names what could not be read.
func LoadBase(ctx context.Context, base, featuresDir string) (*registry.Registry, error) {
	if st, err := os.Stat(base); err == nil && st.IsDir() {
		reg, err := registry.Load(base)
		if err != nil {
			return nil, fmt.Errorf("base registry %s: %w", base, err)
		}
		return reg, nil
	}
	if looksLikePath(base) {
		return nil, fmt.Errorf("--base %s: no such directory (give --base a directory holding the base registry's YAML, or a git revision such as origin/main)", base)
	}
	files, err := gitFiles(ctx, base, featuresDir)
	if err != nil {
		return nil, err
	}
	reg, err := registry.Parse(files)
	if err != nil {
		return nil, fmt.Errorf("base registry at %s: %w", base, err)
	}
	return reg, nil
}

// looksLikePath reports whether base can only be meant as a directory: an absolute path, or one
// starting with ./ or ../ (a git revision never does).
func looksLikePath(base string) bool {
	return filepath.IsAbs(base) || strings.HasPrefix(base, "./") || strings.HasPrefix(base, "../") || base == "." || base == ".."
}

// gitFiles returns the *.yaml and *.yml files under dir as of rev, by "rev:path".
func gitFiles(ctx context.Context, rev, dir string) (map[string][]byte, error) {
	git := func(args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("--base %s is not a directory, and git %s failed: %v: %s", rev, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return out, nil
	}
	if _, err := exec.LookPath("git"); err != nil {
		return nil, fmt.Errorf("--base %s is not a directory, and git, which reads a revision, is not installed: "+
			"give --base a directory holding the base registry's YAML, or install git", rev)
	}
	if _, err := git("rev-parse", "--is-inside-work-tree"); err != nil {
		return nil, fmt.Errorf("--base %s is not a directory, and %s is not in a git work tree, so it cannot be read as a revision either: "+
			"give --base a directory holding the base registry's YAML (e.g. a checkout of the main branch's features/), "+
			"or run diff inside a clone of the repository, with --features naming its registry directory", rev, dir)
	}
	if _, err := git("rev-parse", "--verify", "--quiet", rev+"^{commit}"); err != nil {
		return nil, fmt.Errorf("--base %s: no such directory, and no such revision in the git repository of %s "+
			"(fetch it first, e.g. git fetch origin main, or give a branch, tag or commit that exists)", rev, dir)
	}
	list, err := git("ls-tree", "-r", "--full-name", "--name-only", rev, "--", ".")
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, name := range strings.Split(strings.TrimSpace(string(list)), "\n") {
		if !strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".yml") {
			continue
		}
		b, err := git("show", rev+":"+name)
		if err != nil {
			return nil, err
		}
		files[rev+":"+name] = b
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("--base %s: no *.yaml files under %s at that revision", rev, dir)
	}
	return files, nil
}
