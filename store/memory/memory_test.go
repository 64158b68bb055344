package memory_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/featuregraph/featuregraph/store"
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

// endsAfter is a context whose deadline passes after it was asked n times whether it has ended.
type endsAfter struct {
	context.Context
	n atomic.Int64
}

func (c *endsAfter) Err() error {
	if c.n.Add(-1) < 0 {
		return context.DeadlineExceeded
	}
	return nil
}

// TestReadsStopWhenTheContextEnds: like the real stores' calls, a big read stops when its
// context ends while it runs (here after its first look), with the context's error.
func TestReadsStopWhenTheContextEnds(t *testing.T) {
	s := memory.New()
	q := store.StaticQuery{Prefix: "u", Features: []string{"a"}}
	var qs []store.ActionQuery
	for i := range 1000 {
		q.IDs = append(q.IDs, strconv.Itoa(i))
		qs = append(qs, store.ActionQuery{Key: store.Key{Prefix: "u", ID: strconv.Itoa(i), Feature: "b"}, Count: 3})
	}
	ctx := &endsAfter{Context: context.Background()}
	ctx.n.Store(1)
	if err := s.ReadStatic(ctx, q, make([]store.StaticValue, q.Len())); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("static read: %v", err)
	}
	ctx.n.Store(1)
	if _, err := s.ReadActions(ctx, qs); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("action read: %v", err)
	}
	ctx.n.Store(1 << 20)
	if err := s.ReadStatic(ctx, q, make([]store.StaticValue, q.Len())); err != nil {
		t.Errorf("static read, context alive: %v", err)
	}
}
