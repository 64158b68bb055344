package diff

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
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
	if _, err := git("rev-parse", "--verify", "--quiet", rev+"^{commit}"); err != nil {
		return nil, err
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
