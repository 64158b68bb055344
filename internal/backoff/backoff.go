// Package backoff is the one exponential backoff with jitter of featuregraph: the DynamoDB
// backend retries SDK calls and unprocessed batch items with it, ingestion retries a store or
// broker that is down with it.
package backoff

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Backoff describes the delays: Initial, growing by Multiplier per attempt up to Max, each
// randomised by ±Jitter (a fraction) and never above Max. A zero field takes its default.
type Backoff struct {
	Initial    time.Duration // first delay; default 100ms
	Max        time.Duration // longest delay; default 10s
	Multiplier float64       // growth per attempt; default 2
	Jitter     float64       // each delay is randomised by ±Jitter; default 0.2
}

// Default returns the defaults above.
func Default() Backoff {
	return Backoff{Initial: 100 * time.Millisecond, Max: 10 * time.Second, Multiplier: 2, Jitter: 0.2}
}

// WithDefaults fills in the zero (or unusable) fields.
func (b Backoff) WithDefaults() Backoff {
	d := Default()
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

// Validate reports a configuration that cannot work (negative delays, jitter outside [0, 1]).
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
	b = b.WithDefaults()
	d := float64(b.Initial)
	for i := 0; i < attempt && d < float64(b.Max); i++ {
		d *= b.Multiplier
	}
	d = min(d, float64(b.Max))
	if b.Jitter > 0 {
		d *= 1 + b.Jitter*(2*rand.Float64()-1)
	}
	return min(time.Duration(d), b.Max)
}

// Sleep waits Delay(attempt) and reports whether it did: it returns false at once when the wait
// would pass ctx's deadline, and as soon as ctx is done.
func (b Backoff) Sleep(ctx context.Context, attempt int) bool {
	d := b.Delay(attempt)
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
