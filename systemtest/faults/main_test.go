package faults_test

import (
	"testing"

	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// The tests run from the module root and share the test servers of internal/testenv.
func TestMain(m *testing.M) { harness.Main(m) }
