// Package dev is `featuregraph dev`: it serves the gateway like `go run .` and watches the
// feature registry. On a change it validates the YAML, regenerates the code (the module's own
// generator, as `go generate` runs it), rebuilds and restarts the server, and replays the events
// pushed so far into the new server, so the data survives the restart. A registry or build that
// fails is printed and the running server keeps serving.
//
// It is a developer command: it needs the module's source and the go tool, and it is never part
// of the serving path.
package dev
