// Package features is the example registry: a second-hand marketplace with users and articles.
// Its YAML files and demo events are embedded so that the binary serves them when no
// ./features directory is present.
package features

import "embed"

// FS holds the example registry's *.yaml files and demo/events.jsonl.
//
//go:embed *.yaml demo/events.jsonl
var FS embed.FS

// DemoEvents is the path of the demo events in FS.
const DemoEvents = "demo/events.jsonl"
