package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// Dispatcher routes events to the feature specs of a registry and converts them into store
// writes. It is immutable after NewDispatcher and safe for concurrent use.
type Dispatcher struct {
	routes  map[routeKey][]*route
	streams map[string]*registry.Stream
	subPath map[string]path     // stream name → compiled subTopicField
	topics  map[string][]string // topic → stream names whose specs use it, sorted
	reg     *registry.Registry
	now     func() time.Time
	// maxAhead is how far in the future an event time may be (clock skew). A later time would
	// pin a static value (no real event could overwrite it) and sit as the newest action.
	maxAhead time.Duration
	obs      *FeatureObserver // nil: no per-feature figures
	skips    SkipRecorder     // nil: skips are only reported in the Result
}

// SkipRecorder counts features skipped for an event (metrics). It must be safe for concurrent
// use.
type SkipRecorder interface {
	FeatureSkipped(entity, feature, reason string)
}

// WithSkipRecorder counts every skipped feature in r.
func WithSkipRecorder(r SkipRecorder) DispatcherOption {
	return func(d *Dispatcher) { d.skips = r }
}

// DefaultMaxAhead is how far ahead of the clock an event time may be by default.
const DefaultMaxAhead = 24 * time.Hour

// WithMaxAhead sets how far in the future an event time may be; later events fail conversion
// (and go to the dead letters). Default DefaultMaxAhead.
func WithMaxAhead(d time.Duration) DispatcherOption {
	return func(x *Dispatcher) { x.maxAhead = d }
}

// DispatcherOption configures a Dispatcher.
type DispatcherOption func(*Dispatcher)

// WithClock sets the clock that gives the time of events whose spec has no timestamp path and of
// direct values without a timestamp (default time.Now).
func WithClock(now func() time.Time) DispatcherOption {
	return func(d *Dispatcher) { d.now = now }
}

type routeKey struct{ stream, topic, subTopic string }

// route is a compiled registry.EventSpec.
type route struct {
	spec    *registry.EventSpec
	feature *registry.Feature
	name    string // "<entity>.<feature>"
	id      path
	ts      path // nil: ingestion time
	filters []filter
	fields  []field
}

type field struct {
	path     path
	target   string
	typ      registry.Type
	required bool
}

// NewDispatcher indexes every event spec of reg by (stream, topic, sub-topic). A spec without a
// sub-topic matches every event of its topic.
func NewDispatcher(reg *registry.Registry, opts ...DispatcherOption) *Dispatcher {
	d := &Dispatcher{
		routes:   map[routeKey][]*route{},
		streams:  reg.Streams,
		subPath:  map[string]path{},
		topics:   map[string][]string{},
		reg:      reg,
		now:      time.Now,
		maxAhead: DefaultMaxAhead,
	}
	for _, o := range opts {
		o(d)
	}
	for name, s := range reg.Streams {
		d.subPath[name] = compilePath(s.SubTopicField)
	}
	topicStreams := map[string]map[string]bool{}
	for _, e := range reg.Entities {
		for _, f := range e.Features() {
			for _, es := range f.Events {
				r := &route{
					spec:    es,
					feature: f,
					name:    e.Name + "." + f.Name,
					id:      compilePath(es.EntityID),
					ts:      compilePath(es.Timestamp),
				}
				for _, flt := range es.Filters {
					r.filters = append(r.filters, filter{path: compilePath(flt.Path), f: flt})
				}
				for _, ef := range es.Fields {
					typ := ef.Type
					if typ == "" {
						typ = f.Type
					}
					r.fields = append(r.fields, field{path: compilePath(ef.Path), target: ef.Target(), typ: typ, required: ef.Required})
				}
				k := routeKey{es.StreamName, es.Topic, es.SubTopic}
				d.routes[k] = append(d.routes[k], r)
				if topicStreams[es.Topic] == nil {
					topicStreams[es.Topic] = map[string]bool{}
				}
				topicStreams[es.Topic][es.StreamName] = true
			}
		}
	}
	for topic, ss := range topicStreams {
		for s := range ss {
			d.topics[topic] = append(d.topics[topic], s)
		}
		sort.Strings(d.topics[topic])
	}
	return d
}

// streamNames lists the registry's streams, sorted, for error messages.
func (d *Dispatcher) streamNames() string {
	names := make([]string, 0, len(d.streams))
	for n := range d.streams {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "no streams"
	}
	return strings.Join(names, ", ")
}

// Registry returns the registry the dispatcher routes for.
func (d *Dispatcher) Registry() *registry.Registry { return d.reg }

// Topics returns every topic that a spec names, with the streams whose specs name it (sorted).
// A Kafka consumer subscribes to these by default.
func (d *Dispatcher) Topics() map[string][]string {
	out := make(map[string][]string, len(d.topics))
	for t, ss := range d.topics {
		out[t] = append([]string(nil), ss...)
	}
	return out
}

// Result is what one event (or direct value) turned into.
type Result struct {
	StreamName, Topic, SubTopic string // the resolved routing

	Static  []store.StaticWrite
	Actions []store.ActionWrite

	// Skipped lists the matching specs whose value was not in the event (a field not marked
	// required): nothing is written for them, and the event is not in error.
	Skipped []Skip

	// Matched counts the specs whose topic and sub-topic matched and whose filters held,
	// including those that then failed to convert. Filtered counts the specs whose topic and
	// sub-topic matched but a filter did not hold.
	Matched, Filtered int
}

// Skip is a feature left out of an event's writes, and why.
type Skip struct {
	Feature string `json:"feature"` // "<entity>.<feature>"
	Path    string `json:"path"`    // the path (or paths, comma-separated) the event lacks
	Reason  string `json:"reason"`  // SkipMissingPath
}

// SkipMissingPath is the reason of a Skip whose value path is absent or null in the event.
const SkipMissingPath = "missing_path"

// Unrouted reports whether the event matched no spec: nothing to write and nothing wrong.
func (r *Result) Unrouted() bool { return r.Matched == 0 }

// Writes is the number of store writes in the result.
func (r *Result) Writes() int { return len(r.Static) + len(r.Actions) }

// Dispatch routes one envelope. The error is a *MalformedError when the event cannot be read
// (the Result is then empty), or the errors.Join of one *ConversionError per spec that matched
// but failed; the Result still holds the writes of the specs that succeeded, which the caller
// should store.
func (d *Dispatcher) Dispatch(env Envelope) (*Result, error) {
	if env.Topic == "" {
		return &Result{StreamName: env.StreamName, SubTopic: env.SubTopic}, malformed("envelope has no topic")
	}
	ev, err := DecodeEvent(env.Event)
	if err != nil {
		return &Result{StreamName: env.StreamName, Topic: env.Topic, SubTopic: env.SubTopic}, err
	}
	return d.DispatchEvent(env, ev)
}

// DispatchEvent is Dispatch for an event that is already decoded (numbers as json.Number);
// env.Event is not read.
func (d *Dispatcher) DispatchEvent(env Envelope, ev map[string]any) (*Result, error) {
	streamName, topic, subTopic := env.StreamName, env.Topic, env.SubTopic
	res := &Result{StreamName: streamName, Topic: topic, SubTopic: subTopic}
	received := env.ReceivedAt
	if received.IsZero() {
		received = d.now()
	}
	now := received.UnixMilli()
	if streamName != "" && d.streams[streamName] == nil {
		return res, malformed("unknown streamName %q: the registry declares %s", streamName, d.streamNames())
	}
	if streamName == "" {
		switch ss := d.topics[topic]; len(ss) {
		case 0:
			return res, nil // no spec reads this topic: unrouted
		case 1:
			streamName = ss[0]
			res.StreamName = streamName
		default:
			return res, malformed("envelope has no streamName and topic %q is read from streams %s", topic, strings.Join(ss, ", "))
		}
	}
	if subTopic == "" {
		if p, ok := d.subPath[streamName]; ok && p != nil {
			if v, ok := p.lookup(ev); ok {
				switch x := v.(type) {
				case string:
					subTopic = x
				case json.Number:
					subTopic = string(x)
				default:
					return res, malformed("sub-topic field %q must be a string, got %s", p.String(), jsonKind(v))
				}
			}
		}
		res.SubTopic = subTopic
	}
	var errs []error
	d.apply(res, d.routes[routeKey{streamName, topic, subTopic}], ev, now, &errs)
	if subTopic != "" {
		d.apply(res, d.routes[routeKey{streamName, topic, ""}], ev, now, &errs)
	}
	for _, err := range errs {
		if rejects(err) {
			// A hostile value rejects its whole event (strict.go): nothing of it is written.
			res.Static, res.Actions = nil, nil
			break
		}
	}
	return res, errors.Join(errs...)
}

func (d *Dispatcher) apply(res *Result, routes []*route, ev map[string]any, now int64, errs *[]error) {
	for _, r := range routes {
		ok := true
		for i := range r.filters {
			if !r.filters[i].holds(ev) {
				ok = false
				break
			}
		}
		if !ok {
			res.Filtered++
			continue
		}
		res.Matched++
		if err := d.convert(res, r, ev, now); err != nil {
			*errs = append(*errs, err)
			if d.obs != nil {
				d.obs.conversionFailed(r.feature)
			}
		}
	}
}

// convert turns one matching event into the writes of one spec.
func (d *Dispatcher) convert(res *Result, r *route, ev map[string]any, now int64) error {
	f := r.feature
	fail := func(part string, p path, err error) error {
		return &ConversionError{Feature: r.name, Part: part, Path: p.String(), Err: err}
	}
	rawID, ok := r.id.lookup(ev)
	if !ok {
		return fail("entity id", r.id, errors.New("missing"))
	}
	id, err := EntityID(f.Entity, rawID)
	if err != nil {
		return fail("entity id", r.id, err)
	}
	ts, err := eventTime(r.ts, ev, now)
	if err == nil {
		err = d.checkAhead(ts, now)
	}
	if err != nil {
		return fail("timestamp", r.ts, err)
	}
	key := store.Key{Prefix: f.Entity.Prefix, ID: id, Feature: f.Name}

	if f.FeatureType == registry.Static {
		if len(r.fields) != 1 { // the registry guarantees one; never index past it
			return fail("field", nil, fmt.Errorf("a static feature's event needs exactly one field, has %d", len(r.fields)))
		}
		fl := r.fields[0]
		raw, ok := fl.path.lookup(ev)
		if !ok {
			if fl.required {
				return fail("field", fl.path, errors.New("missing or null (the field is required)"))
			}
			d.skip(res, r, fl.path.String())
			return nil
		}
		v, err := registry.ToValue(f.Type, f.Container, raw)
		if err == nil {
			err = checkValue(f, v)
		}
		if err != nil {
			return fail("field", fl.path, err)
		}
		res.Static = append(res.Static, store.StaticWrite{Key: key, Value: v, TS: ts, History: f.History, HistoryTTL: f.HistoryTTL})
		return nil
	}

	fields := make(map[string]any, len(r.fields))
	for _, fl := range r.fields {
		raw, ok := fl.path.lookup(ev)
		if !ok {
			if fl.required {
				return fail("field", fl.path, errors.New("missing or null (the field is required)"))
			}
			continue // optional: a missing field is left out of the event
		}
		v, err := registry.CoerceScalar(fl.typ, raw)
		if err == nil {
			err = checkField(f, v)
		}
		if err != nil {
			return fail("field", fl.path, err)
		}
		fields[fl.target] = memberValue(v)
	}
	if len(fields) == 0 {
		paths := make([]string, len(r.fields))
		for i, fl := range r.fields {
			paths[i] = fl.path.String()
		}
		d.skip(res, r, strings.Join(paths, ", "))
		return nil
	}
	return appendAction(res, f, key, ts, fields)
}

// skip records that the event lacks the value of route r: the feature is not written.
func (d *Dispatcher) skip(res *Result, r *route, paths string) {
	res.Skipped = append(res.Skipped, Skip{Feature: r.name, Path: paths, Reason: SkipMissingPath})
	if d.skips != nil {
		d.skips.FeatureSkipped(r.feature.Entity.Name, r.feature.Name, SkipMissingPath)
	}
}

func appendAction(res *Result, f *registry.Feature, key store.Key, ts int64, fields map[string]any) error {
	member, err := store.EncodeMember(fields, ts, f.Dedupe)
	if err != nil {
		return &ConversionError{Feature: f.Entity.Name + "." + f.Name, Part: "field", Err: err}
	}
	res.Actions = append(res.Actions, store.ActionWrite{Key: key, TS: ts, Member: member, MaxCount: f.MaxCount, TTL: f.TTL})
	return nil
}

// memberValue gives a coerced field value the form it takes in a member: times as RFC 3339
// strings with nanoseconds (UTC), everything else as it is (JSON as its compact raw text).
func memberValue(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format(time.RFC3339Nano)
	}
	return v
}

// checkAhead rejects an event time more than maxAhead after now (both Unix ms).
func (d *Dispatcher) checkAhead(ts, now int64) error {
	if limit := now + d.maxAhead.Milliseconds(); ts > limit {
		return fmt.Errorf("time %s is more than %s in the future (clock %s)",
			time.UnixMilli(ts).UTC().Format(time.RFC3339), d.maxAhead, time.UnixMilli(now).UTC().Format(time.RFC3339))
	}
	return nil
}

// The event times accepted: from the Unix epoch to the end of year 9999.
var maxEventTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).UnixMilli()

func eventTime(p path, ev map[string]any, now int64) (int64, error) {
	if p == nil {
		return now, nil
	}
	raw, ok := p.lookup(ev)
	if !ok {
		return 0, errors.New("missing")
	}
	return TimeMillis(raw)
}

// TimeMillis reads an event time (RFC 3339, epoch seconds or epoch milliseconds) as Unix
// milliseconds; times before 1970 or after 9999 are an error.
func TimeMillis(raw any) (int64, error) {
	t, err := registry.ParseTime(raw)
	if err != nil {
		return 0, err
	}
	ms := t.UnixMilli()
	if ms < 0 || ms > maxEventTime || t.Year() > 9999 || t.Year() < 1970 {
		return 0, fmt.Errorf("time %v is out of range (1970 to 9999)", raw)
	}
	return ms, nil
}

// maxIDLen bounds an entity id (DynamoDB limits a partition key to 2048 bytes).
const maxIDLen = 1024

// EntityID returns the canonical form of an entity id for store keys: for Int ids the decimal
// text (JSON numbers and numeric strings are accepted), for String ids the string as given
// (a JSON number is taken as its text).
func EntityID(e *registry.Entity, raw any) (string, error) {
	var id string
	switch x := raw.(type) {
	case string:
		if len(x) > maxIDLen {
			return "", fmt.Errorf("id is %d bytes long, at most %d allowed", len(x), maxIDLen)
		}
	case json.Number:
		if len(x) > maxIDLen {
			return "", fmt.Errorf("id is %d bytes long, at most %d allowed", len(x), maxIDLen)
		}
	}
	if e.IDType == registry.Int {
		v, err := registry.CoerceScalar(registry.Int, raw)
		if err != nil {
			return "", err
		}
		id = strconv.FormatInt(v.(int64), 10)
		// Ids are canonical: "-0", "1.0", "1e3" or "01" would name user 0 or 1 under another
		// spelling.
		var text string
		switch x := raw.(type) {
		case string:
			text = x
		case json.Number:
			text = string(x)
		}
		if text != "" && text != id {
			return "", fmt.Errorf("want an Int id written canonically (%s), got %q", id, excerptValue(text))
		}
	} else {
		switch x := raw.(type) {
		case string:
			id = x
		case json.Number:
			id = string(x)
		case int64, int:
			id = fmt.Sprint(x)
		default:
			return "", fmt.Errorf("want a String id, got %s", jsonKind(raw))
		}
		if id == "" {
			return "", errors.New("empty id")
		}
		if strings.TrimSpace(id) != id || strings.ContainsFunc(id, unicode.IsControl) {
			return "", fmt.Errorf("id %q has surrounding spaces or control characters", excerptValue(id))
		}
	}
	if len(id) > maxIDLen {
		return "", fmt.Errorf("id is %d bytes long, at most %d allowed", len(id), maxIDLen)
	}
	return id, nil
}

// excerptValue cuts a quoted input value to a short prefix.
func excerptValue(s string) string {
	if len(s) <= 64 {
		return s
	}
	cut := 64
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
