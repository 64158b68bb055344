package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// Value is one feature value given directly rather than derived from an event: a row of a batch
// load (offline → online). For a static feature Value is the value in the feature's type and
// container; for an action feature it is one event, an object of field name → value.
type Value struct {
	Entity    string // registry name of the entity: "user"
	ID        any    // entity id: a number or a string
	Feature   string // registry name of the feature: "os"
	Value     any    // decoded JSON (numbers as json.Number), or text from a CSV cell
	Timestamp any    // event time (RFC 3339, epoch s or ms); nil or "" = the dispatcher's clock
}

// DispatchValue converts a direct value into its store write. Text is accepted where a file
// format has no types (CSV): numbers, booleans and times as text, and list, set, map, JSON and
// action values as JSON text. The error is a *ConversionError.
func (d *Dispatcher) DispatchValue(v Value) (*Result, error) {
	res := &Result{}
	name := v.Entity + "." + v.Feature
	fail := func(part string, err error) (*Result, error) {
		return res, &ConversionError{Feature: name, Part: part, Err: err}
	}
	e := d.reg.Entity(v.Entity)
	if e == nil {
		return fail("entity", fmt.Errorf("unknown entity %q (known: %s)", v.Entity, entityNames(d.reg)))
	}
	f := e.Feature(v.Feature)
	if f == nil {
		return fail("feature", fmt.Errorf("entity %q has no feature %q", v.Entity, v.Feature))
	}
	if v.ID == nil {
		return fail("entity id", errors.New("missing"))
	}
	id, err := EntityID(e, v.ID)
	if err != nil {
		return fail("entity id", err)
	}
	var ts int64
	if v.Timestamp == nil || v.Timestamp == "" {
		ts = d.now().UnixMilli()
	} else if ts, err = TimeMillis(v.Timestamp); err != nil {
		return fail("timestamp", err)
	} else if err = d.checkAhead(ts, d.now().UnixMilli()); err != nil {
		return fail("timestamp", err)
	}
	if v.Value == nil {
		return fail("value", errors.New("missing or null"))
	}
	res.Matched = 1
	key := store.Key{Prefix: e.Prefix, ID: id, Feature: f.Name}
	if f.FeatureType == registry.Static {
		raw := v.Value
		if s, ok := raw.(string); ok && (f.Container != registry.Single || f.Type == registry.JSON) {
			if raw, err = decodeJSONText(s, f.Type == registry.JSON && f.Container == registry.Single); err != nil {
				return fail("value", err)
			}
		}
		val, err := registry.ToValue(f.Type, f.Container, raw)
		if err == nil {
			err = checkValue(f, val)
		}
		if err != nil {
			return fail("value", err)
		}
		res.Static = append(res.Static, store.StaticWrite{Key: key, Value: val, TS: ts, History: f.History, HistoryTTL: f.HistoryTTL})
		return res, nil
	}
	raw := v.Value
	if s, ok := raw.(string); ok {
		if raw, err = decodeJSONText(s, false); err != nil {
			return fail("value", err)
		}
	}
	obj, ok := raw.(map[string]any)
	if !ok || len(obj) == 0 {
		return fail("value", fmt.Errorf("an action value is an object of its fields (%s), got %s", fieldNames(f), jsonKind(raw)))
	}
	fields := make(map[string]any, len(obj))
	for k, x := range obj {
		fl := f.Field(k)
		if fl == nil {
			return fail("value", fmt.Errorf("unknown field %q (fields: %s)", k, fieldNames(f)))
		}
		if x == nil {
			continue
		}
		cv, err := registry.CoerceScalar(fl.Type, x)
		if err == nil {
			err = checkField(f, cv)
		}
		if err != nil {
			return fail("value", fmt.Errorf("field %q: %w", k, err))
		}
		fields[k] = memberValue(cv)
	}
	if len(fields) == 0 {
		return fail("value", errors.New("every field is null"))
	}
	if err := appendAction(res, f, key, ts, fields); err != nil {
		return res, err
	}
	return res, nil
}

// decodeJSONText parses JSON text from a typeless source. With raw it keeps the text as
// json.RawMessage (a JSON feature's value); otherwise it decodes it, numbers as json.Number.
func decodeJSONText(s string, raw bool) (any, error) {
	s = strings.TrimSpace(s)
	if raw {
		if !json.Valid([]byte(s)) {
			return nil, errors.New("want JSON text")
		}
		return json.RawMessage(s), nil
	}
	v, err := DecodeJSON([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("want JSON text: %s", jsonProblem(err))
	}
	return v, nil
}

func entityNames(reg *registry.Registry) string {
	names := make([]string, len(reg.Entities))
	for i, e := range reg.Entities {
		names[i] = e.Name
	}
	return strings.Join(names, ", ")
}

func fieldNames(f *registry.Feature) string {
	names := make([]string, len(f.Fields))
	for i, fl := range f.Fields {
		names[i] = fl.Name
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
