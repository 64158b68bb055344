package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// S5 and S6 are S1 (the user vector) with the two read arguments that are more than a plain
// read: S5 filters two of the action features (the store scans the series for matches), S6
// answers as of a past instant (asOf: one day ago; os from its history, the events up to then).

// s5Sources and s5NotQuery are S5's filters: clicks from feed or search, searches but one term.
var (
	s5Sources  = []string{"feed", "search"}
	s5NotQuery = "ipad"
)

// s6Lag is how far back S6's asOf is from the data's generation time.
const s6Lag = 24 * time.Hour

func moreReadScenarios(o *options, m map[string]*readScenario) {
	users := o.data.Users
	at := time.Now().Add(-s6Lag).UTC().Truncate(time.Second) // after every static write, among the events
	vars := func(withAt bool) func(rng *rand.Rand, b []byte) []byte {
		return func(rng *rand.Rand, b []byte) []byte {
			b = append(b, `{"id":`...)
			b = strconv.AppendInt(b, int64(1+rng.IntN(users)), 10)
			b = append(b, `,"count":`...)
			b = strconv.AppendInt(b, int64(o.s1Count), 10)
			b = append(b, `,"lastNSec":`...)
			b = strconv.AppendInt(b, sevenDays, 10)
			if withAt {
				b = append(b, `,"at":"`...)
				b = at.AppendFormat(b, time.RFC3339)
				b = append(b, '"')
			}
			return append(b, '}')
		}
	}
	check := func(statics ...string) func(map[string]any) error {
		return func(data map[string]any) error {
			u, _ := data["user"].(map[string]any)
			if u == nil {
				return fmt.Errorf("no user: %v", data)
			}
			for _, s := range statics {
				if u[s] == nil {
					return fmt.Errorf("user.%s missing: %v", s, u)
				}
			}
			for _, f := range []string{"recentClickedArticles", "recentSearches", "recentPurchases"} {
				if l, _ := u[f].([]any); len(l) == 0 || len(l) > o.s1Count {
					return fmt.Errorf("%s has %d events, want 1..%d", f, len(l), o.s1Count)
				}
			}
			return nil
		}
	}
	m["S5"] = &readScenario{
		name:  "S5",
		about: fmt.Sprintf("S1 with filters: clicks from feed or search, searches but %q (count %d, lastNSec 7d)", s5NotQuery, o.s1Count),
		query: `query S5($id: Int!, $count: Int!, $lastNSec: Int!) {
  user(id: $id) {
    id os regionId mannerTemperature isVerified lastActiveAt
    recentClickedArticles(count: $count, lastNSec: $lastNSec, filter: {source: {in: ["feed", "search"]}}) { timestamp articleId source }
    recentSearches(count: $count, lastNSec: $lastNSec, filter: {query: {ne: "ipad"}}) { timestamp query resultCount }
    recentPurchases(count: $count, lastNSec: $lastNSec) { timestamp articleId price }
  }
}`,
		vars:  vars(false),
		check: check("os", "lastActiveAt"),
	}
	m["S6"] = &readScenario{
		name:  "S6",
		about: fmt.Sprintf("S1 as of a day ago (asOf: os from its history, 3 action features, count %d, lastNSec 7d)", o.s1Count),
		query: `query S6($id: Int!, $count: Int!, $lastNSec: Int!, $at: Time!) {
  user(id: $id, asOf: $at) {
    id os
    recentClickedArticles(count: $count, lastNSec: $lastNSec) { timestamp articleId source }
    recentSearches(count: $count, lastNSec: $lastNSec) { timestamp query resultCount }
    recentPurchases(count: $count, lastNSec: $lastNSec) { timestamp articleId price }
  }
}`,
		vars:  vars(true),
		check: check("os"),
	}
}

// s5Filters are S5's filters as store filters (what the executors build from the arguments).
func s5Filters() (clicks, searches *store.Filter) {
	in := store.Cond{Field: "source", Op: store.OpIn}
	for _, s := range s5Sources {
		in.Values = append(in.Values, store.StringValue(s))
	}
	return &store.Filter{Conds: []store.Cond{in}},
		&store.Filter{Conds: []store.Cond{{Field: "query", Op: store.OpNe, Values: []store.Value{store.StringValue(s5NotQuery)}}}}
}

type s6Req struct {
	userReq
	At time.Time `json:"at"`
}

type (
	s6Resp struct {
		Data struct {
			User *s6User `json:"user"`
		} `json:"data"`
	}
	s6User struct {
		ID                    int             `json:"id"`
		OS                    *string         `json:"os"`
		RecentClickedArticles []clickEvent    `json:"recentClickedArticles"`
		RecentSearches        []searchEvent   `json:"recentSearches"`
		RecentPurchases       []purchaseEvent `json:"recentPurchases"`
	}
)

// s5 is S1's direct twin with the filters in the action queries.
func (d *direct) s5(w http.ResponseWriter, r *http.Request) {
	clicks, searches := s5Filters()
	d.userVector(w, r, clicks, searches)
}

// s6 reads os as of the instant (ReadStaticAsOf) and the action features up to it.
func (d *direct) s6(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), d.timeout)
	defer cancel()
	var req s6Req
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	u := d.data.user
	id := strconv.Itoa(req.ID)
	nowMS, atMS := time.Now().UnixMilli(), req.At.UnixMilli()
	queries := make([]store.ActionQuery, len(userActions))
	for i, n := range userActions {
		f := u.Feature(n)
		q := actionQuery(f, id, req.Count, 0, nowMS)
		q.MaxTS = atMS
		q.MinTS = max(atMS-req.LastNSec*1000, 0)
		if f.TTL > 0 {
			q.MinTS = max(q.MinTS, nowMS-f.TTL.Milliseconds())
		}
		queries[i] = q
	}
	h, ok := store.As[store.StaticHistoryReader](d.rd)
	if !ok {
		http.Error(w, "the store keeps no history", http.StatusInternalServerError)
		return
	}
	var acts map[store.ActionQuery][]store.ActionEvent
	var actErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		acts, actErr = d.rd.ReadActions(ctx, queries)
	}()
	key := store.Key{Prefix: u.Prefix, ID: id, Feature: "os"}
	vals, err := h.ReadStaticAsOf(ctx, []store.Key{key}, atMS)
	<-done
	if err != nil || actErr != nil {
		http.Error(w, fmt.Sprint(err, actErr), http.StatusInternalServerError)
		return
	}
	var errs errList
	out := &s6User{ID: req.ID, OS: asPtr[string](errs.static(vals[key], u.Feature("os")))}
	out.RecentClickedArticles, out.RecentSearches, out.RecentPurchases = decodeUserEvents(&errs, acts, queries)
	if errs.err != nil {
		http.Error(w, errs.err.Error(), http.StatusInternalServerError)
		return
	}
	var resp s6Resp
	resp.Data.User = out
	writeJSONResponse(w, &resp)
}

// decodeUserEvents decodes the three action features of the user vector.
func decodeUserEvents(errs *errList, acts map[store.ActionQuery][]store.ActionEvent, queries []store.ActionQuery) ([]clickEvent, []searchEvent, []purchaseEvent) {
	clicks := acts[queries[0]]
	c := make([]clickEvent, len(clicks))
	for i, e := range clicks {
		var m clickMember
		errs.add(json.Unmarshal([]byte(e.Member), &m))
		c[i] = clickEvent{Timestamp: time.UnixMilli(e.TS).UTC(), ArticleID: m.ArticleID, Source: m.Source}
	}
	searches := acts[queries[1]]
	s := make([]searchEvent, len(searches))
	for i, e := range searches {
		var m searchMember
		errs.add(json.Unmarshal([]byte(e.Member), &m))
		s[i] = searchEvent{Timestamp: time.UnixMilli(e.TS).UTC(), Query: m.Query, ResultCount: m.ResultCount}
	}
	purchases := acts[queries[2]]
	p := make([]purchaseEvent, len(purchases))
	for i, e := range purchases {
		var m purchaseMember
		errs.add(json.Unmarshal([]byte(e.Member), &m))
		p[i] = purchaseEvent{Timestamp: time.UnixMilli(e.TS).UTC(), ArticleID: m.ArticleID, Price: m.Price}
	}
	return c, s, p
}
