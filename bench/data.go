package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// The features the scenarios read, by registry name.
var (
	userStatic     = []string{"os", "region_id", "manner_temperature", "is_verified", "last_active_at"}
	userActions    = []string{"recent_clicked_articles", "recent_searches", "recent_purchases"}
	articleStatic  = []string{"category", "price", "region_id", "title"} // S2 reads all four
	articleJoined  = []string{"category", "price", "region_id"}          // S3 reads three per clicked article
	osNames        = []string{"ios", "android", "web"}
	clickSources   = []string{"feed", "search", "push"}
	categories     = []string{"digital", "furniture", "sports", "toys", "fashion", "books", "kitchen", "garden", "pets", "beauty", "games", "tickets"}
	searchTerms    = []string{"road bike", "lego technic", "ipad", "desk", "camping chair", "air fryer", "switch", "stroller", "monitor", "sofa"}
	titleAdjective = []string{"Almost new", "Used", "Vintage", "Boxed", "Spare", "Refurbished"}
)

// dataConfig sizes the generated data.
type dataConfig struct {
	Users    int
	Articles int
	// Events is how many events each user has per action feature, all within the last 7 days
	// (the features' maxCount trims the stored series).
	Events int
	Seed   uint64
}

// dataset is what the scenarios need to know about the registry and the generated data.
type dataset struct {
	cfg     dataConfig
	reg     *registry.Registry
	user    *registry.Entity
	article *registry.Entity
	now     time.Time // generation time: events lie in (now-6.5d, now-1m]
}

func newDataset(reg *registry.Registry, cfg dataConfig) (*dataset, error) {
	d := &dataset{cfg: cfg, reg: reg, user: reg.Entity("user"), article: reg.Entity("article"), now: time.Now()}
	if d.user == nil || d.article == nil {
		return nil, fmt.Errorf("the registry has no user or article entity")
	}
	for _, n := range append(append([]string{}, userStatic...), userActions...) {
		if d.user.Feature(n) == nil {
			return nil, fmt.Errorf("the registry has no feature user.%s", n)
		}
	}
	for _, n := range articleStatic {
		if d.article.Feature(n) == nil {
			return nil, fmt.Errorf("the registry has no feature article.%s", n)
		}
	}
	return d, nil
}

// staticWrites returns the static values of users [from, to) (ids from 1) or, with article set,
// of articles.
func (d *dataset) staticWrites(article bool, from, to int) []store.StaticWrite {
	e, names := d.user, userStatic
	if article {
		e, names = d.article, articleStatic
	}
	ts := d.now.Add(-30 * 24 * time.Hour).UnixMilli()
	out := make([]store.StaticWrite, 0, (to-from)*len(names))
	for id := from; id < to; id++ {
		rng := rand.New(rand.NewPCG(d.cfg.Seed, uint64(id)<<1|b2u(article)))
		sid := strconv.Itoa(id)
		for _, n := range names {
			f := e.Feature(n)
			v, err := registry.ToValue(f.Type, f.Container, d.staticValue(rng, article, n, id))
			if err != nil {
				panic("bench: generated value of " + n + ": " + err.Error())
			}
			out = append(out, store.StaticWrite{Key: store.Key{Prefix: e.Prefix, ID: sid, Feature: n}, Value: v, TS: ts,
				History: f.History, HistoryTTL: f.HistoryTTL}) // os keeps history (S6)
		}
	}
	return out
}

func (d *dataset) staticValue(rng *rand.Rand, article bool, feature string, id int) any {
	if article {
		switch feature {
		case "category":
			return categories[rng.IntN(len(categories))]
		case "price":
			return int64(1000 * (1 + rng.IntN(2000)))
		case "region_id":
			return int64(1 + rng.IntN(500))
		case "title":
			return fmt.Sprintf("%s %s #%d", titleAdjective[rng.IntN(len(titleAdjective))], categories[rng.IntN(len(categories))], id)
		}
	} else {
		switch feature {
		case "os":
			return osNames[rng.IntN(len(osNames))]
		case "region_id":
			return int64(1 + rng.IntN(500))
		case "manner_temperature":
			return math.Round((30+rng.Float64()*15)*10) / 10
		case "is_verified":
			return rng.IntN(2) == 1
		case "last_active_at":
			return d.now.Add(-time.Duration(rng.Int64N(int64(7 * 24 * time.Hour)))).Truncate(time.Second).UTC()
		}
	}
	panic("bench: no generator for feature " + feature)
}

// actionWrites returns the events of users [from, to): Events per action feature, oldest first,
// all inside the last 6.5 days so that lastNSec = 7 days keeps them during a long run.
func (d *dataset) actionWrites(from, to int) ([]store.ActionWrite, error) {
	nowMS := d.now.UnixMilli()
	span := int64(6*24*time.Hour+12*time.Hour) / int64(time.Millisecond)
	out := make([]store.ActionWrite, 0, (to-from)*len(userActions)*d.cfg.Events)
	for id := from; id < to; id++ {
		rng := rand.New(rand.NewPCG(d.cfg.Seed^0x9e3779b97f4a7c15, uint64(id)))
		sid := strconv.Itoa(id)
		for _, n := range userActions {
			f := d.user.Feature(n)
			key := store.Key{Prefix: d.user.Prefix, ID: sid, Feature: n}
			for i := range d.cfg.Events {
				// evenly spread with jitter, oldest first
				ts := nowMS - 60_000 - span + span*int64(i)/int64(d.cfg.Events) + rng.Int64N(span/int64(d.cfg.Events)/2+1)
				member, err := store.EncodeMember(d.eventFields(rng, n), ts, f.Dedupe)
				if err != nil {
					return nil, err
				}
				out = append(out, store.ActionWrite{Key: key, TS: ts, Member: member, MaxCount: f.MaxCount, TTL: f.TTL})
			}
		}
	}
	return out, nil
}

func (d *dataset) eventFields(rng *rand.Rand, feature string) map[string]any {
	switch feature {
	case "recent_clicked_articles":
		return map[string]any{"article_id": int64(1 + rng.IntN(d.cfg.Articles)), "source": clickSources[rng.IntN(len(clickSources))]}
	case "recent_searches":
		return map[string]any{"query": searchTerms[rng.IntN(len(searchTerms))], "result_count": int64(rng.IntN(500))}
	case "recent_purchases":
		return map[string]any{"article_id": int64(1 + rng.IntN(d.cfg.Articles)), "price": int64(1000 * (1 + rng.IntN(2000)))}
	}
	panic("bench: no generator for action feature " + feature)
}

// loadTarget is where generated data goes: static values and action events may go to different
// stores (the redis+dynamodb backend puts events only into Redis, see backends.go).
type loadTarget struct {
	static  store.StaticWriter
	actions store.ActionWriter
	// parallel is how many chunks are written at once.
	parallel int
}

// load writes every user's and article's data in chunks.
func (d *dataset) load(ctx context.Context, t loadTarget, progress func(string)) error {
	const chunk = 500 // entities per store call
	type job func() error
	var jobs []job
	for from := 1; from <= d.cfg.Users; from += chunk {
		to := min(from+chunk, d.cfg.Users+1)
		jobs = append(jobs, func() error {
			if err := t.static.WriteStatic(ctx, d.staticWrites(false, from, to)); err != nil {
				return fmt.Errorf("write user static values: %w", err)
			}
			// events in calls of 20 users (3600 events at 60 per feature): one Redis pipeline
			// must finish within the client's read timeout
			for f := from; f < to; f += 20 {
				aw, err := d.actionWrites(f, min(f+20, to))
				if err != nil {
					return err
				}
				if err := t.actions.WriteActions(ctx, aw); err != nil {
					return fmt.Errorf("write user events: %w", err)
				}
			}
			return nil
		})
	}
	for from := 1; from <= d.cfg.Articles; from += chunk {
		to := min(from+chunk, d.cfg.Articles+1)
		jobs = append(jobs, func() error {
			if err := t.static.WriteStatic(ctx, d.staticWrites(true, from, to)); err != nil {
				return fmt.Errorf("write article static values: %w", err)
			}
			return nil
		})
	}
	return runJobs(ctx, max(t.parallel, 1), len(jobs), func(i int) error { return jobs[i]() }, progress)
}

// runJobs runs n jobs with at most par at once and stops at the first error.
func runJobs(ctx context.Context, par, n int, f func(i int) error, progress func(string)) error {
	next := make(chan int)
	errs := make(chan error, par)
	for range par {
		go func() {
			for i := range next {
				if err := f(i); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	start := time.Now()
	lastReport := start
	var firstErr error
feed:
	for i := range n {
		select {
		case next <- i:
		case err := <-errs:
			firstErr = err
			par--
			break feed
		case <-ctx.Done():
			firstErr = ctx.Err()
			break feed
		}
		if progress != nil && time.Since(lastReport) > 5*time.Second {
			lastReport = time.Now()
			progress(fmt.Sprintf("%d/%d chunks in %s", i, n, time.Since(start).Round(time.Second)))
		}
	}
	close(next)
	for range par {
		if err := <-errs; err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
