package dataset

import (
	"fmt"
	"io"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// Reserved columns of a training set, before the feature columns.
const (
	ColumnID     = "entity_id"
	ColumnTime   = "timestamp"
	ColumnLabel  = "label"
	ColumnErrors = "_errors"
)

// WriteParquet writes the rows as a Parquet file: entity_id, timestamp (ms), label (when the
// spine has labels), one optional typed column per feature, and _errors (the fields' errors,
// "; "-joined, null when none).
func (b *Builder) WriteParquet(w io.Writer, rows []Row, withLabel bool) error {
	group := parquet.Group{
		ColumnID:     parquet.String(),
		ColumnTime:   parquet.Timestamp(parquet.Millisecond),
		ColumnErrors: parquet.Optional(parquet.String()),
	}
	if withLabel {
		group[ColumnLabel] = parquet.Optional(parquet.String())
	}
	for _, c := range b.columns {
		if _, clash := group[c.Name]; clash {
			return fmt.Errorf("dataset: the feature column %q clashes with a reserved column: alias it in the operation", c.Name)
		}
		var n parquet.Node
		switch c.Kind {
		case KindInt:
			n = parquet.Int(64)
		case KindFloat:
			n = parquet.Leaf(parquet.DoubleType)
		case KindBool:
			n = parquet.Leaf(parquet.BooleanType)
		case KindJSON:
			n = parquet.JSON()
		default:
			n = parquet.String()
		}
		group[c.Name] = parquet.Optional(n)
	}
	sch := parquet.NewSchema("training_set", group)
	pw := parquet.NewGenericWriter[map[string]any](w, sch, parquet.Compression(&parquet.Zstd))
	batch := make([]map[string]any, 0, 1024)
	flush := func() error {
		if _, err := pw.Write(batch); err != nil {
			return fmt.Errorf("dataset: parquet: %w", err)
		}
		batch = batch[:0]
		return nil
	}
	for _, r := range rows {
		m := map[string]any{ColumnID: r.ID, ColumnTime: r.Time}
		if withLabel && r.Label != nil {
			m[ColumnLabel] = *r.Label
		}
		if len(r.Errors) > 0 {
			m[ColumnErrors] = strings.Join(r.Errors, "; ")
		}
		for i, c := range b.columns {
			if v := r.Values[i]; v != nil {
				m[c.Name] = v
			}
		}
		batch = append(batch, m)
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("dataset: parquet: %w", err)
	}
	return nil
}
