// Package load is batch ingestion (offline → online, "materialize"): it reads files of events
// or feature values and writes them into the stores with bounded concurrency, a progress bar
// on a terminal, a file of rejected records and a summary.
//
// Formats:
//   - jsonl (.jsonl, .ndjson, .json): one JSON object per line, either an event envelope
//     {"streamName", "topic", "subTopic", "event"} or a feature value
//     {"entity", "id", "feature", "value", "timestamp"}; both may be mixed.
//   - csv (.csv): feature values with a header row naming the columns entity, id, feature, value
//     and optionally timestamp, in any order. List, set, map, JSON and action values are JSON text.
//   - parquet (.parquet): typed columns, in the long layout of the CSV files or in the wide
//     layout of Feast's offline store (one column per feature); see ParquetConfig.
//
// A ".gz" suffix is decompressed (not for Parquet, which compresses its pages itself). Files
// are local paths or s3://bucket/key URLs, and s3://bucket/prefix/ loads every object under the
// prefix (see LoadURL).
package load

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Format is a file format.
type Format string

// The formats.
const (
	JSONL   Format = "jsonl"
	CSV     Format = "csv"
	Parquet Format = "parquet"
)

// ParseFormat reads a format name: jsonl (or ndjson), csv, parquet; "" means by the file's
// extension.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", nil
	case "jsonl", "ndjson", "json":
		return JSONL, nil
	case "csv":
		return CSV, nil
	case "parquet", "pq":
		return Parquet, nil
	}
	return "", fmt.Errorf("load: unknown format %q: use jsonl, csv or parquet", s)
}

// FormatOf infers the format from a file name (.jsonl, .ndjson, .json, .csv, each optionally
// followed by .gz, or .parquet) and reports whether the file is gzip-compressed.
func FormatOf(name string) (Format, bool, error) {
	base := strings.ToLower(filepath.Base(name))
	gz := strings.HasSuffix(base, ".gz")
	base = strings.TrimSuffix(base, ".gz")
	ext := filepath.Ext(base)
	if ext == "" {
		return "", gz, fmt.Errorf("load: %s has no extension: give the format (jsonl, csv or parquet)", name)
	}
	f, err := ParseFormat(ext[1:])
	if err != nil {
		return "", gz, fmt.Errorf("load: %s: %w", name, err)
	}
	if f == Parquet && gz {
		return "", gz, fmt.Errorf("load: %s: a Parquet file is not gzipped (its pages are compressed inside)", name)
	}
	return f, gz, nil
}

// Config configures a Loader. Zero fields take the defaults of DefaultConfig.
type Config struct {
	// Format of the files; "" = by extension (see FormatOf).
	Format Format
	// Concurrency is the number of workers converting and writing records. Default 4.
	Concurrency int
	// ChunkSize is the number of records a worker takes at a time. Default 500.
	ChunkSize int
	// RejectsPath is where rejected records go, one JSON object per line with the line number,
	// the reason and the record. Default "<file>.rejected.jsonl". It is created only when a
	// record is rejected.
	RejectsPath string
	// Progress receives the progress bar. Default: os.Stderr when it is a terminal, else none.
	Progress io.Writer
	// NoProgress turns the progress bar off.
	NoProgress bool
	// MaxLineBytes bounds one JSONL line. Default 16 MiB.
	MaxLineBytes int
	// Parquet maps the columns of Parquet files to features.
	Parquet ParquetConfig
	// S3 reads s3:// URLs (LoadURL). Default nil: s3:// URLs are an error.
	S3 S3API
	// TempDir is where Parquet objects from S3 are downloaded (Parquet is read from the end).
	// Default os.TempDir().
	TempDir string
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{Concurrency: 4, ChunkSize: 500, MaxLineBytes: 16 << 20}
}

// Validate reports every field that cannot work.
func (c Config) Validate() error {
	var errs []error
	switch c.Format {
	case "", JSONL, CSV, Parquet:
	default:
		errs = append(errs, fmt.Errorf("load: Format %q: use jsonl, csv or parquet", c.Format))
	}
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("load: Concurrency %d must not be negative", c.Concurrency))
	}
	if c.ChunkSize < 0 {
		errs = append(errs, fmt.Errorf("load: ChunkSize %d must not be negative", c.ChunkSize))
	}
	if c.MaxLineBytes < 0 {
		errs = append(errs, fmt.Errorf("load: MaxLineBytes %d must not be negative", c.MaxLineBytes))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Concurrency == 0 {
		c.Concurrency = d.Concurrency
	}
	if c.ChunkSize == 0 {
		c.ChunkSize = d.ChunkSize
	}
	if c.MaxLineBytes == 0 {
		c.MaxLineBytes = d.MaxLineBytes
	}
	return c
}
