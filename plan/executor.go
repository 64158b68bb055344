package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/featuregraph/featuregraph/registry"
	gqlschema "github.com/featuregraph/featuregraph/schema"
	"github.com/featuregraph/featuregraph/service"
	"github.com/featuregraph/featuregraph/serving"
	"github.com/featuregraph/featuregraph/store"
)

// Config holds the executor's options. Every field documents its default.
type Config struct {
	// MaxIDs and MaxCount are the serving limits of resolvers.Config; an operation beyond them
	// is left to gqlgen, which reports the error. Default: serving.DefaultConfig().
	MaxIDs, MaxCount int
	// Recorder counts feature reads. Default: not counted.
	Recorder serving.Recorder
	// Observer is told about every read step. Default: a no-op.
	Observer StepObserver
	// Presenter presents errors, as the gqlgen server's error presenter does. Default
	// serving.ErrorPresenter.
	Presenter graphql.ErrorPresenterFunc
	// CacheSize is how many compiled operations are kept. Default 1000.
	CacheSize int
	// Services fetches service features. Default: service.New(reg, service.Config{}), clients
	// with the default options that report to no metrics.
	Services ServiceFetcher
}

// StepKind says what a plan step does.
type StepKind uint8

// The steps of a plan.
const (
	StaticRead  StepKind = iota // one batched static read of a level
	ActionRead                  // one batched action read of a level
	ServiceCall                 // the calls of one service for one entity kind of a level
)

func (k StepKind) String() string {
	switch k {
	case StaticRead:
		return "plan.static_read"
	case ServiceCall:
		return "plan.service_call"
	}
	return "plan.action_read"
}

// Step describes one store read of a plan.
type Step struct {
	Kind  StepKind
	Level int // 0 for the root fields, +1 per join
	Keys  int // static feature keys read (StaticRead)
	// Queries is the number of action queries read (ActionRead).
	Queries int
	// Service is the service called (ServiceCall; Keys is then the ids asked).
	Service string
}

// StepObserver is told when a step starts; the returned context is the one the step's store
// call runs with (a tracer puts its span there) and done is called with the step's error.
// Implementations must be safe for concurrent use.
type StepObserver interface {
	Step(ctx context.Context, s Step) (stepCtx context.Context, done func(error))
}

type nopObserver struct{}

func (nopObserver) Step(ctx context.Context, _ Step) (context.Context, func(error)) {
	return ctx, nopDone
}

func nopDone(error) {}

type nopRecorder struct{}

func (nopRecorder) FeatureRead(string, string, int) {}

// Executor compiles and runs plans over a store.
type Executor struct {
	cfg     Config
	s       *schema
	schema  *ast.Schema // the GraphQL schema of the registry (schema.SDL), parsed at startup
	statics store.StaticReader
	actions store.ActionReader
	// services fetches the service features (Config.Services).
	services ServiceFetcher
	cache    *lru.LRU[*cached]
	// filtered holds the introspection schemas filtered per access id (access.go).
	filtered filteredSchemas
}

// New returns the executor of reg's schema over r.
func New(reg *registry.Registry, r store.Reader, cfg Config) (*Executor, error) {
	d := serving.DefaultConfig()
	if cfg.MaxIDs == 0 {
		cfg.MaxIDs = d.MaxIDs
	}
	if cfg.MaxCount == 0 {
		cfg.MaxCount = d.MaxCount
	}
	if cfg.Recorder == nil {
		cfg.Recorder = nopRecorder{}
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if cfg.Presenter == nil {
		cfg.Presenter = serving.ErrorPresenter
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 1000
	}
	if cfg.MaxIDs < 1 || cfg.MaxCount < 1 || cfg.CacheSize < 1 {
		return nil, fmt.Errorf("plan: max ids %d, max count %d and cache size %d must be positive", cfg.MaxIDs, cfg.MaxCount, cfg.CacheSize)
	}
	s, err := newSchema(reg)
	if err != nil {
		return nil, err
	}
	sch, err := LoadSchema(reg)
	if err != nil {
		return nil, err
	}
	if cfg.Services == nil {
		set, err := service.New(reg, service.Config{})
		if err != nil {
			return nil, err
		}
		cfg.Services = set
	}
	return &Executor{cfg: cfg, s: s, schema: sch, statics: r, actions: r, services: cfg.Services, cache: lru.New[*cached](cfg.CacheSize)}, nil
}

// LoadSchema parses the GraphQL schema of reg (schema.SDL, what go generate writes to
// schema/schema.graphqls): the schema the run-time executor validates and introspects with.
func LoadSchema(reg *registry.Registry) (*ast.Schema, error) {
	sch, gerr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(gqlschema.SDL(reg))})
	if gerr != nil {
		return nil, fmt.Errorf("plan: the registry's GraphQL schema: %w", gerr)
	}
	return sch, nil
}

// cached holds the plans of one operation of one query text, by the values of the variables
// that @include/@skip read.
type cached struct {
	condVars []string
	mu       sync.Mutex
	plans    map[uint64]*Plan // nil Plan: not covered
}

// planFor returns the plan of the operation, compiling it on first use, or nil when plans do
// not cover it. Plans are cached by operation name and query text, then by the values of the
// variables @include/@skip read: everything a plan depends on — and, under access control, by
// the caller's access id (its grant set).
func (ex *Executor) planFor(ctx context.Context, oc *graphql.OperationContext) *Plan {
	if oc.Doc == nil || oc.Operation == nil {
		return nil
	}
	key := oc.OperationName + "\x00" + oc.RawQuery
	acc := AccessFrom(ctx)
	if acc != nil {
		key = acc.AccessID() + "\x00" + key
	}
	c, ok := ex.cache.Get(ctx, key)
	if !ok {
		c = &cached{condVars: conditionVars(oc.Doc), plans: map[uint64]*Plan{}}
		if len(c.condVars) > 64 {
			p, _ := ex.compileFor(oc, acc) // too many combinations to cache
			return p
		}
		ex.cache.Add(ctx, key, c)
	}
	var bits uint64
	for i, name := range c.condVars {
		if b, _ := oc.Variables[name].(bool); b {
			bits |= 1 << i
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, done := c.plans[bits]; done {
		return p
	}
	p, _ := ex.compileFor(oc, acc)
	c.plans[bits] = p
	return p
}

// compileFor compiles the operation of oc (nil and why when plans do not cover it).
func (ex *Executor) compileFor(oc *graphql.OperationContext, acc Access) (*Plan, error) {
	p, err := compile(ex.s, oc.Doc, oc.Operation, oc.Variables, acc)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Execute runs the operation in ctx's gqlgen operation context with a plan and returns its
// response, or nil when plans do not cover the operation (gqlgen's executor must answer it).
// dst is the buffer the data is appended to.
func (ex *Executor) Execute(ctx context.Context, dst []byte) (*graphql.Response, []byte) {
	oc := graphql.GetOperationContext(ctx)
	p := ex.planFor(ctx, oc)
	if p == nil {
		return nil, dst
	}
	if p.forbidden != nil {
		return &graphql.Response{Errors: p.forbidden}, dst
	}
	r := ex.prepare(ctx, p, oc.Variables)
	defer r.release() // the answer is written (or dropped) by then
	r.execute()
	if err := ctx.Err(); err != nil {
		return r.ended(err), dst
	}
	start := len(dst)
	w := writer{ctx: ctx}
	if r.dataNull {
		// A non-null root field failed: gqlgen's answer has no data (its other root fields
		// still ran, and their errors are reported).
		return &graphql.Response{Data: json.RawMessage("null"), Errors: r.errs}, dst
	}
	dst = w.write(dst, r, p)
	if w.err != nil {
		return r.ended(w.err), dst[:start]
	}
	return &graphql.Response{Data: dst[start:], Errors: r.errs}, dst
}

// ended is the answer of a run stopped because its context ended (err: the context's error): no
// data, one error (TIMEOUT or CANCELLED, as the presenter says; the read it cut short, naming
// its backend, when there was one) — never a partial answer.
func (r *run) ended(err error) *graphql.Response {
	if r.cut != nil {
		err = r.cut
	}
	e := r.present(r.ctx, err)
	e.Path = nil
	return &graphql.Response{Errors: gqlerror.List{e}}
}

// checkEvery is how many entities (rows of a batch, objects written) the executor handles between
// two looks at its context: often enough to stop within microseconds, rarely enough to cost
// nothing measurable.
const checkEvery = 64
