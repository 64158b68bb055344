package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// direct is the hand-written baseline: per scenario the minimal store calls (S1: one ReadStatic
// and one ReadActions, run concurrently; S2: one ReadStatic; S3: one ReadActions, then the
// join's ReadStatic), the same value coercion and defaults, and the same JSON as the GraphQL
// response encoded with encoding/json. Its request body is the GraphQL request's variables.
type direct struct {
	rd      store.Reader
	data    *dataset
	timeout time.Duration
	mux     *http.ServeMux
}

func newDirect(rd store.Reader, data *dataset, timeout time.Duration) *direct {
	d := &direct{rd: rd, data: data, timeout: timeout, mux: http.NewServeMux()}
	d.mux.HandleFunc("POST /direct/S1", d.s1)
	d.mux.HandleFunc("POST /direct/S2", d.s2)
	d.mux.HandleFunc("POST /direct/S3", d.s3)
	d.mux.HandleFunc("POST /direct/S5", d.s5)
	d.mux.HandleFunc("POST /direct/S6", d.s6)
	return d
}

func (d *direct) ServeHTTP(w http.ResponseWriter, r *http.Request) { d.mux.ServeHTTP(w, r) }

// Request bodies (the GraphQL variables).
type userReq struct {
	ID       int   `json:"id"`
	Count    int   `json:"count"`
	LastNSec int64 `json:"lastNSec"`
}

type idsReq struct {
	IDs []int `json:"ids"`
}

// Response bodies, field for field what the GraphQL queries of scenarios.go select.
type (
	s1Resp struct {
		Data struct {
			User *s1User `json:"user"`
		} `json:"data"`
	}
	s1User struct {
		ID                    int             `json:"id"`
		OS                    *string         `json:"os"`
		RegionID              *int64          `json:"regionId"`
		MannerTemperature     *float64        `json:"mannerTemperature"`
		IsVerified            *bool           `json:"isVerified"`
		LastActiveAt          *time.Time      `json:"lastActiveAt"`
		RecentClickedArticles []clickEvent    `json:"recentClickedArticles"`
		RecentSearches        []searchEvent   `json:"recentSearches"`
		RecentPurchases       []purchaseEvent `json:"recentPurchases"`
	}
	clickEvent struct {
		Timestamp time.Time `json:"timestamp"`
		ArticleID *int64    `json:"articleId"`
		Source    *string   `json:"source"`
	}
	searchEvent struct {
		Timestamp   time.Time `json:"timestamp"`
		Query       *string   `json:"query"`
		ResultCount *int64    `json:"resultCount"`
	}
	purchaseEvent struct {
		Timestamp time.Time `json:"timestamp"`
		ArticleID *int64    `json:"articleId"`
		Price     *int64    `json:"price"`
	}
	s2Resp struct {
		Data struct {
			Articles []s2Article `json:"articles"`
		} `json:"data"`
	}
	s2Article struct {
		ID       int     `json:"id"`
		Category *string `json:"category"`
		Price    *int64  `json:"price"`
		RegionID *int64  `json:"regionId"`
		Title    *string `json:"title"`
	}
	s3Resp struct {
		Data struct {
			User *s3User `json:"user"`
		} `json:"data"`
	}
	s3User struct {
		ID                    int           `json:"id"`
		RecentClickedArticles []joinedClick `json:"recentClickedArticles"`
	}
	joinedClick struct {
		Timestamp time.Time  `json:"timestamp"`
		ArticleID *int64     `json:"articleId"`
		Article   *s3Article `json:"article"`
	}
	s3Article struct {
		ID       int     `json:"id"`
		Category *string `json:"category"`
		Price    *int64  `json:"price"`
		RegionID *int64  `json:"regionId"`
	}
)

// Stored event members (JSON with the registry's field names).
type (
	clickMember struct {
		ArticleID *int64  `json:"article_id"`
		Source    *string `json:"source"`
	}
	searchMember struct {
		Query       *string `json:"query"`
		ResultCount *int64  `json:"result_count"`
	}
	purchaseMember struct {
		ArticleID *int64 `json:"article_id"`
		Price     *int64 `json:"price"`
	}
)

func (d *direct) s1(w http.ResponseWriter, r *http.Request) { d.userVector(w, r, nil, nil) }

// userVector answers S1, or S5 with filters on the clicks and the searches.
func (d *direct) userVector(w http.ResponseWriter, r *http.Request, clickFilter, searchFilter *store.Filter) {
	ctx, cancel := context.WithTimeout(r.Context(), d.timeout)
	defer cancel()
	var req userReq
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	u := d.data.user
	id := strconv.Itoa(req.ID)
	sq := store.StaticQuery{Prefix: u.Prefix, IDs: []string{id}, Features: userStatic}
	nowMS := time.Now().UnixMilli()
	queries := make([]store.ActionQuery, len(userActions))
	for i, n := range userActions {
		queries[i] = actionQuery(u.Feature(n), id, req.Count, req.LastNSec, nowMS)
	}
	queries[0].Filter, queries[1].Filter = clickFilter, searchFilter
	var acts map[store.ActionQuery][]store.ActionEvent
	var actErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		acts, actErr = d.rd.ReadActions(ctx, queries)
	}()
	vals := make([]store.StaticValue, sq.Len())
	err := d.rd.ReadStatic(ctx, sq, vals)
	<-done
	if err != nil || actErr != nil {
		http.Error(w, fmt.Sprint(err, actErr), http.StatusInternalServerError)
		return
	}
	out := &s1User{ID: req.ID}
	var errs errList
	out.OS = asPtr[string](errs.static(vals[0], u.Feature("os")))
	out.RegionID = asPtr[int64](errs.static(vals[1], u.Feature("region_id")))
	out.MannerTemperature = asPtr[float64](errs.static(vals[2], u.Feature("manner_temperature")))
	out.IsVerified = asPtr[bool](errs.static(vals[3], u.Feature("is_verified")))
	out.LastActiveAt = asPtr[time.Time](errs.static(vals[4], u.Feature("last_active_at")))
	out.RecentClickedArticles, out.RecentSearches, out.RecentPurchases = decodeUserEvents(&errs, acts, queries)
	if errs.err != nil {
		http.Error(w, errs.err.Error(), http.StatusInternalServerError)
		return
	}
	var resp s1Resp
	resp.Data.User = out
	writeJSONResponse(w, &resp)
}

func (d *direct) s2(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), d.timeout)
	defer cancel()
	var req idsReq
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a := d.data.article
	fs := [4]*registry.Feature{a.Feature("category"), a.Feature("price"), a.Feature("region_id"), a.Feature("title")}
	sq := store.StaticQuery{Prefix: a.Prefix, Features: featureNames(fs[:])}
	for _, id := range req.IDs {
		sq.IDs = append(sq.IDs, strconv.Itoa(id))
	}
	vals := make([]store.StaticValue, sq.Len())
	if err := d.rd.ReadStatic(ctx, sq, vals); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var resp s2Resp
	resp.Data.Articles = make([]s2Article, len(req.IDs))
	var errs errList
	for i, id := range req.IDs {
		v := vals[i*len(fs):]
		resp.Data.Articles[i] = s2Article{
			ID:       id,
			Category: asPtr[string](errs.static(v[0], fs[0])),
			Price:    asPtr[int64](errs.static(v[1], fs[1])),
			RegionID: asPtr[int64](errs.static(v[2], fs[2])),
			Title:    asPtr[string](errs.static(v[3], fs[3])),
		}
	}
	if errs.err != nil {
		http.Error(w, errs.err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSONResponse(w, &resp)
}

func (d *direct) s3(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), d.timeout)
	defer cancel()
	var req userReq
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	u, a := d.data.user, d.data.article
	q := actionQuery(u.Feature("recent_clicked_articles"), strconv.Itoa(req.ID), req.Count, req.LastNSec, time.Now().UnixMilli())
	acts, err := d.rd.ReadActions(ctx, []store.ActionQuery{q})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	evs := acts[q]
	var errs errList
	out := &s3User{ID: req.ID, RecentClickedArticles: make([]joinedClick, len(evs))}
	fs := [3]*registry.Feature{a.Feature("category"), a.Feature("price"), a.Feature("region_id")}
	sq := store.StaticQuery{Prefix: a.Prefix, Features: featureNames(fs[:])}
	for i, e := range evs {
		var m clickMember
		errs.add(json.Unmarshal([]byte(e.Member), &m))
		out.RecentClickedArticles[i] = joinedClick{Timestamp: time.UnixMilli(e.TS).UTC(), ArticleID: m.ArticleID}
		if m.ArticleID != nil {
			sq.IDs = append(sq.IDs, strconv.FormatInt(*m.ArticleID, 10))
		}
	}
	if len(sq.IDs) > 0 {
		vals := make([]store.StaticValue, sq.Len())
		if err := d.rd.ReadStatic(ctx, sq, vals); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		for i := range out.RecentClickedArticles {
			c := &out.RecentClickedArticles[i]
			if c.ArticleID == nil {
				continue
			}
			v := vals[:len(fs)]
			vals = vals[len(fs):]
			c.Article = &s3Article{
				ID:       int(*c.ArticleID),
				Category: asPtr[string](errs.static(v[0], fs[0])),
				Price:    asPtr[int64](errs.static(v[1], fs[1])),
				RegionID: asPtr[int64](errs.static(v[2], fs[2])),
			}
		}
	}
	if errs.err != nil {
		http.Error(w, errs.err.Error(), http.StatusInternalServerError)
		return
	}
	var resp s3Resp
	resp.Data.User = out
	writeJSONResponse(w, &resp)
}

// actionQuery builds the query the resolvers build for (count, lastNSec): count clamped to the
// feature's maxCount, the window bounded by the feature's TTL.
func actionQuery(f *registry.Feature, id string, count int, lastNSec int64, nowMS int64) store.ActionQuery {
	n := f.DefaultCount
	if count > 0 {
		n = count
	}
	n = min(n, f.MaxCount)
	var minTS int64
	if lastNSec > 0 && lastNSec < math.MaxInt64/1000 {
		minTS = max(nowMS-lastNSec*1000, 0)
	}
	if f.TTL > 0 {
		minTS = max(minTS, nowMS-f.TTL.Milliseconds())
	}
	return store.ActionQuery{
		Key:      store.Key{Prefix: f.Entity.Prefix, ID: id, Feature: f.Name},
		Count:    n,
		MinTS:    minTS,
		Dedupe:   f.Dedupe,
		MaxCount: f.MaxCount,
	}
}

// errList keeps the first error of a response.
type errList struct{ err error }

func (e *errList) add(err error) {
	if err != nil && e.err == nil {
		e.err = err
	}
}

// static returns sv as the Go value of f's type, or the feature's default when none is stored.
func (e *errList) static(sv store.StaticValue, f *registry.Feature) any {
	v := f.Default
	if sv.Kind != store.Absent {
		cv, err := registry.Conform(f.Type, f.Container, sv.Value)
		if err != nil {
			e.add(fmt.Errorf("stored value of %s: %w", f.Name, err))
			return nil
		}
		v = cv
	}
	return registry.CanonicalOf(v)
}

func featureNames(fs []*registry.Feature) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

func asPtr[T any](v any) *T {
	if x, ok := v.(T); ok {
		return &x
	}
	return nil
}

func writeJSONResponse(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		// the client went away; nothing to tell it
		return
	}
}
