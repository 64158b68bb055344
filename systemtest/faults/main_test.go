package faults_test

import (
	"testing"

	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// The tests run from the module root and share the test servers of internal/testenv. Each test
// runs its own featuregraph server and fault proxies, so most run in parallel (t.Parallel): the
// package's time is mostly waiting out load phases, drains and deadlines, and those waits overlap.
// TestShutdownDrainsThenStops does not: its clients send as fast as they can, which would take
// the CPU from the load phases of the others.
func TestMain(m *testing.M) { harness.Main(m) }
