package load

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/registry"
)

// ParquetConfig says how the columns of a Parquet file map to features. Two layouts are read:
//
//   - long: columns entity, id, feature, value and optionally timestamp (the CSV layout, with
//     typed values), chosen when the file has exactly those columns;
//   - wide (Feast's offline layout): one row per entity and event time, an id column, an
//     event-time column and one column per feature, typed as the feature is (lists and sets as
//     LIST, maps as MAP, an action event as a group of its fields or a LIST of such groups for
//     several events at the row's time, JSON as a string).
//
// A null cell writes nothing.
type ParquetConfig struct {
	// Entity is the registry entity the rows of a wide file are about. Required for wide files.
	Entity string
	// IDColumn holds the entity id. Default "<entity>_id" when the file has it, else "id".
	IDColumn string
	// TimestampColumn holds the event time (a TIMESTAMP, DATE, RFC 3339 string or epoch number).
	// Default "event_timestamp" when the file has it, else "timestamp", else none: the values
	// take the time of the load.
	TimestampColumn string
	// Columns maps column names to feature names. Empty: every column other than the id and
	// event-time columns must be named after a feature of Entity. Set: only these columns are
	// loaded and the others are ignored.
	Columns map[string]string
}

// ParseColumns reads a mapping flag: "col=feature,col2=feature2"; a bare "col" maps the column
// to the feature of the same name.
func ParseColumns(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		col, feat, ok := strings.Cut(strings.TrimSpace(part), "=")
		col, feat = strings.TrimSpace(col), strings.TrimSpace(feat)
		if !ok {
			feat = col
		}
		if col == "" || feat == "" {
			return nil, fmt.Errorf("load: column mapping %q: want column=feature", part)
		}
		if _, dup := out[col]; dup {
			return nil, fmt.Errorf("load: column mapping: column %q is mapped twice", col)
		}
		out[col] = feat
	}
	return out, nil
}

// parquetReader yields one record per row.
type parquetReader struct {
	rows    *parquet.Reader
	columns map[string]parquet.Node // top-level columns by name
	long    bool
	entity  string
	idCol   string
	tsCol   string
	mapped  []mappedColumn // wide layout, in column order
	line    int
}

// mappedColumn is a column of a wide file and the feature it loads.
type mappedColumn struct {
	column, feature string
	action          bool // an action feature: a group is one event, a LIST of groups many
}

var longColumns = map[string]bool{"entity": true, "id": true, "feature": true, "value": true, "timestamp": true}

func newParquetReader(ra io.ReaderAt, size int64, reg *registry.Registry, cfg ParquetConfig) (*parquetReader, error) {
	f, err := parquet.OpenFile(ra, size)
	if err != nil {
		return nil, fmt.Errorf("not a readable Parquet file: %w", err)
	}
	pr := &parquetReader{rows: parquet.NewReader(f), columns: map[string]parquet.Node{}}
	var names []string
	for _, fl := range f.Schema().Fields() {
		pr.columns[fl.Name()] = fl
		names = append(names, fl.Name())
	}
	long := len(names) > 0
	for _, n := range names {
		long = long && longColumns[n]
	}
	if long && cfg.Entity == "" {
		for _, c := range []string{"entity", "id", "feature", "value"} {
			if pr.columns[c] == nil {
				return nil, fmt.Errorf("Parquet columns %s: the long layout needs entity, id, feature and value", strings.Join(names, ", "))
			}
		}
		pr.long = true
		return pr, nil
	}
	if cfg.Entity == "" {
		return nil, fmt.Errorf("Parquet columns %s: give the entity the rows are about (--entity) for this wide layout, or use the long layout (entity, id, feature, value[, timestamp])", strings.Join(names, ", "))
	}
	e := reg.Entity(cfg.Entity)
	if e == nil {
		return nil, fmt.Errorf("unknown entity %q", cfg.Entity)
	}
	pr.entity = e.Name
	pick := func(given string, flag string, defaults ...string) (string, error) {
		if given != "" {
			if pr.columns[given] == nil {
				return "", fmt.Errorf("no %s column %q (columns: %s)", flag, given, strings.Join(names, ", "))
			}
			return given, nil
		}
		for _, d := range defaults {
			if pr.columns[d] != nil {
				return d, nil
			}
		}
		return "", nil
	}
	if pr.idCol, err = pick(cfg.IDColumn, "id", e.Name+"_id", "id"); err != nil {
		return nil, err
	}
	if pr.idCol == "" {
		return nil, fmt.Errorf("no id column: the file has neither %s_id nor id (columns: %s); name it with --id-column", e.Name, strings.Join(names, ", "))
	}
	if pr.tsCol, err = pick(cfg.TimestampColumn, "timestamp", "event_timestamp", "timestamp"); err != nil {
		return nil, err
	}
	var unknown []string
	for _, n := range names {
		if n == pr.idCol || n == pr.tsCol {
			continue
		}
		feat := n
		if cfg.Columns != nil {
			if feat = cfg.Columns[n]; feat == "" {
				continue // not asked for
			}
		}
		fe := e.Feature(feat)
		if fe == nil {
			if feat != n {
				n += " (→ " + feat + ")"
			}
			unknown = append(unknown, n)
			continue
		}
		pr.mapped = append(pr.mapped, mappedColumn{column: n, feature: feat, action: fe.FeatureType == registry.Action})
	}
	for col := range cfg.Columns {
		if pr.columns[col] == nil {
			return nil, fmt.Errorf("mapped column %q is not in the file (columns: %s)", col, strings.Join(names, ", "))
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("columns that are no feature of %s: %s (features: %s); map columns to features with --columns column=feature,...",
			e.Name, strings.Join(unknown, ", "), featureNames(e))
	}
	if len(pr.mapped) == 0 {
		return nil, fmt.Errorf("no column maps to a feature of %s (columns: %s)", e.Name, strings.Join(names, ", "))
	}
	return pr, nil
}

func featureNames(e *registry.Entity) string {
	var names []string
	for _, f := range e.Static {
		names = append(names, f.Name)
	}
	for _, f := range e.Actions {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (p *parquetReader) next() (record, error) {
	row := map[string]any{}
	if err := p.rows.Read(&row); err != nil {
		if errors.Is(err, io.EOF) {
			return record{}, io.EOF
		}
		return record{}, fmt.Errorf("row %d: %w", p.line+1, err)
	}
	p.line++
	for name, v := range row {
		row[name] = typed(p.columns[name], v)
	}
	rec := record{line: p.line, obj: row}
	if p.long {
		rec.values = []ingest.Value{{Entity: str(row["entity"]), ID: row["id"], Feature: str(row["feature"]), Value: row["value"], Timestamp: row["timestamp"]}}
		return rec, nil
	}
	var ts any
	if p.tsCol != "" {
		ts = row[p.tsCol]
	}
	for _, m := range p.mapped {
		v := row[m.column]
		if v == nil {
			continue
		}
		events, many := v.([]any)
		if !m.action || !many {
			events = []any{v}
		}
		for _, ev := range events {
			rec.values = append(rec.values, ingest.Value{Entity: p.entity, ID: row[p.idCol], Feature: m.feature, Value: ev, Timestamp: ts})
			rec.columns = append(rec.columns, m.column)
		}
	}
	return rec, nil
}

func str(v any) string {
	s, _ := v.(string)
	return strings.TrimSpace(s)
}

// typed turns a value parquet-go read into the Go form the dispatcher takes: integers as int64,
// floats as float64, bytes as string, TIMESTAMP and DATE columns as time.Time, lists as []any
// and maps and groups as map[string]any, recursively by the column's schema.
func typed(n parquet.Node, v any) any {
	if v == nil || n == nil {
		return normalize(v)
	}
	var logical format.LogicalTypeValue
	if lt := n.Type().LogicalType(); lt != nil {
		logical = lt.Value
	}
	switch lt := logical.(type) {
	case *format.TimestampType:
		if x, ok := asInt64(v); ok && lt.Unit.Value != nil {
			return time.Unix(0, 0).Add(time.Duration(x) * lt.Unit.Value.Duration()).UTC()
		}
	case *format.DateType:
		if x, ok := asInt64(v); ok {
			return time.Unix(x*86400, 0).UTC()
		}
	case *format.ListType:
		if items, ok := v.([]any); ok {
			elem := listElement(n)
			out := make([]any, len(items))
			for i, it := range items {
				out[i] = typed(elem, it)
			}
			return out
		}
	case *format.MapType:
		if m, ok := v.(map[string]any); ok {
			val := mapValue(n)
			out := make(map[string]any, len(m))
			for k, x := range m {
				out[k] = typed(val, x)
			}
			return out
		}
	}
	if n.Leaf() {
		return normalize(v)
	}
	if m, ok := v.(map[string]any); ok { // a group: an action event's fields
		out := make(map[string]any, len(m))
		for k, x := range m {
			var child parquet.Node
			for _, f := range n.Fields() {
				if f.Name() == k {
					child = f
				}
			}
			out[k] = typed(child, x)
		}
		return out
	}
	return normalize(v)
}

// listElement is the element node of a LIST group (<list> repeated group list { element }).
func listElement(n parquet.Node) parquet.Node {
	fs := n.Fields()
	if len(fs) != 1 {
		return nil
	}
	if inner := fs[0].Fields(); len(inner) == 1 && !fs[0].Leaf() {
		return inner[0]
	}
	return fs[0]
}

// mapValue is the value node of a MAP group (<map> repeated group key_value { key; value }).
func mapValue(n parquet.Node) parquet.Node {
	fs := n.Fields()
	if len(fs) != 1 || fs[0].Leaf() {
		return nil
	}
	for _, f := range fs[0].Fields() {
		if f.Name() == "value" {
			return f
		}
	}
	return nil
}

func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	}
	return 0, false
}

// normalize maps the scalar Go types parquet-go produces onto the dispatcher's.
func normalize(v any) any {
	switch x := v.(type) {
	case int32:
		return int64(x)
	case int16:
		return int64(x)
	case int8:
		return int64(x)
	case int:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		if x > math.MaxInt64 {
			return float64(x)
		}
		return int64(x)
	case float32:
		return float64(x)
	case []byte:
		return string(x)
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = normalize(it)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, it := range x {
			out[k] = normalize(it)
		}
		return out
	}
	return v
}
