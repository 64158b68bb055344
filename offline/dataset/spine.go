package dataset

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/featuregraph/featuregraph/ingest"
)

// SpineRow is one row of a spine: the entity whose features are wanted, the instant they are
// wanted as of, and the label the training set carries along (nil: none).
type SpineRow struct {
	ID    string
	Time  time.Time
	Label *string
}

// SpineConfig names the spine's columns. Every field documents its default.
type SpineConfig struct {
	// IDColumn holds the entity ids. Default: "entity_id", else "id", else "<entity>_id".
	IDColumn string
	// TimeColumn holds the times (RFC 3339, epoch seconds or milliseconds, or a Parquet
	// timestamp). Default: "timestamp", else "event_timestamp", else "time".
	TimeColumn string
	// LabelColumn is carried into the training set. Default "label" when the spine has one.
	LabelColumn string
	// Entity is the entity's registry name, for the "<entity>_id" default.
	Entity string
}

func (c SpineConfig) pick(have map[string]bool) (id, ts, label string, err error) {
	choose := func(given string, what string, cands ...string) (string, error) {
		if given != "" {
			if !have[given] {
				return "", fmt.Errorf("dataset: the spine has no %s column %q (columns: %s)", what, given, names(have))
			}
			return given, nil
		}
		for _, c := range cands {
			if have[c] {
				return c, nil
			}
		}
		return "", fmt.Errorf("dataset: the spine has no %s column (looked for %s; columns: %s): name it with --%s-column", what, strings.Join(cands, ", "), names(have), what)
	}
	if id, err = choose(c.IDColumn, "id", "entity_id", "id", c.Entity+"_id"); err != nil {
		return
	}
	if ts, err = choose(c.TimeColumn, "time", "timestamp", "event_timestamp", "time"); err != nil {
		return
	}
	if c.LabelColumn != "" {
		label, err = choose(c.LabelColumn, "label")
	} else if have["label"] {
		label = "label"
	}
	return
}

func names(have map[string]bool) string {
	var out []string
	for n := range have {
		out = append(out, n)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// ReadSpine reads a spine from a CSV file (a header row) or a Parquet file (by the name's
// extension).
func ReadSpine(path string, cfg SpineConfig) ([]SpineRow, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: spine: %w", err)
	}
	if strings.HasSuffix(strings.ToLower(path), ".parquet") {
		return readParquetSpine(b, cfg)
	}
	return readCSVSpine(bytes.NewReader(b), cfg)
}

func readCSVSpine(r io.Reader, cfg SpineConfig) ([]SpineRow, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("dataset: spine: header: %w", err)
	}
	have, index := map[string]bool{}, map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		have[h], index[h] = true, i
	}
	idc, tsc, lc, err := cfg.pick(have)
	if err != nil {
		return nil, err
	}
	var rows []SpineRow
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("dataset: spine: %w", err)
		}
		row, err := spineRow(rec[index[idc]], rec[index[tsc]])
		if err != nil {
			return nil, fmt.Errorf("dataset: spine line %d: %w", line, err)
		}
		if lc != "" {
			l := rec[index[lc]]
			row.Label = &l
		}
		rows = append(rows, row)
	}
}

func spineRow(id string, ts any) (SpineRow, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return SpineRow{}, errors.New("empty entity id")
	}
	if s, ok := ts.(string); ok {
		s = strings.TrimSpace(s)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			ts = n
		} else {
			ts = s
		}
	}
	var t time.Time
	switch x := ts.(type) {
	case time.Time:
		t = x
	default:
		ms, err := ingest.TimeMillis(x)
		if err != nil {
			return SpineRow{}, fmt.Errorf("time %v: %w", ts, err)
		}
		t = time.UnixMilli(ms)
		if s, ok := x.(string); ok { // keep sub-millisecond precision of RFC 3339 times
			if p, err := time.Parse(time.RFC3339Nano, s); err == nil {
				t = p
			}
		}
	}
	return SpineRow{ID: id, Time: t.UTC()}, nil
}

func readParquetSpine(b []byte, cfg SpineConfig) ([]SpineRow, error) {
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("dataset: spine: %w", err)
	}
	have := map[string]bool{}
	nodes := map[string]parquet.Node{}
	for _, fl := range f.Schema().Fields() {
		have[fl.Name()], nodes[fl.Name()] = true, fl
	}
	idc, tsc, lc, err := cfg.pick(have)
	if err != nil {
		return nil, err
	}
	rd := parquet.NewReader(f)
	defer rd.Close()
	var rows []SpineRow
	for n := 1; ; n++ {
		rec := map[string]any{}
		if err := rd.Read(&rec); err != nil {
			if errors.Is(err, io.EOF) {
				return rows, nil
			}
			return nil, fmt.Errorf("dataset: spine row %d: %w", n, err)
		}
		ts := timestampOf(nodes[tsc], rec[tsc])
		row, err := spineRow(fmt.Sprint(scalar(rec[idc])), ts)
		if err != nil {
			return nil, fmt.Errorf("dataset: spine row %d: %w", n, err)
		}
		if lc != "" && rec[lc] != nil {
			l := fmt.Sprint(scalar(rec[lc]))
			row.Label = &l
		}
		rows = append(rows, row)
	}
}

func scalar(v any) any {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return v
}

// timestampOf reads a Parquet TIMESTAMP column as a time; other values are left as they are.
func timestampOf(n parquet.Node, v any) any {
	v = scalar(v)
	if x, ok := v.(int32); ok {
		v = int64(x)
	}
	if n == nil || n.Type().LogicalType() == nil {
		return v
	}
	lt, ok := n.Type().LogicalType().Value.(*format.TimestampType)
	x, isInt := v.(int64)
	if !ok || !isInt || lt.Unit.Value == nil {
		return v
	}
	return time.Unix(0, 0).Add(time.Duration(x) * lt.Unit.Value.Duration()).UTC()
}
