package offline

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Sink stores rows in the offline store. Write stores all the rows or returns an error (the
// spool then writes them again: a sink may receive the same rows twice).
type Sink[T Record] interface {
	Write(ctx context.Context, rows []T) error
	// String names the sink in messages and the catalog.
	String() string
}

// ParquetSink writes each partition's rows of a Write as one Parquet file on an
// ObjectStore, named <partition>/part-<UTC time>-<process>-<seq>.parquet.
type ParquetSink[T Record] struct {
	Store ObjectStore
	// Compression of the files. Default zstd.
	Compression compress.Codec
	// Options are more writer options of the files (e.g. no page statistics). Default none.
	Options []parquet.WriterOption
	id      string
	seq     atomic.Int64
}

// NewParquetSink returns a sink on st.
func NewParquetSink[T Record](st ObjectStore) *ParquetSink[T] {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &ParquetSink[T]{Store: st, id: hex.EncodeToString(b[:])}
}

var _ Sink[Row] = (*ParquetSink[Row])(nil)

// Write groups rows by partition and puts one file per partition.
func (s *ParquetSink[T]) Write(ctx context.Context, rows []T) error {
	parts := map[string][]T{}
	for _, r := range rows {
		p := r.Partition()
		parts[p] = append(parts[p], r)
	}
	names := make([]string, 0, len(parts))
	for p := range parts {
		names = append(names, p)
	}
	sort.Strings(names)
	now := time.Now().UTC().Format("20060102T150405Z")
	for _, p := range names {
		body, err := encodeParquet(parts[p], s.Compression, s.Options...)
		if err != nil {
			return err
		}
		key := fmt.Sprintf("%s/part-%s-%s-%06d.parquet", p, now, s.id, s.seq.Add(1))
		if err := s.Store.Put(ctx, key, body); err != nil {
			return err
		}
	}
	return nil
}

func (s *ParquetSink[T]) String() string { return s.Store.String() }

// EncodeParquet writes rows as a Parquet file, zstd-compressed.
func EncodeParquet[T any](rows []T) ([]byte, error) { return encodeParquet(rows, nil) }

func encodeParquet[T any](rows []T, codec compress.Codec, opts ...parquet.WriterOption) ([]byte, error) {
	if codec == nil {
		codec = &parquet.Zstd
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf, append([]parquet.WriterOption{parquet.Compression(codec)}, opts...)...)
	if _, err := w.Write(rows); err != nil {
		return nil, fmt.Errorf("offline: parquet: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("offline: parquet: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeParquet reads the rows of a Parquet file written by EncodeParquet.
func DecodeParquet[T any](body []byte) ([]T, error) {
	rows, err := parquet.Read[T](bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return nil, fmt.Errorf("offline: parquet: %w", err)
	}
	return rows, nil
}

// ReadAll reads every row of the Parquet files under prefix (tests, tools).
func ReadAll[T any](ctx context.Context, st ObjectStore, prefix string) ([]T, error) {
	keys, err := st.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var out []T
	for _, k := range keys {
		body, err := st.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		rows, err := DecodeParquet[T](body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out = append(out, rows...)
	}
	return out, nil
}

// KafkaSink produces each row as a JSON record (keyed by Record.Key) to a topic.
type KafkaSink[T Record] struct {
	Client *kgo.Client
	Topic  string
}

var _ Sink[Row] = (*KafkaSink[Row])(nil)

// Write produces the rows and waits until the brokers acknowledged all of them.
func (s *KafkaSink[T]) Write(ctx context.Context, rows []T) error {
	recs := make([]*kgo.Record, len(rows))
	for i, r := range rows {
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("offline: kafka: %w", err)
		}
		recs[i] = &kgo.Record{Topic: s.Topic, Key: []byte(r.Key()), Value: b}
	}
	var errs []error
	for _, res := range s.Client.ProduceSync(ctx, recs...) {
		if res.Err != nil {
			errs = append(errs, res.Err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("offline: kafka: produce %d of %d rows to %s failed: %w", len(errs), len(rows), s.Topic, errors.Join(errs[0]))
	}
	return nil
}

func (s *KafkaSink[T]) String() string { return "kafka://" + s.Topic }
