// Package app wires featuregraph's parts together for the commands of internal/cli: it opens
// the configured stores (in-memory, DynamoDB, DynamoDB + Redis), builds the HTTP server of the
// gateway and shuts it down, mounts the push endpoint, loads the demo events, serves a worker's
// metrics and the admin endpoints, builds the logger and starts tracing.
//
// The commands parse flags and decide what to run; this package knows how the pieces connect.
// The option groups several commands share (store, log, features, admin) are defined here with
// the function that registers their flags, next to the code that uses them.
package app
