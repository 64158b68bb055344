package ingest

import (
	"errors"
	"fmt"
)

// ErrMalformed means an event or envelope could not be read at all: not JSON, not an object, no
// topic, an unusable sub-topic. No spec of such an event is tried.
var ErrMalformed = errors.New("malformed event")

// MalformedError says why an event is malformed. It matches ErrMalformed with errors.Is.
type MalformedError struct {
	Msg string
}

func (e *MalformedError) Error() string        { return "malformed event: " + e.Msg }
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

func malformed(format string, args ...any) error {
	return &MalformedError{Msg: fmt.Sprintf(format, args...)}
}

// ConversionError is the failure of one feature spec on an event that it matched: the entity id,
// the timestamp or a field could not be read or converted. Other specs of the same event are not
// affected.
type ConversionError struct {
	Feature string // "<entity>.<feature>"
	Part    string // "entity id", "timestamp", "field", "value", "feature"
	Path    string // path in the event (or column) that failed; "" when none applies
	Err     error
}

func (e *ConversionError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s: %s: %v", e.Feature, e.Part, e.Err)
	}
	return fmt.Sprintf("%s: %s %q: %v", e.Feature, e.Part, e.Path, e.Err)
}

func (e *ConversionError) Unwrap() error { return e.Err }

// Reason classifies an ingestion error for dead letters and metrics: "malformed" for
// ErrMalformed, "conversion" for a *ConversionError, "store" for anything else (a write that the
// store rejected).
func Reason(err error) string {
	var ce *ConversionError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.As(err, &ce):
		return "conversion"
	}
	return "store"
}
