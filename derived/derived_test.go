package derived

import (
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// events is a test series, newest first.
type events struct {
	ts   []int64
	vals [][]store.Value
}

func (e *events) Len() int                   { return len(e.ts) }
func (e *events) TS(i int) int64             { return e.ts[i] }
func (e *events) Value(i, f int) store.Value { return e.vals[i][f] }

var decls = Decls{
	Statics: []Decl{
		{"age", Type{"Int", ""}},
		{"score", Type{"Float", ""}},
		{"name", Type{"String", ""}},
		{"verified", Type{"Boolean", ""}},
		{"seen_at", Type{"Time", ""}},
		{"settings", Type{"JSON", ""}},
		{"tags", Type{"String", "set"}},
		{"affinity", Type{"Float", "map"}},
		{"missing", Type{"Int", ""}},
	},
	Actions: []Action{{Name: "clicks", Fields: []Decl{
		{"article_id", Type{"Int", ""}}, {"price", Type{"Float", ""}}, {"source", Type{"String", ""}},
		{"at", Type{"Time", ""}}, {"promoted", Type{"Boolean", ""}},
	}}, {Name: "views", Fields: []Decl{{"article_id", Type{"Int", ""}}}}},
}

func TestExpressionsOverEveryType(t *testing.T) {
	env, err := NewEnv(decls)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	ms := now.UnixMilli()
	hour := int64(3600 * 1000)
	at := store.JSONValue(`"2026-12-06T10:00:00Z"`)
	clicks := &events{ts: []int64{ms - hour, ms - 2*hour, ms - 30*hour}, vals: [][]store.Value{
		{store.IntValue(7), store.FloatValue(2.5), store.StringValue("feed"), at, store.BoolValue(true)},
		{store.IntValue(8), store.FloatValue(1.5), store.StringValue("search"), at, store.BoolValue(false)},
		{store.IntValue(7), store.FloatValue(10), store.StringValue("feed"), at, store.BoolValue(true)},
	}}
	views := &events{ts: []int64{ms - hour, ms - 2*hour, ms - 3*hour, ms - 4*hour}, vals: [][]store.Value{
		{store.IntValue(1)}, {store.IntValue(2)}, {store.IntValue(3)}, {{}},
	}}
	statics := map[string]store.Value{
		"age": store.IntValue(41), "score": store.FloatValue(36.5), "name": store.StringValue("kim"),
		"verified": store.BoolValue(true), "seen_at": store.TimeValue(now.Add(-time.Hour)),
		"settings": store.JSONValue(`{"dark":true,"n":2}`),
		"tags":     store.ListValue([]store.Value{store.StringValue("a"), store.StringValue("b")}),
		"affinity": store.MapValue([]string{"books", "toys"}, []store.Value{store.FloatValue(0.5), store.FloatValue(0.25)}),
	}
	cases := []struct {
		expr string
		typ  Type
		args []Decl
		argv []store.Value
		want string // JSON of the value; "null" for Absent
	}{
		{"age + 1", Type{"Int", ""}, nil, nil, "42"},
		{"score * 2.0", Type{"Float", ""}, nil, nil, "73"},
		{`name + "!"`, Type{"String", ""}, nil, nil, `"kim!"`},
		{"!verified", Type{"Boolean", ""}, nil, nil, "false"},
		{"seen_at + duration('1h')", Type{"Time", ""}, nil, nil, `"2026-12-06T12:00:00Z"`},
		{"now - seen_at > duration('30m')", Type{"Boolean", ""}, nil, nil, "true"},
		{"settings.n", Type{"JSON", ""}, nil, nil, "2"},
		{"settings", Type{"JSON", ""}, nil, nil, `{"dark":true,"n":2}`},
		{`"b" in tags`, Type{"Boolean", ""}, nil, nil, "true"},
		{"tags.map(t, t + t)", Type{"String", "list"}, nil, nil, `["aa","bb"]`},
		{"affinity.books", Type{"Float", ""}, nil, nil, "0.5"},
		{"{'x': affinity.toys * 4.0}", Type{"Float", "map"}, nil, nil, `{"x":1}`},
		{"count(clicks, 86400)", Type{"Int", ""}, nil, nil, "2"},
		{"count(clicks, 7 * 86400)", Type{"Int", ""}, nil, nil, "3"},
		{"sum(clicks.price, 86400)", Type{"Float", ""}, nil, nil, "4"},
		{"sum(clicks.article_id, 7 * 86400)", Type{"Int", ""}, nil, nil, "22"},
		{"min(clicks.price, 7 * 86400)", Type{"Float", ""}, nil, nil, "1.5"},
		{"max(clicks.source, 7 * 86400)", Type{"String", ""}, nil, nil, `"search"`},
		{"max(clicks.at, 86400)", Type{"Time", ""}, nil, nil, `"2026-12-06T10:00:00Z"`},
		{"last(clicks.source, 86400)", Type{"String", ""}, nil, nil, `"feed"`},
		{"last(clicks.promoted, 86400)", Type{"Boolean", ""}, nil, nil, "true"},
		{"distinct(clicks.article_id, 7 * 86400)", Type{"Int", "list"}, nil, nil, "[7,8]"},
		{"size(distinct(views.article_id, 86400))", Type{"Int", ""}, nil, nil, "3"},
		{"double(count(clicks, 86400)) / double(count(views, 86400))", Type{"Float", ""}, nil, nil, "0.5"},
		{"min(clicks.price, 60)", Type{"Float", ""}, nil, nil, "null"},
		{"count(clicks, 60) > 0 ? last(clicks.price, 60) : 0.0", Type{"Float", ""}, nil, nil, "0"},
		{"missing + 1", Type{"Int", ""}, nil, nil, "null"},
		{"true || missing > 1", Type{"Boolean", ""}, nil, nil, "true"},
		{"score * args.boost", Type{"Float", ""}, []Decl{{"boost", Type{"Float", ""}}}, []store.Value{store.FloatValue(2)}, "73"},
		{"args.label + name", Type{"String", ""}, []Decl{{"label", Type{"String", ""}}}, []store.Value{store.StringValue("u:")}, `"u:kim"`},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			p, probs := env.Compile(c.expr, c.typ, c.args, 0)
			if len(probs) > 0 {
				t.Fatalf("compile: %v", probs)
			}
			in := &Input{Now: ms, Args: c.argv}
			for _, s := range p.Statics {
				in.Statics = append(in.Statics, statics[s])
			}
			for _, w := range p.Actions {
				if w.Name == "clicks" {
					in.Actions = append(in.Actions, clicks)
				} else {
					in.Actions = append(in.Actions, views)
				}
			}
			v, err := p.Eval(in)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(v.AppendJSON(nil)); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

func TestInputsAndWindows(t *testing.T) {
	env, _ := NewEnv(decls)
	p, probs := env.Compile("count(clicks, 3600) + count(clicks, 86400) + sum(views.article_id, 600) + age", Type{"Int", ""}, nil, 0)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if len(p.Statics) != 1 || p.Statics[0] != "age" {
		t.Errorf("statics %v", p.Statics)
	}
	if len(p.Actions) != 2 || p.Actions[0] != (Window{"clicks", 86400}) || p.Actions[1] != (Window{"views", 600}) {
		t.Errorf("actions %v", p.Actions)
	}
}

func TestTypeErrors(t *testing.T) {
	env, _ := NewEnv(decls)
	cases := []struct{ expr, want string }{
		{"age + score", "no matching overload"},
		{"agee + 1", "undeclared reference to 'agee'"},
		{"age +", "Syntax error"},
		{"name", "the expression is String, but the feature is Int"},
		{"count(clicks, age)", "window of count() must be a constant"},
		{"count(clicks, 0)", "positive number of seconds"},
		{"sum(clicks.source, 60)", "no matching overload"},
		{"count(nope, 60)", "undeclared reference"},
		{"clicks.price", "read them with count"},
		{"[1, 2].map(x, x * 1000000000000).exists(x, x > 0) ? 1 : 2", ""},
	}
	for _, c := range cases {
		_, probs := env.Compile(c.expr, Type{"Int", ""}, nil, 0)
		if c.want == "" {
			if len(probs) > 0 {
				t.Errorf("%s: %v", c.expr, probs)
			}
			continue
		}
		if len(probs) == 0 {
			t.Errorf("%s: compiled, want an error with %q", c.expr, c.want)
			continue
		}
		if !strings.Contains(probs[0].Msg, c.want) && !strings.Contains(strings.ToLower(probs[0].Msg), strings.ToLower(c.want)) {
			t.Errorf("%s: %v, want %q", c.expr, probs, c.want)
		}
		if probs[0].Line < 1 {
			t.Errorf("%s: no line in %+v", c.expr, probs[0])
		}
	}
}

func TestCostLimitAndRuntimeErrors(t *testing.T) {
	env, _ := NewEnv(decls)
	p, probs := env.Compile("tags.map(a, tags.map(b, tags.map(c, a + b + c))).size()", Type{"Int", ""}, nil, 5)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	_, err := p.Eval(&Input{Statics: []store.Value{store.ListValue([]store.Value{store.StringValue("a"), store.StringValue("b"), store.StringValue("c")})}})
	if err == nil || !strings.Contains(err.Error(), "cost limit") {
		t.Errorf("err %v, want the cost limit", err)
	}
	p, _ = env.Compile("age / 0", Type{"Int", ""}, nil, 0)
	if _, err := p.Eval(&Input{Statics: []store.Value{store.IntValue(1)}}); err == nil || !strings.Contains(err.Error(), "division by zero") {
		t.Errorf("err %v, want division by zero", err)
	}
	p, _ = env.Compile("score / 0.0", Type{"Float", ""}, nil, 0)
	if _, err := p.Eval(&Input{Statics: []store.Value{store.FloatValue(1)}}); err == nil || !strings.Contains(err.Error(), "finite") {
		t.Errorf("err %v, want not finite", err)
	}
}

// BenchmarkEval is the cost of one derived value of the P1 variant's expressions (the plan adds
// reading its inputs from the batch and writing it).
func BenchmarkEval(b *testing.B) {
	env, _ := NewEnv(decls)
	for _, expr := range []string{"double(age) * score", "age + 1 > 40 ? 1.0 : 0.0", "score / (score + 1.0)",
		"double(count(clicks, 86400)) / double(count(views, 86400) + 1)"} {
		b.Run(expr, func(b *testing.B) {
			p, probs := env.Compile(expr, Type{"Float", ""}, nil, 0)
			if len(probs) > 0 {
				b.Fatal(probs)
			}
			in := &Input{Now: 1_000_000_000}
			for _, s := range p.Statics {
				if s == "age" {
					in.Statics = append(in.Statics, store.IntValue(41))
				} else {
					in.Statics = append(in.Statics, store.FloatValue(36.5))
				}
			}
			ev := &events{ts: []int64{999_999_000, 999_998_000, 1}, vals: [][]store.Value{{{}}, {{}}, {{}}}}
			for range p.Actions {
				in.Actions = append(in.Actions, ev)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Eval(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
