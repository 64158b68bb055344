package load

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/featuregraph/featuregraph/ingest"
)

// record is one line or row of a file.
type record struct {
	line   int
	raw    []byte // the JSONL line, or nil for CSV
	row    map[string]string
	fields []string // a CSV row that could not be read as one (its fields, as far as they go)
	err    error    // the record could not be read (CSV parse error)
	// A Parquet row: its typed cells (for the rejects file) and the feature values it holds,
	// each from the column of the same index in columns (wide layout; nil for the long one).
	obj     map[string]any
	values  []ingest.Value
	columns []string
}

// reader yields the records of a file.
type reader interface {
	next() (record, error) // io.EOF at the end
}

type jsonlReader struct {
	sc      *bufio.Scanner
	line    int
	maxLine int
}

func newJSONLReader(r io.Reader, maxLine int) *jsonlReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	return &jsonlReader{sc: sc, maxLine: maxLine}
}

func (j *jsonlReader) next() (record, error) {
	for j.sc.Scan() {
		j.line++
		b := bytes.TrimSpace(j.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		return record{line: j.line, raw: append([]byte(nil), b...)}, nil
	}
	if err := j.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return record{}, fmt.Errorf("line %d is longer than the %d-byte limit", j.line+1, j.maxLine)
		}
		return record{}, err
	}
	return record{}, io.EOF
}

var csvColumns = []string{"entity", "id", "feature", "value", "timestamp"}

type csvReader struct {
	r      *csv.Reader
	header []string
}

func newCSVReader(r io.Reader) (*csvReader, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("empty CSV file: the first row must name the columns entity,id,feature,value[,timestamp]")
	}
	if err != nil {
		return nil, fmt.Errorf("CSV header: %w", err)
	}
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		header[i] = h
		known := false
		for _, c := range csvColumns {
			known = known || c == h
		}
		if !known {
			return nil, fmt.Errorf("CSV header: unknown column %q: the columns are entity, id, feature, value and optionally timestamp", h)
		}
		if seen[h] {
			return nil, fmt.Errorf("CSV header: column %q appears twice", h)
		}
		seen[h] = true
	}
	for _, c := range csvColumns[:4] {
		if !seen[c] {
			return nil, fmt.Errorf("CSV header: no %q column (have %s)", c, strings.Join(header, ","))
		}
	}
	cr.FieldsPerRecord = len(header)
	return &csvReader{r: cr, header: header}, nil
}

func (c *csvReader) next() (record, error) {
	fields, err := c.r.Read()
	if err == io.EOF {
		return record{}, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return record{line: pe.StartLine, fields: fields, err: fmt.Errorf("%w: CSV row: %v (want %d fields: %s)", ingest.ErrMalformed, pe.Err, len(c.header), strings.Join(c.header, ","))}, nil
		}
		return record{}, err
	}
	line, _ := c.r.FieldPos(0)
	row := make(map[string]string, len(fields))
	for i, f := range fields {
		row[c.header[i]] = f
	}
	return record{line: line, row: row}, nil
}

// decoded is a record turned into something the dispatcher takes.
type decoded struct {
	env     *ingest.Envelope
	value   *ingest.Value
	values  []ingest.Value // a Parquet row
	columns []string
}

// decode reads a JSONL line (an envelope or a feature value), a CSV row (a feature value) or a
// Parquet row (the feature values of its cells).
func decode(r record) (decoded, error) {
	if r.err != nil {
		return decoded{}, r.err
	}
	if r.obj != nil {
		return decoded{values: r.values, columns: r.columns}, nil
	}
	if r.row != nil {
		v := &ingest.Value{Entity: strings.TrimSpace(r.row["entity"]), Feature: strings.TrimSpace(r.row["feature"]), Value: r.row["value"]}
		if id := strings.TrimSpace(r.row["id"]); id != "" {
			v.ID = id
		}
		if ts := strings.TrimSpace(r.row["timestamp"]); ts != "" {
			v.Timestamp = ts
		}
		return decoded{value: v}, nil
	}
	if _, err := ingest.DecodeJSON(r.raw); err != nil {
		return decoded{}, fmt.Errorf("%w: %v", ingest.ErrMalformed, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.raw, &m); err != nil {
		return decoded{}, fmt.Errorf("%w: not a JSON object: %v", ingest.ErrMalformed, err)
	}
	if _, ok := m["event"]; ok {
		env, err := ingest.DecodeEnvelope(r.raw)
		if err != nil {
			return decoded{}, err
		}
		return decoded{env: &env}, nil
	}
	if _, ok := m["feature"]; !ok {
		return decoded{}, fmt.Errorf("%w: neither an event envelope (topic, event) nor a feature value (entity, id, feature, value)", ingest.ErrMalformed)
	}
	v := &ingest.Value{}
	for k, raw := range m {
		var err error
		switch k {
		case "entity":
			err = json.Unmarshal(raw, &v.Entity)
		case "feature":
			err = json.Unmarshal(raw, &v.Feature)
		case "id":
			v.ID, err = decodeAny(raw)
		case "value":
			v.Value, err = decodeAny(raw)
		case "timestamp":
			v.Timestamp, err = decodeAny(raw)
		default:
			err = errors.New("unknown key: a feature value has entity, id, feature, value and timestamp")
		}
		if err != nil {
			return decoded{}, fmt.Errorf("%w: %q: %v", ingest.ErrMalformed, k, err)
		}
	}
	return decoded{value: v}, nil
}

func decodeAny(raw json.RawMessage) (any, error) { return ingest.DecodeJSON(raw) }
