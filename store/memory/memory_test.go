package memory_test

import (
	"testing"

	"github.com/featuregraph/featuregraph/store/memory"
	"github.com/featuregraph/featuregraph/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, memory.New())
}
