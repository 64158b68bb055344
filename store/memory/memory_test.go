package memory_test

import (
	"testing"

	"github.com/featuregraph/featuregraph/store/memory"
	"github.com/featuregraph/featuregraph/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, memory.New())
}

func TestFilterAndPointInTimeContract(t *testing.T) {
	s := memory.New()
	storetest.RunFilter(t, s, storetest.Options{})
	storetest.RunPointInTime(t, s, storetest.Options{})
}
