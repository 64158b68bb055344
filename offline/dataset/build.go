package dataset

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/schema"
)

// Config configures a Builder. Every field documents its default.
type Config struct {
	// Document is the GraphQL operation the model is served with; its one root field is an
	// entity field (user(id: ...)) whose selection becomes the training set's columns (one per
	// response key). Required.
	Document string
	// OperationName picks the operation when the document holds several.
	OperationName string
	// Variables are the operation's variables other than the entity id and asOf.
	Variables map[string]any
	// Batch is how many spine rows one GraphQL request answers. Default 100.
	Batch int
	// Concurrency is how many requests run at once. Default 4.
	Concurrency int
	// Progress, when set, receives a progress line per completed batch. Default nil.
	Progress io.Writer
}

// Builder answers spines through a GraphQL handler (the gateway over the stores).
type Builder struct {
	cfg     Config
	h       http.Handler
	entity  *registry.Entity
	op      *ast.OperationDefinition
	root    *ast.Field
	columns []Column
	drop    map[string]bool // variables that held the id and asOf
}

// Column is one column of the training set.
type Column struct {
	Name string // the response key
	Kind Kind
}

// Kind is a column's Parquet type.
type Kind int

// The column kinds: GraphQL Int, Float, Boolean and String-like scalars are typed columns;
// lists and objects are JSON text.
const (
	KindString Kind = iota
	KindInt
	KindFloat
	KindBool
	KindJSON
)

// New checks the operation against reg's schema and returns a builder that runs it through h
// (the GraphQL endpoint: POST requests with a JSON body).
func New(reg *registry.Registry, h http.Handler, cfg Config) (*Builder, error) {
	if cfg.Batch <= 0 {
		cfg.Batch = 100
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	sch, gerr := gqlparser.LoadSchema(&ast.Source{Name: "schema", Input: string(schema.SDL(reg))})
	if gerr != nil {
		return nil, fmt.Errorf("dataset: schema: %w", gerr)
	}
	doc, errs := gqlparser.LoadQuery(sch, cfg.Document)
	if len(errs) > 0 {
		return nil, fmt.Errorf("dataset: the operation is not valid: %w", errs)
	}
	var op *ast.OperationDefinition
	for _, o := range doc.Operations {
		if cfg.OperationName == "" || o.Name == cfg.OperationName {
			if op != nil {
				return nil, errors.New("dataset: the document holds several operations: name one (--operation-name)")
			}
			op = o
		}
	}
	if op == nil || op.Operation != ast.Query {
		return nil, fmt.Errorf("dataset: no query operation %q in the document", cfg.OperationName)
	}
	var fields []*ast.Field
	for _, s := range op.SelectionSet {
		if f, ok := s.(*ast.Field); ok && f.Name != "__typename" {
			fields = append(fields, f)
		} else if !ok {
			return nil, errors.New("dataset: write the root entity field itself, not a fragment spread, at the top of the operation")
		}
	}
	if len(fields) != 1 {
		return nil, fmt.Errorf("dataset: the operation has %d root fields; a training set is one entity's features: give one, e.g. user(id: $id) { ... }", len(fields))
	}
	root := fields[0]
	var entity *registry.Entity
	for _, e := range reg.Entities {
		if e.QueryField() == root.Name {
			entity = e
		}
	}
	if entity == nil {
		return nil, fmt.Errorf("dataset: root field %q is not an entity field (use %s(id: ...), not the batch field)", root.Name, reg.Entities[0].QueryField())
	}
	b := &Builder{cfg: cfg, h: h, entity: entity, op: op, root: root, drop: map[string]bool{}}
	for _, a := range root.Arguments {
		if (a.Name == "id" || a.Name == "asOf") && a.Value.Kind == ast.Variable {
			b.drop[a.Value.Raw] = true
		}
	}
	for _, s := range root.SelectionSet {
		f, ok := s.(*ast.Field)
		if !ok {
			return nil, errors.New("dataset: list the features as fields of the entity (fragments are not supported at this level)")
		}
		if f.Name == "id" || f.Name == "__typename" {
			continue
		}
		if feat := featureOf(entity, f.Name); feat != nil && feat.FeatureType == registry.Static && !feat.History {
			return nil, fmt.Errorf("dataset: static feature %s.%s keeps no history, so it has no value as of a spine row's time "+
				"(add `history: true` to its definition, or leave it out of the operation)", entity.Name, feat.Name)
		}
		b.columns = append(b.columns, Column{Name: f.Alias, Kind: kindOf(f.Definition.Type)})
	}
	if len(b.columns) == 0 {
		return nil, errors.New("dataset: the operation selects no feature")
	}
	return b, nil
}

// Entity is the entity the spine's ids are of.
func (b *Builder) Entity() *registry.Entity { return b.entity }

// Columns are the feature columns, in selection order.
func (b *Builder) Columns() []Column { return b.columns }

// featureOf is the feature a field of the entity's type reads, or nil.
func featureOf(e *registry.Entity, field string) *registry.Feature {
	for _, f := range e.Features() {
		if f.GraphQLName() == field {
			return f
		}
	}
	return nil
}

func kindOf(t *ast.Type) Kind {
	if t.Elem != nil {
		return KindJSON
	}
	switch t.NamedType {
	case "Int":
		return KindInt
	case "Float":
		return KindFloat
	case "Boolean":
		return KindBool
	case "String", "ID", "Time":
		return KindString
	}
	return KindJSON
}

// Row is one row of the training set: the spine row and, per column, its value (nil: null),
// with the errors the row's fields got.
type Row struct {
	SpineRow
	Values []any
	Errors []string
}

// Summary describes a build.
type Summary struct {
	Rows, Batches  int
	RowsWithErrors int
	Elapsed        time.Duration
}

func (s Summary) String() string {
	rate := 0.0
	if s.Elapsed > 0 {
		rate = float64(s.Rows) / s.Elapsed.Seconds()
	}
	return fmt.Sprintf("%d rows in %d batches, %d with field errors, in %s (%.0f rows/s)", s.Rows, s.Batches, s.RowsWithErrors, s.Elapsed.Round(time.Millisecond), rate)
}

// Build answers every spine row, in spine order.
func (b *Builder) Build(ctx context.Context, spine []SpineRow) ([]Row, Summary, error) {
	start := time.Now()
	out := make([]Row, len(spine))
	nb := (len(spine) + b.cfg.Batch - 1) / b.cfg.Batch
	var done atomic.Int64
	var firstErr error
	var mu sync.Mutex
	sem := make(chan struct{}, b.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := 0; i < len(spine); i += b.cfg.Batch {
		j := min(i+b.cfg.Batch, len(spine))
		sem <- struct{}{}
		wg.Add(1)
		go func(i, j int) {
			defer wg.Done()
			defer func() { <-sem }()
			err := b.batch(ctx, spine[i:j], out[i:j])
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if n := done.Add(1); b.cfg.Progress != nil {
				fmt.Fprintf(b.cfg.Progress, "\rdataset: %d/%d batches (%d%%)", n, nb, int(100*n/int64(nb)))
			}
		}(i, j)
		if ctx.Err() != nil {
			break
		}
	}
	wg.Wait()
	if b.cfg.Progress != nil && nb > 0 {
		fmt.Fprintln(b.cfg.Progress)
	}
	s := Summary{Rows: len(spine), Batches: nb, Elapsed: time.Since(start)}
	for _, r := range out {
		if len(r.Errors) > 0 {
			s.RowsWithErrors++
		}
	}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return out, s, firstErr
}

// batch answers rows with one request.
func (b *Builder) batch(ctx context.Context, rows []SpineRow, out []Row) error {
	query := b.document(rows)
	body, _ := json.Marshal(map[string]any{"query": query, "variables": b.cfg.Variables})
	var rec *httptest.ResponseRecorder
	// An overloaded or slow store answers 503 (the whole request, nothing partial): retry.
	for attempt := 0; ; attempt++ {
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		rec = httptest.NewRecorder()
		b.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable || attempt == 4 || ctx.Err() != nil {
			break
		}
		select {
		case <-time.After(time.Duration(200<<attempt) * time.Millisecond):
		case <-ctx.Done():
		}
	}
	var resp struct {
		Data   map[string]json.RawMessage `json:"data"`
		Errors []struct {
			Message string `json:"message"`
			Path    []any  `json:"path"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		return fmt.Errorf("dataset: answer %d is not JSON: %.200s", rec.Code, rec.Body.String())
	}
	if resp.Data == nil {
		msg := "no data"
		if len(resp.Errors) > 0 {
			msg = resp.Errors[0].Message
		}
		return fmt.Errorf("dataset: the batch failed (%d): %s", rec.Code, msg)
	}
	for i, r := range rows {
		out[i] = Row{SpineRow: r, Values: make([]any, len(b.columns))}
		var obj map[string]json.RawMessage
		if raw := resp.Data["r"+strconv.Itoa(i)]; len(raw) > 0 {
			if err := json.Unmarshal(raw, &obj); err != nil {
				return fmt.Errorf("dataset: row %d: %w", i, err)
			}
		}
		for c, col := range b.columns {
			v, err := convert(col.Kind, obj[col.Name])
			if err != nil {
				return fmt.Errorf("dataset: row %d column %s: %w", i, col.Name, err)
			}
			out[i].Values[c] = v
		}
	}
	for _, e := range resp.Errors {
		if len(e.Path) == 0 {
			return fmt.Errorf("dataset: the batch failed: %s", e.Message)
		}
		alias, _ := e.Path[0].(string)
		i, err := strconv.Atoi(strings.TrimPrefix(alias, "r"))
		if err != nil || i < 0 || i >= len(rows) {
			return fmt.Errorf("dataset: error at unknown path %v: %s", e.Path, e.Message)
		}
		out[i].Errors = append(out[i].Errors, e.Message)
	}
	return nil
}

func convert(k Kind, raw json.RawMessage) (any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	switch k {
	case KindInt:
		return strconv.ParseInt(string(raw), 10, 64)
	case KindFloat:
		return strconv.ParseFloat(string(raw), 64)
	case KindBool:
		return string(raw) == "true", nil
	case KindString:
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.String(), nil
}

// document is the operation with its root field repeated once per row, aliased r<i>, with the
// row's id and asOf as literals.
func (b *Builder) document(rows []SpineRow) string {
	op := *b.op
	op.SelectionSet = nil
	op.VariableDefinitions = nil
	for _, v := range b.op.VariableDefinitions {
		if !b.drop[v.Variable] {
			op.VariableDefinitions = append(op.VariableDefinitions, v)
		}
	}
	for i, r := range rows {
		f := *b.root
		f.Alias = "r" + strconv.Itoa(i)
		f.Arguments = nil
		for _, a := range b.root.Arguments {
			if a.Name != "id" && a.Name != "asOf" {
				f.Arguments = append(f.Arguments, a)
			}
		}
		id := &ast.Value{Kind: ast.StringValue, Raw: r.ID}
		if b.entity.IDType == registry.Int {
			id = &ast.Value{Kind: ast.IntValue, Raw: r.ID}
		}
		f.Arguments = append(f.Arguments,
			&ast.Argument{Name: "id", Value: id},
			&ast.Argument{Name: "asOf", Value: &ast.Value{Kind: ast.StringValue, Raw: r.Time.UTC().Format(time.RFC3339Nano)}})
		op.SelectionSet = append(op.SelectionSet, &f)
	}
	doc := &ast.QueryDocument{Operations: ast.OperationList{&op}}
	// Fragments the selection uses come along.
	var buf bytes.Buffer
	formatter.NewFormatter(&buf, formatter.WithComments()).FormatQueryDocument(doc)
	if frags := fragments(b.cfg.Document); frags != "" {
		buf.WriteString("\n" + frags)
	}
	return buf.String()
}

// fragments returns the fragment definitions of a document, formatted.
func fragments(src string) string {
	doc, err := parser.ParseQuery(&ast.Source{Input: src})
	if err != nil || len(doc.Fragments) == 0 {
		return ""
	}
	var buf bytes.Buffer
	formatter.NewFormatter(&buf).FormatQueryDocument(&ast.QueryDocument{Fragments: doc.Fragments})
	return buf.String()
}
