package codegen

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/99designs/gqlgen/api"
	"github.com/99designs/gqlgen/codegen/config"

	"github.com/featuregraph/featuregraph/registry"
)

// Output paths, relative to the module root.
const (
	SchemaFile = "schema/schema.graphqls"
	ModelsFile = "graph/model/models_gen.go"
	GlueFile   = "resolvers/resolvers_gen.go"
	ConfigFile = "gqlgen.yml"
)

// Files renders every file the registry determines (not gqlgen's output), by path.
func Files(reg *registry.Registry) (map[string][]byte, error) {
	models, err := Models(reg)
	if err != nil {
		return nil, fmt.Errorf("codegen: models: %w", err)
	}
	glue, err := Glue(reg)
	if err != nil {
		return nil, fmt.Errorf("codegen: resolver glue: %w", err)
	}
	return map[string][]byte{SchemaFile: SDL(reg), ModelsFile: models, GlueFile: glue}, nil
}

// Generate loads the registry in featuresDir, writes the schema, models and glue under root (the
// module root) and runs gqlgen with root/gqlgen.yml, leaving its output unmodified. It must run with root as the working
// directory, as `go generate` does.
func Generate(root, featuresDir string) error {
	reg, err := registry.Load(featuresDir)
	if err != nil {
		return err
	}
	files, err := Files(reg)
	if err != nil {
		return err
	}
	for path, content := range files {
		if err := writeIfChanged(filepath.Join(root, path), content); err != nil {
			return err
		}
	}
	cfg, err := config.LoadConfig(filepath.Join(root, ConfigFile))
	if err != nil {
		return fmt.Errorf("codegen: gqlgen config: %w", err)
	}
	// No plugins: every model is generated above (no modelgen) and the resolvers are our glue
	// plus hand-written code (no resolvergen).
	// gqlgen logs one line per resolver method it adds: that is every action feature, by design.
	log.SetOutput(io.Discard)
	defer log.SetOutput(os.Stderr)
	if err := api.Generate(cfg, api.NoPlugins()); err != nil {
		return fmt.Errorf("codegen: gqlgen: %w", err)
	}
	// graph/generated.go is gqlgen's output as it is: nothing rewrites it (the compiled plans of
	// package plan, not edits of this file, make the common operations fast).
	return nil
}

func writeIfChanged(path string, content []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, content) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, content, 0o644)
}
