package ingest

import "github.com/featuregraph/featuregraph/internal/backoff"

// Backoff is an exponential backoff with jitter for retrying a store (or broker) that is down:
// the one the DynamoDB backend uses too (internal/backoff).
type Backoff = backoff.Backoff

// DefaultBackoff returns 100ms growing ×2 up to 10s, ±20%.
func DefaultBackoff() Backoff { return backoff.Default() }
