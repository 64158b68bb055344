package ingest

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Backoff is an exponential backoff with jitter for retrying a store (or broker) that is down.
type Backoff struct {
	Initial    time.Duration // first delay; default 100ms
	Max        time.Duration // longest delay; default 10s
	Multiplier float64       // growth per attempt; default 2
	Jitter     float64       // each delay is randomised by ±Jitter (a fraction); default 0.2
}

// DefaultBackoff returns the defaults above.
func DefaultBackoff() Backoff {
	return Backoff{Initial: 100 * time.Millisecond, Max: 10 * time.Second, Multiplier: 2, Jitter: 0.2}
}

func (b Backoff) withDefaults() Backoff {
	d := DefaultBackoff()
	if b.Initial <= 0 {
		b.Initial = d.Initial
	}
	if b.Max <= 0 {
		b.Max = d.Max
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.Multiplier < 1 {
		b.Multiplier = d.Multiplier
	}
	if b.Jitter < 0 || b.Jitter > 1 {
		b.Jitter = d.Jitter
	}
	return b
}

// Validate reports a configuration that cannot work (negative values).
func (b Backoff) Validate() error {
	var errs []error
	if b.Initial < 0 || b.Max < 0 {
		errs = append(errs, errors.New("backoff: delays must not be negative"))
	}
	if b.Jitter < 0 || b.Jitter > 1 {
		errs = append(errs, errors.New("backoff: Jitter must be between 0 and 1"))
	}
	return errors.Join(errs...)
}

// Delay is the wait before retry number attempt (0-based).
func (b Backoff) Delay(attempt int) time.Duration {
	b = b.withDefaults()
	d := float64(b.Initial)
	for i := 0; i < attempt && d < float64(b.Max); i++ {
		d *= b.Multiplier
	}
	d = min(d, float64(b.Max))
	if b.Jitter > 0 {
		d *= 1 + b.Jitter*(2*rand.Float64()-1)
	}
	return time.Duration(d)
}

// Sleep waits for Delay(attempt) or until ctx is done, and reports whether it waited fully.
func (b Backoff) Sleep(ctx context.Context, attempt int) bool {
	t := time.NewTimer(b.Delay(attempt))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
