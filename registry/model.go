package registry

import (
	"sort"
	"time"

	"github.com/featuregraph/featuregraph/derived"
	"github.com/featuregraph/featuregraph/store"
)

// FeatureType says whether a feature holds one current value or a time series.
type FeatureType string

// The feature types.
const (
	Static FeatureType = "static"
	Action FeatureType = "action"
	// On-demand features, computed at request time and never stored (ondemand.go).
	ServiceFeature FeatureType = "service" // fetched from another service over HTTP
	DerivedFeature FeatureType = "derived" // computed by a CEL expression
)

// Registry is a validated set of entities, features and event streams.
type Registry struct {
	Entities []*Entity          // sorted by name
	Streams  map[string]*Stream // by stream name
	byName   map[string]*Entity

	// Downsync is the registry default (a top-level `downsync:` block); each feature's
	// resolved setting is Feature.Downsync. ServedLog configures served-feature logging.
	Downsync  Downsync
	ServedLog ServedLog
	// Limits are the registry's value limits (its top-level `limits:`, else DefaultLimits);
	// each feature's own are in Feature.Limits.
	Limits Limits
	// Services are the HTTP services that serve service features, by name (a top-level
	// `services:` block, and one per feature with its own `source: {http: ...}`).
	Services map[string]*Service
}

// Entity returns the entity with the given registry name, or nil.
func (r *Registry) Entity(name string) *Entity { return r.byName[name] }

// Stream is a source of events (a Kafka cluster, a service). SubTopicField is the path of the
// field that an event's sub-topic is read from.
type Stream struct {
	Name          string
	SubTopicField string
	Description   string
	Pos           Pos
}

// Entity is a kind of thing that has features.
type Entity struct {
	Name        string // registry name, snake_case: "user"
	Prefix      string // key prefix: "u"
	IDType      Type   // Int or String
	Plural      string // registry name of the batch field: "users"
	Description string
	ExampleID   string     // the id example queries (catalog, playground) ask for; "" = 1
	Static      []*Feature // sorted by name
	Actions     []*Feature // sorted by name
	Services    []*Feature // service features, sorted by name
	Derived     []*Feature // derived features, sorted by name
	byName      map[string]*Feature
	Pos         Pos
}

// Feature returns the entity's feature with the given registry name, or nil.
func (e *Entity) Feature(name string) *Feature { return e.byName[name] }

// Features returns every feature (static, action, service and derived), sorted by name.
func (e *Entity) Features() []*Feature {
	out := append(append(append(append([]*Feature{}, e.Static...), e.Actions...), e.Services...), e.Derived...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Feature is one static or action feature of an entity.
type Feature struct {
	Entity      *Entity
	Name        string // snake_case
	FeatureType FeatureType
	Description string
	Owner       string
	Deprecated  string // deprecation reason; "" = not deprecated
	Tags        []string
	Events      []*EventSpec
	// Downsync is how the feature's online writes are copied offline: the registry default
	// with the feature's own `downsync:` keys over it.
	Downsync Downsync
	// Limits bound one ingested value of the feature: the registry's, overridden by the
	// feature's own `limits:` block.
	Limits Limits

	// Static features.
	Type         Type
	Container    Container
	DefaultValue any         // canonical form (see Coerce); nil = none
	Default      store.Value // DefaultValue as a store.Value; Kind store.Absent = none
	// History keeps every version (besides the current value) for point-in-time reads (asOf),
	// for HistoryTTL after its event time (0 = forever).
	History    bool
	HistoryTTL time.Duration

	// Service features: the service that answers the feature, and the key of the feature in
	// its answers (SourceField, default the feature's name).
	Source      *Service
	SourceField string

	// Derived features: the expression, compiled (type-checked against the entity) when the
	// registry loads, and the GraphQL arguments it reads as args.<name>.
	Expr      string
	Program   *derived.Program
	Arguments []*Argument

	// Action features.
	Fields       []*Field
	MaxCount     int
	DefaultCount int
	TTL          time.Duration // 0 = events never expire
	Dedupe       bool

	Pos Pos
}

// Field is a typed field of an action feature's events. Join names the entity whose id the
// field holds.
type Field struct {
	Name        string
	Type        Type
	Join        string
	Description string
	Pos         Pos
}

// Field returns the action feature's field with the given name, or nil.
func (f *Feature) Field(name string) *Field {
	for _, fl := range f.Fields {
		if fl.Name == name {
			return fl
		}
	}
	return nil
}

// EventSpec says which events feed a feature and how to read them.
type EventSpec struct {
	Feature    *Feature
	StreamName string
	Topic      string
	SubTopic   string
	EntityID   string // path of the entity id in the event, dot-separated
	Timestamp  string // path of the event time; "" = ingestion time
	Filters    []*Filter
	Fields     []*EventField
	Pos        Pos
}

// EventField maps a path in the event to a feature field (Rename, or the last path element).
// An event that lacks the path skips the feature (counted, the event's other features are
// still written) unless Required is set, which makes the absence a conversion error.
type EventField struct {
	Path     string
	Rename   string
	Type     Type
	Required bool
	Pos      Pos
}

// Target is the feature field name the event field feeds.
func (f *EventField) Target() string {
	if f.Rename != "" {
		return f.Rename
	}
	return lastElem(f.Path)
}

// Op is a filter operator.
type Op string

// The filter operators.
const (
	OpEqual    Op = "equal"
	OpNotEqual Op = "not_equal"
	OpIn       Op = "in"
	OpNotIn    Op = "not_in"
	OpContain  Op = "contain"
	OpGT       Op = "gt"
	OpGTE      Op = "gte"
	OpLT       Op = "lt"
	OpLTE      Op = "lte"
	OpExists   Op = "exists"
)

// Ops lists every filter operator.
var Ops = []Op{OpEqual, OpNotEqual, OpIn, OpNotIn, OpContain, OpGT, OpGTE, OpLT, OpLTE, OpExists}

// Filter is a condition on an event field: the event matches when Op holds for the value at Path
// against Values (coerced to Type). For exists, Values is [true] or [false] (default true).
type Filter struct {
	Path   string
	Type   Type
	Op     Op
	Values []any
	Pos    Pos
}

// Pos is a place in a YAML file.
type Pos struct {
	File   string
	Line   int
	Column int // 1-based; 0 when only the line is known
}

func lastElem(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '.' {
			return path[i+1:]
		}
	}
	return path
}
