package backoff

import (
	"context"
	"testing"
	"time"
)

func TestDelayGrowsWithinJitterAndMax(t *testing.T) {
	b := Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond, Multiplier: 2, Jitter: 0.5}
	for attempt, base := range []time.Duration{10, 20, 40, 80, 100, 100} {
		base *= time.Millisecond
		for range 50 {
			d := b.Delay(attempt)
			if d < base/2 || d > min(base*3/2, b.Max) {
				t.Fatalf("attempt %d: delay %v outside [%v, %v]", attempt, d, base/2, min(base*3/2, b.Max))
			}
		}
	}
}

func TestSleepGivesUpBeforeTheDeadline(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: time.Second, Jitter: 0.01}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if b.Sleep(ctx, 0) {
		t.Fatal("a wait past the deadline must not happen")
	}
	if time.Since(start) > 40*time.Millisecond {
		t.Fatal("Sleep waited although the wait would pass the deadline")
	}
	if !(Backoff{Initial: time.Millisecond, Max: time.Millisecond}).Sleep(context.Background(), 3) {
		t.Fatal("a short wait without deadline must complete")
	}
}

func TestValidate(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Backoff{Initial: -1, Jitter: 2}).Validate(); err == nil {
		t.Fatal("want an error")
	}
}
