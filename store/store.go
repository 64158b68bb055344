package store

import "context"

// StaticReader reads static features.
type StaticReader interface {
	// ReadStatic fills out[i*len(q.Features)+j] with feature j of entity i (Kind Absent when
	// nothing is stored); len(out) == len(q.IDs)*len(q.Features). A value that could not be
	// fetched is an error, never Absent.
	ReadStatic(ctx context.Context, q StaticQuery, out []StaticValue) error
}

// ActionReader reads action features. Every query has an entry in the result (nil or empty when
// the series has no matching events), newest first.
type ActionReader interface {
	ReadActions(ctx context.Context, queries []ActionQuery) (map[ActionQuery][]ActionEvent, error)
}

// StaticWriter writes static features, never letting an older event overwrite a newer one.
type StaticWriter interface {
	WriteStatic(ctx context.Context, writes []StaticWrite) error
}

// ActionWriter appends action events idempotently: the same write applied twice stores one event.
type ActionWriter interface {
	WriteActions(ctx context.Context, writes []ActionWrite) error
}

// Reader is what serving needs.
type Reader interface {
	StaticReader
	ActionReader
}

// Writer is what ingestion needs.
type Writer interface {
	StaticWriter
	ActionWriter
}

// Pinger reports whether the backend answers; /readyz calls it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Store is a complete backend.
type Store interface {
	Reader
	Writer
	Pinger
	Close() error
}

// ReadKey reads the value of one key (tools and tests; serving reads whole queries).
func ReadKey(ctx context.Context, r StaticReader, k Key) (StaticValue, error) {
	out := make([]StaticValue, 1)
	err := r.ReadStatic(ctx, StaticQuery{Prefix: k.Prefix, IDs: []string{k.ID}, Features: []string{k.Feature}}, out)
	return out[0], err
}
