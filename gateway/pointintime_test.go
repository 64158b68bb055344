package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/dynamodb"
	"github.com/featuregraph/featuregraph/store/memory"
	"github.com/featuregraph/featuregraph/store/redis"
	"github.com/featuregraph/featuregraph/store/tiered"
)

func (c *countingReader) ReadStaticAsOf(ctx context.Context, keys []store.Key, asOf int64) (map[store.Key]store.StaticValue, error) {
	return c.Reader.(store.StaticHistoryReader).ReadStaticAsOf(ctx, keys, asOf)
}

func TestFilterOnActionFields(t *testing.T) {
	e := newEnv(t)
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i, src := range []string{"feed", "push", "search", "push", "feed", "mail"} {
		e.action("user", "1", "recent_clicked_articles", base.Add(time.Duration(i)*time.Minute), map[string]any{"article_id": 100 + i, "source": src})
	}
	e.action("user", "1", "recent_clicked_articles", base.Add(10*time.Minute), map[string]any{"article_id": 200}) // no source
	ids := func(q string) string {
		t.Helper()
		r, _ := e.query(`{ user(id: 1) { recentClickedArticles`+q+` { articleId } } }`, nil)
		if len(r.Errors) > 0 {
			t.Fatalf("%s: %v", q, r.Errors)
		}
		var out struct {
			User struct{ RecentClickedArticles []struct{ ArticleID int } }
		}
		_ = json.Unmarshal(r.Data, &out)
		var s []string
		for _, ev := range out.User.RecentClickedArticles {
			s = append(s, fmt.Sprint(ev.ArticleID))
		}
		return strings.Join(s, ",")
	}
	for _, c := range []struct{ args, want string }{
		{`(filter: { source: { in: ["push", "feed"] } })`, "104,103,101,100"},
		{`(count: 2, filter: { source: { in: ["push", "feed"] } })`, "104,103"},
		{`(filter: { source: { ne: "push" } })`, "200,105,104,102,100"},
		{`(filter: { source: { exists: false } })`, "200"},
		{`(filter: { articleId: { gte: 102, lt: 105 } })`, "104,103,102"},
		{`(filter: { articleId: { notIn: [100, 101, 200] }, source: { eq: "push" } })`, "103"},
		{`(filter: {})`, "200,105,104,103,102,101,100"},
	} {
		if got := ids(c.args); got != c.want {
			t.Errorf("%s: got %s, want %s", c.args, got, c.want)
		}
	}
	// A bad operator or value is a validation error naming it.
	r, _ := e.query(`{ user(id: 1) { recentClickedArticles(filter: { source: { gt: "a" } }) { articleId } } }`, nil)
	if len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, "gt") {
		t.Errorf("ordered operator on a String field: %+v", r.Errors)
	}
}

func TestAsOfStaticsActionsAndJoins(t *testing.T) {
	e := newEnv(t)
	hist := func(entity, id, feature string, v any, ts time.Time) {
		t.Helper()
		f := e.reg.Entity(entity).Feature(feature)
		cv, err := registry.ToValue(f.Type, f.Container, v)
		if err != nil {
			t.Fatal(err)
		}
		k := store.Key{Prefix: f.Entity.Prefix, ID: id, Feature: feature}
		if err := e.mem.WriteStatic(context.Background(), []store.StaticWrite{{Key: k, Value: cv, TS: ts.UnixMilli(), History: f.History, HistoryTTL: f.HistoryTTL}}); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now().Add(-10 * 24 * time.Hour).Truncate(time.Hour)
	hist("user", "1", "os", "android", t0)
	hist("user", "1", "os", "ios", t0.Add(48*time.Hour))
	hist("user", "1", "region_id", 6, t0)
	hist("article", "101", "price", 500, t0)
	hist("article", "101", "price", 400, t0.Add(72*time.Hour))
	for i := range 5 {
		e.action("user", "1", "recent_clicked_articles", t0.Add(time.Duration(i*24)*time.Hour+time.Hour), map[string]any{"article_id": 101, "source": fmt.Sprint("s", i)})
	}
	at := t0.Add(50 * time.Hour).UTC().Format(time.RFC3339)
	r, _ := e.query(`query($at: Time) { user(id: 1, asOf: $at) { os recentClickedArticles { timestamp source article { price } } now: recentClickedArticles(count: 1, asOf: "`+time.Now().UTC().Format(time.RFC3339)+`") { source } } }`, map[string]any{"at": at})
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	ts := func(h int) string { return t0.Add(time.Duration(h) * time.Hour).UTC().Format(time.RFC3339) }
	jsonEq(t, r.Data, `{"user":{"os":"ios","recentClickedArticles":[
		{"timestamp":"`+ts(49)+`","source":"s2","article":{"price":500}},
		{"timestamp":"`+ts(25)+`","source":"s1","article":{"price":500}},
		{"timestamp":"`+ts(1)+`","source":"s0","article":{"price":500}}],
		"now":[{"source":"s4"}]}}`)

	// The window ends at asOf.
	r, _ = e.query(`{ user(id: 1, asOf: "`+at+`") { recentClickedArticles(lastNSec: 86400) { source } } }`, nil)
	jsonEq(t, r.Data, `{"user":{"recentClickedArticles":[{"source":"s2"}]}}`)

	// Before the first version there is none: the default (os) or null.
	r, _ = e.query(`{ users(ids: [1, 2], asOf: "`+t0.Add(-time.Hour).UTC().Format(time.RFC3339)+`") { os recentClickedArticles { source } } }`, nil)
	jsonEq(t, r.Data, `{"users":[{"os":"unknown","recentClickedArticles":[]},{"os":"unknown","recentClickedArticles":[]}]}`)

	// A static feature without history is an error naming it; the rest is answered.
	r, _ = e.query(`{ user(id: 1, asOf: "`+at+`") { os regionId } }`, nil)
	jsonEq(t, r.Data, `{"user":{"os":"ios","regionId":null}}`)
	if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "user.region_id keeps no history") ||
		fmt.Sprint(r.Errors[0].Path) != "[user regionId]" {
		t.Errorf("errors %+v", r.Errors)
	}
	// ... also through a join, which inherits asOf.
	r, _ = e.query(`{ user(id: 1) { recentClickedArticles(count: 1, asOf: "`+at+`") { article { price category } } } }`, nil)
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "article.category keeps no history") {
		t.Errorf("errors %+v", r.Errors)
	}
	r, _ = e.query(`{ user(id: 1, asOf: "1969-12-31T00:00:00Z") { os } }`, nil)
	if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "BAD_USER_INPUT" {
		t.Errorf("asOf before 1970: %+v", r.Errors)
	}
}

// trainingSet is the feature store under test for TestPointInTimeTrainingSet.
type trainingSet struct {
	name  string
	store store.Store
	flush func() // empties the Redis copy (nil: none)
}

// A point-in-time training set: labels (user, time) drawn over a stream of events and profile
// updates; each row is the features as of its time. No row may hold an event or a version from
// after its time, and each row must equal what a query at that time would have answered. Run on
// memory and on DynamoDB + Redis, warm and with Redis emptied (the DynamoDB fallback).
func TestPointInTimeTrainingSet(t *testing.T) {
	reg, err := registry.Load("../features")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	calls := &callLog{}
	ddb, err := dynamodb.New(ctx, dynamodb.Config{Endpoint: testenv.DynamoDB(t), Region: "us-east-1", Table: fmt.Sprintf("fg_pit_%d", time.Now().UnixNano()), Observer: calls})
	if err != nil {
		t.Fatal(err)
	}
	if err := ddb.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	rsrv := testenv.NewRedis(t)
	rs, err := redis.New(redis.Config{Addrs: []string{rsrv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := tiered.New(rs, ddb, tiered.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	client := goredis.NewClient(&goredis.Options{Addr: rsrv.Addr()})
	t.Cleanup(func() { client.Close() })
	flush := func() {
		ts.WaitBackground()
		if err := client.FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}

	// The events: 4 users, clicks every few minutes over two days from a few sources (repeats
	// of the same article and source included), and OS changes.
	rng := rand.New(rand.NewPCG(7, 11))
	start := time.Now().Add(-72 * time.Hour).Truncate(time.Minute).UTC()
	type click struct {
		user    int
		at      time.Time
		article int
		source  string
	}
	type osChange struct {
		user int
		at   time.Time
		os   string
	}
	type purchase struct {
		user  int
		at    time.Time
		price int
	}
	var clicks []click
	var oses []osChange
	var purchases []purchase
	var envs []ingest.Envelope
	for u := 1; u <= 4; u++ {
		at := start
		for i := 0; i < 120; i++ {
			at = at.Add(time.Duration(1+rng.IntN(30)) * time.Minute)
			c := click{u, at, 100 + rng.IntN(12), []string{"feed", "push", "search"}[rng.IntN(3)]}
			clicks = append(clicks, c)
			envs = append(envs, ingest.Envelope{StreamName: "client_event", Topic: "client_event_cleansed", SubTopic: "view_article_v1",
				Event: json.RawMessage(fmt.Sprintf(`{"event_name":"view_article_v1","user_id":%d,"event_time":%q,"country_code":"kr","params":{"article_id_v1":%d,"source":%q}}`,
					u, c.at.Format(time.RFC3339), c.article, c.source))})
			if i%3 == 0 {
				p := purchase{u, at.Add(10 * time.Second), 1000 * rng.IntN(4)} // the same price again is another purchase
				purchases = append(purchases, p)
				envs = append(envs, ingest.Envelope{StreamName: "app_events", Topic: "order_cdc", SubTopic: "order_completed",
					Event: json.RawMessage(fmt.Sprintf(`{"event_name":"order_completed","buyer_id":%d,"status":"completed","article_id":7,"amount":%d,"completed_at":%q}`,
						u, p.price, p.at.Format(time.RFC3339)))})
			}
			if i%25 == 0 {
				o := osChange{u, at.Add(30 * time.Second), []string{"ios", "android", "web"}[rng.IntN(3)]}
				oses = append(oses, o)
				envs = append(envs, ingest.Envelope{StreamName: "app_events", Topic: "user_cdc", SubTopic: "user_updated",
					Event: json.RawMessage(fmt.Sprintf(`{"event_name":"user_updated","user_id":%d,"device":{"os":%q},"region":{"id":1},"verified":true,"updated_at":%q}`,
						u, o.os, o.at.Format(time.RFC3339)))})
			}
		}
	}
	// Ingested in a shuffled order: late events are normal.
	rng.Shuffle(len(envs), func(i, j int) { envs[i], envs[j] = envs[j], envs[i] })
	d := ingest.NewDispatcher(reg)
	mem := memory.New()
	for _, st := range []store.Store{mem, ts} {
		for _, env := range envs {
			res, err := d.Dispatch(env)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.WriteStatic(ctx, res.Static); err != nil {
				t.Fatal(err)
			}
			if err := st.WriteActions(ctx, res.Actions); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The labels: 6 instants spread over the stream.
	var instants []time.Time
	for i := 1; i <= 6; i++ {
		instants = append(instants, start.Add(time.Duration(i*7)*time.Hour+time.Duration(rng.IntN(3600))*time.Second))
	}
	// expected is the row of user u as of at, from the events themselves: the newest 20 clicks
	// up to at, one per (article, source) — the feature dedupes — and the last OS set by then.
	expected := func(u int, at time.Time) string {
		var mine []click
		for _, c := range clicks {
			if c.user == u && !c.at.After(at) {
				mine = append(mine, c)
			}
		}
		sort.Slice(mine, func(i, j int) bool { return mine[i].at.After(mine[j].at) })
		seen := map[string]bool{}
		var evs []string
		for _, c := range mine {
			k := fmt.Sprint(c.article, c.source)
			if seen[k] || len(evs) == 20 {
				continue
			}
			seen[k] = true
			evs = append(evs, fmt.Sprintf(`{"timestamp":%q,"articleId":%d,"source":%q}`, c.at.Format(time.RFC3339), c.article, c.source))
		}
		os, osAt := "unknown", time.Time{}
		for _, o := range oses {
			if o.user == u && !o.at.After(at) && o.at.After(osAt) {
				os, osAt = o.os, o.at
			}
		}
		var mp []purchase
		for _, p := range purchases {
			if p.user == u && !p.at.After(at) {
				mp = append(mp, p)
			}
		}
		sort.Slice(mp, func(i, j int) bool { return mp[i].at.After(mp[j].at) })
		var ps []string
		for _, p := range mp[:min(5, len(mp))] {
			ps = append(ps, fmt.Sprintf(`{"timestamp":%q,"price":%d}`, p.at.Format(time.RFC3339), p.price))
		}
		return fmt.Sprintf(`{"id":%d,"os":%q,"recentClickedArticles":[%s],"recentPurchases":[%s]}`, u, os, strings.Join(evs, ","), strings.Join(ps, ","))
	}

	const q = `query Row($ids: [Int!]!, $at: Time!) { users(ids: $ids, asOf: $at) { id os recentClickedArticles(count: 20) { timestamp articleId source } recentPurchases(count: 5) { timestamp price } } }`
	// Redis holds the series once read (refilled after a current read; a read refills at most
	// RefillConcurrency series at once, so read twice).
	warm := func(e *env) {
		for range 2 {
			r, _ := e.query(`{ users(ids: [1, 2, 3, 4]) { recentClickedArticles { articleId } recentPurchases { price } } }`, nil)
			if len(r.Errors) > 0 {
				t.Fatal(r.Errors)
			}
			ts.WaitBackground()
		}
	}
	for _, set := range []trainingSet{{"memory", mem, nil}, {"dynamodb+redis", ts, nil}, {"dynamodb_fallback", ts, flush}} {
		t.Run(set.name, func(t *testing.T) {
			g, err := gateway.New(gateway.DefaultConfig(), reg, set.store, set.store, nil)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(g)
			defer srv.Close()
			e := &env{t: t, srv: srv, reg: reg}
			if set.name == "dynamodb+redis" {
				warm(e)
				// Purchases keep every event (no dedupe) and fewer than maxCount: Redis holds every
				// purchase of then and answers asOf alone.
				calls.reset()
				r, _ := e.query(`{ users(ids: [1, 2, 3, 4], asOf: "`+instants[2].Format(time.RFC3339)+`") { recentPurchases(count: 5) { price } } }`, nil)
				if len(r.Errors) > 0 || len(calls.of("dynamodb", "Query")) != 0 {
					t.Fatalf("asOf on a warm, whole series read DynamoDB %d times (%v)", len(calls.of("dynamodb", "Query")), r.Errors)
				}
			}
			rows := 0
			for _, at := range instants {
				if set.flush != nil {
					set.flush()
				}
				r, _ := e.query(q, map[string]any{"ids": []int{1, 2, 3, 4}, "at": at.Format(time.RFC3339Nano)})
				if len(r.Errors) > 0 {
					t.Fatalf("as of %s: %v", at, r.Errors)
				}
				var got struct {
					Users []json.RawMessage `json:"users"`
				}
				if err := json.Unmarshal(r.Data, &got); err != nil || len(got.Users) != 4 {
					t.Fatalf("as of %s: %s", at, r.Data)
				}
				for i, row := range got.Users {
					var parsed struct {
						RecentClickedArticles []struct{ Timestamp time.Time }
					}
					_ = json.Unmarshal(row, &parsed)
					for _, ev := range parsed.RecentClickedArticles {
						if ev.Timestamp.After(at) {
							t.Errorf("as of %s, user %d: leaked event of %s", at, i+1, ev.Timestamp)
						}
					}
					var w, g any
					_ = json.Unmarshal([]byte(expected(i+1, at)), &w)
					_ = json.Unmarshal(row, &g)
					wb, _ := json.Marshal(w)
					gb, _ := json.Marshal(g)
					if string(wb) != string(gb) {
						t.Errorf("as of %s, user %d:\ngot  %s\nwant %s", at, i+1, gb, wb)
					}
					rows++
				}
			}
			if rows != 24 {
				t.Fatalf("%d rows", rows)
			}
		})
	}
}

func TestAsOfMustBeATime(t *testing.T) {
	e := newEnv(t)
	r, _ := e.query(`{ user(id: 1, asOf: "yesterday") { os } }`, nil)
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, `Time must be an RFC 3339 string such as "2026-10-15T08:12:00Z", got "yesterday"`) {
		t.Fatalf("errors %+v", r.Errors)
	}
}
