package store

import (
	"errors"
	"fmt"
)

var (
	// ErrUnavailable means the backend could not be reached or failed to answer in time.
	ErrUnavailable = errors.New("backend unavailable")
	// ErrIncomplete means some keys were still unprocessed when the retries or the deadline
	// ran out. It is never reported as "missing".
	ErrIncomplete = errors.New("some keys were not fetched")
	// ErrInvalid means a value or query was rejected by the backend as malformed.
	ErrInvalid = errors.New("invalid request")
	// ErrNoHistory is the error of a point-in-time lookup when the store keeps no static
	// history (it is no StaticHistoryReader).
	ErrNoHistory = errors.New("this store keeps no static history")
)

// BackendError names the backend and operation that failed. Backends return it (wrapping one
// of the sentinel errors, or the client's error) so that the GraphQL error presenter can say which
// backend failed.
type BackendError struct {
	Backend string // "dynamodb", "redis", "memory"
	Op      string // "batch get", "pipeline", ...
	Err     error
}

func (e *BackendError) Error() string { return fmt.Sprintf("%s: %s: %v", e.Backend, e.Op, e.Err) }
func (e *BackendError) Unwrap() error { return e.Err }

// BackendOf returns the name of the backend that produced err, or "" when none did.
func BackendOf(err error) string {
	var be *BackendError
	if errors.As(err, &be) {
		return be.Backend
	}
	return ""
}
