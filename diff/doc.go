// Package diff compares two feature registries and classifies every change: breaking for
// clients (the generated GraphQL schema lost or changed something a query may use), breaking
// for stored data (what is already in DynamoDB and Redis would be orphaned, misread or trimmed)
// or safe. `featuregraph diff` prints the report and fails on a breaking change that is not
// accepted; CI runs it on every pull request.
package diff
