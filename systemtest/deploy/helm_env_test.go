package deploy_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/internal/cli"
	"gopkg.in/yaml.v3"
)

// Every FEATUREGRAPH_* variable the Helm chart sets (in its golden renderings, which
// deploy/helm/test keeps equal to the chart) is a flag of the command the container runs, and
// its value parses as that flag.
func TestHelmChartEnvironmentNamesRealFlags(t *testing.T) {
	goldens, _ := filepath.Glob("deploy/helm/test/testdata/*.yaml")
	if len(goldens) < 2 {
		t.Fatalf("want the default and production renderings in deploy/helm/test/testdata, got %v", goldens)
	}
	type container struct {
		Name string
		Args []string
		Env  []struct {
			Name      string
			Value     *string
			ValueFrom any `yaml:"valueFrom"`
		}
	}
	var doc struct {
		Kind     string
		Metadata struct{ Name string }
		Spec     struct {
			Template struct {
				Spec struct{ Containers []container }
			}
		}
	}
	checked := 0
	for _, golden := range goldens {
		b, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			doc.Kind, doc.Spec.Template.Spec.Containers = "", nil
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", golden, err)
			}
			if doc.Kind != "Deployment" {
				continue
			}
			for _, c := range doc.Spec.Template.Spec.Containers {
				if len(c.Args) == 0 {
					t.Errorf("%s %s: no command in args", golden, c.Name)
					continue
				}
				fs, ok := cli.FlagSet(c.Args[0])
				if !ok {
					t.Errorf("%s %s: unknown command %q", golden, c.Name, c.Args[0])
					continue
				}
				byEnv := map[string]string{}
				fs.VisitAll(func(f *flag.Flag) { byEnv[cli.EnvName(f.Name)] = f.Name })
				for _, e := range c.Env {
					if !strings.HasPrefix(e.Name, "FEATUREGRAPH_") {
						continue
					}
					name, ok := byEnv[e.Name]
					if !ok {
						t.Errorf("%s: %s %s sets %s, which is no flag of `featuregraph %s`", golden, doc.Metadata.Name, c.Name, e.Name, c.Args[0])
						continue
					}
					checked++
					if e.Value != nil {
						if err := fs.Set(name, *e.Value); err != nil {
							t.Errorf("%s: %s=%q: %v", golden, e.Name, *e.Value, err)
						}
					}
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d variables checked: the renderings changed shape?", checked)
	}
}
