package catalog

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/featuregraph/featuregraph/metrics"
	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/registry"
)

// Figures is where the live figures come from (*metrics.Metrics).
type Figures interface {
	// Features returns the figures of every feature read or ingested, by "entity.feature".
	Features() map[string]metrics.FeatureFigures
	// IngestTotals returns the counters of every ingestion source of this process.
	IngestTotals() map[string]metrics.IngestCounts
}

// Config configures the catalog page.
type Config struct {
	// Playground is the path of the playground page that example queries open in ("/"); empty
	// when the playground is off (the queries are then shown without a link).
	Playground string
	// Figures gives the live figures of this process; nil (and no Peers) shows the registry
	// only.
	Figures Figures
	// Peers are the /metrics URLs of other featuregraph processes whose figures add to these:
	// the ingest workers (writes, freshness, dead letters) and other gateway replicas (reads).
	// They are scraped when the page is rendered; one that does not answer is named on the page.
	Peers []string
	// PeerTimeout bounds the scrape of the peers. Default 2s.
	PeerTimeout time.Duration
	// RateWindow is the window of the per-second rates. Default 1 minute.
	RateWindow time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Offline gives the status of this process's offline sink (offline.Pipeline.Status).
	// Default nil: none.
	Offline func() offline.Status
	// Registry gives which registry is served and how its latest reload went. Default nil:
	// not shown.
	Registry func() RegistryStatus
}

//go:embed catalog.html
var files embed.FS

var page = template.Must(template.New("catalog.html").Funcs(template.FuncMap{
	"join": strings.Join,
}).ParseFS(files, "catalog.html"))

// ContentSecurityPolicy allows the page nothing but its own inline style: no scripts, no
// external assets.
const ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

// Handler serves the catalog of reg: GET /catalog renders the page (?refresh=N reloads it
// every N seconds), ?format=json the same content as JSON.
type Handler struct {
	reg   *registry.Registry
	cfg   Config
	rates *rates
}

// New builds the catalog handler.
func New(reg *registry.Registry, cfg Config) *Handler {
	if cfg.RateWindow <= 0 {
		cfg.RateWindow = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PeerTimeout <= 0 {
		cfg.PeerTimeout = 2 * time.Second
	}
	return &Handler{reg: reg, cfg: cfg, rates: newRates(cfg.Now(), cfg.RateWindow)}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: the catalog is read with GET", http.StatusMethodNotAllowed)
		return
	}
	v := h.view(r)
	if r.URL.Query().Get("format") == "json" {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(v)
		return
	}
	var b strings.Builder
	if err := page.Execute(&b, v); err != nil {
		http.Error(w, "rendering the catalog: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", ContentSecurityPolicy)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(b.String()))
}

// The view: what the page and its JSON show.
type view struct {
	Generated  string           `json:"generated"`
	Refresh    int              `json:"-"`
	Live       bool             `json:"live"`
	Peers      []string         `json:"peers,omitempty"`
	PeerErrors []string         `json:"peerErrors,omitempty"`
	RateWindow string           `json:"rateWindow"`
	Features   int              `json:"featureCount"`
	Registry   *RegistryStatus  `json:"registry,omitempty"`
	Streams    []streamView     `json:"streams"`
	Sources    []sourceView     `json:"sources"`
	Entities   []entityView     `json:"entities"`
	Playground string           `json:"-"`
	Index      []indexEntry     `json:"-"`
	Offline    *offlineSinkView `json:"offline,omitempty"`
}

type indexEntry struct{ Name, Anchor string }

type streamView struct {
	Name          string `json:"name"`
	SubTopicField string `json:"subTopicField"`
	Description   string `json:"description,omitempty"`
}

type sourceView struct {
	Name        string `json:"name"`
	Events      int64  `json:"events"`
	Unrouted    int64  `json:"unrouted"`
	Rejected    int64  `json:"rejected"`
	DeadLetters int64  `json:"deadLetters"`
	Writes      int64  `json:"writes"`
	Lag         int64  `json:"lag"`
}

type entityView struct {
	Name        string        `json:"name"`
	Anchor      string        `json:"-"`
	TypeName    string        `json:"graphqlType"`
	Query       string        `json:"queryField"`
	Batch       string        `json:"batchQueryField"`
	Prefix      string        `json:"prefix"`
	IDType      string        `json:"idType"`
	Description string        `json:"description,omitempty"`
	Features    []featureView `json:"features"`
}

type featureView struct {
	Name         string             `json:"name"`
	Anchor       string             `json:"-"`
	GraphQL      string             `json:"graphqlField"`
	Kind         string             `json:"featureType"`
	Type         string             `json:"type"`
	Container    string             `json:"container,omitempty"`
	Fields       []fieldView        `json:"fields,omitempty"`
	Owner        string             `json:"owner,omitempty"`
	Tags         []string           `json:"tags,omitempty"`
	Description  string             `json:"description,omitempty"`
	Deprecated   string             `json:"deprecated,omitempty"`
	Default      string             `json:"defaultValue,omitempty"`
	TTL          string             `json:"ttl,omitempty"`
	MaxCount     int                `json:"maxCount,omitempty"`
	DefaultCount int                `json:"defaultCount,omitempty"`
	Dedupe       *bool              `json:"dedupe,omitempty"`
	Rules        []ruleView         `json:"ingestion"`
	Source       *onDemandView      `json:"source,omitempty"` // on-demand features (ondemand.go)
	Example      string             `json:"exampleQuery"`
	ExampleURL   string             `json:"exampleURL,omitempty"`
	Live         *liveView          `json:"live,omitempty"`
	Offline      offlineFeatureView `json:"offline"`
	Defined      string             `json:"definedAt"`
}

type fieldView struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Join string `json:"join,omitempty"`
}

type ruleView struct {
	Stream    string   `json:"streamName"`
	Topic     string   `json:"topic"`
	SubTopic  string   `json:"subTopic,omitempty"`
	EntityID  string   `json:"entityId"`
	Timestamp string   `json:"timestamp,omitempty"`
	Filters   []string `json:"filters,omitempty"`
	Paths     []string `json:"fields"`
}

type liveView struct {
	Reads        int64   `json:"reads"`
	ReadsPerSec  float64 `json:"readsPerSecond"`
	Writes       int64   `json:"writes"`
	WritesPerSec float64 `json:"writesPerSecond"`
	DeadLetters  int64   `json:"deadLetters"`
	Skipped      int64   `json:"skipped"`
	LastEvent    string  `json:"lastEventTime,omitempty"`
	LastWrite    string  `json:"lastWriteTime,omitempty"`
	// Freshness is how old the newest event is; WriteAge how long ago the last write was.
	Freshness string `json:"freshness,omitempty"`
	WriteAge  string `json:"lastWriteAgo,omitempty"`
}

func (h *Handler) view(r *http.Request) view {
	now := h.cfg.Now()
	v := view{Generated: now.UTC().Format("2006-01-02 15:04:05 UTC"), RateWindow: duration(h.cfg.RateWindow),
		Playground: h.cfg.Playground}
	v.Offline = h.offlineSink(now)
	if h.cfg.Registry != nil {
		rs := h.cfg.Registry()
		v.Registry = &rs
	}
	if n, err := strconv.Atoi(r.URL.Query().Get("refresh")); err == nil && n > 0 {
		v.Refresh = max(n, 2)
	}
	var figs map[string]metrics.FeatureFigures
	var perSec map[string]rate
	if h.cfg.Figures != nil || len(h.cfg.Peers) > 0 {
		v.Live = true
		figs = map[string]metrics.FeatureFigures{}
		totals := map[string]metrics.IngestCounts{}
		if h.cfg.Figures != nil {
			figs, totals = h.cfg.Figures.Features(), h.cfg.Figures.IngestTotals()
		}
		if len(h.cfg.Peers) > 0 {
			p := scrapePeers(r.Context(), http.DefaultClient, h.cfg.Peers, h.cfg.PeerTimeout)
			figs = add(figs, p.features)
			for k, c := range p.sources {
				totals[k] = c
			}
			v.Peers, v.PeerErrors = h.cfg.Peers, p.errs
			sort.Strings(v.PeerErrors)
		}
		perSec = h.rates.observe(now, figs)
		for name, c := range totals {
			v.Sources = append(v.Sources, sourceView{Name: name, Events: c.Events, Unrouted: c.Unrouted, Rejected: c.Rejected,
				DeadLetters: c.DeadLetters, Writes: c.Writes, Lag: c.Lag})
		}
		sort.Slice(v.Sources, func(i, j int) bool { return v.Sources[i].Name < v.Sources[j].Name })
	}
	names := make([]string, 0, len(h.reg.Streams))
	for n := range h.reg.Streams {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := h.reg.Streams[n]
		v.Streams = append(v.Streams, streamView{Name: n, SubTopicField: s.SubTopicField, Description: s.Description})
	}
	for _, e := range h.reg.Entities {
		ev := entityView{Name: e.Name, Anchor: "entity-" + e.Name, TypeName: e.TypeName(), Query: e.QueryField(),
			Batch: e.BatchQueryField(), Prefix: e.Prefix, IDType: string(e.IDType), Description: e.Description}
		v.Index = append(v.Index, indexEntry{Name: e.Name, Anchor: ev.Anchor})
		for _, f := range e.Features() {
			fv := h.feature(f)
			fv.Offline = h.offlineFeature(f, v.Offline)
			if figs != nil {
				fv.Live = live(now, figs[e.Name+"."+f.Name], perSec[e.Name+"."+f.Name])
			}
			ev.Features = append(ev.Features, fv)
			v.Features++
		}
		v.Entities = append(v.Entities, ev)
	}
	return v
}

func (h *Handler) feature(f *registry.Feature) featureView {
	fv := featureView{
		Name: f.Name, Anchor: "feature-" + f.Entity.Name + "-" + f.Name, GraphQL: f.Entity.TypeName() + "." + f.GraphQLName(),
		Kind: string(f.FeatureType), Owner: f.Owner, Tags: f.Tags, Description: f.Description, Deprecated: f.Deprecated,
		Example: FeatureExample(h.reg, f), Defined: fmt.Sprintf("%s:%d", f.Pos.File, f.Pos.Line),
	}
	if h.cfg.Playground != "" {
		fv.ExampleURL = h.cfg.Playground + "?query=" + url.QueryEscape(fv.Example)
	}
	fv.Source = onDemandSource(f)
	if f.FeatureType != registry.Action {
		fv.Type = string(f.Type)
		if f.Container != "" && f.Container != registry.Single {
			fv.Container = string(f.Container)
		}
		if f.DefaultValue != nil {
			b, _ := json.Marshal(f.DefaultValue)
			fv.Default = string(b)
		}
	} else {
		fv.Type = f.EventTypeName()
		for _, fl := range f.Fields {
			fv.Fields = append(fv.Fields, fieldView{Name: fl.Name, Type: string(fl.Type), Join: fl.Join})
		}
		fv.MaxCount, fv.DefaultCount = f.MaxCount, f.DefaultCount
		dedupe := f.Dedupe
		fv.Dedupe = &dedupe
		if f.TTL > 0 {
			fv.TTL = duration(f.TTL)
		}
	}
	for _, es := range f.Events {
		rv := ruleView{Stream: es.StreamName, Topic: es.Topic, SubTopic: es.SubTopic, EntityID: es.EntityID, Timestamp: es.Timestamp}
		for _, flt := range es.Filters {
			vals := make([]string, len(flt.Values))
			for i, x := range flt.Values {
				b, _ := json.Marshal(x)
				vals[i] = string(b)
			}
			typ := string(flt.Type)
			if typ == "" {
				typ = string(registry.String)
			}
			rv.Filters = append(rv.Filters, fmt.Sprintf("%s %s [%s] (%s)", flt.Path, flt.Op, strings.Join(vals, ", "), typ))
		}
		for _, ef := range es.Fields {
			p := ef.Path
			if t := ef.Target(); t != lastPathElem(ef.Path) {
				p += " → " + t
			}
			if ef.Type != "" {
				p += " (" + string(ef.Type) + ")"
			}
			rv.Paths = append(rv.Paths, p)
		}
		fv.Rules = append(fv.Rules, rv)
	}
	return fv
}

func lastPathElem(p string) string {
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func live(now time.Time, f metrics.FeatureFigures, r rate) *liveView {
	lv := &liveView{Reads: f.Reads, ReadsPerSec: r.reads, Writes: f.Writes, WritesPerSec: r.writes, DeadLetters: f.DeadLetters,
		Skipped: f.Skipped}
	if !f.LastEvent.IsZero() {
		lv.LastEvent = f.LastEvent.UTC().Format(time.RFC3339)
		lv.Freshness = age(now.Sub(f.LastEvent))
	}
	if !f.LastWrite.IsZero() {
		lv.LastWrite = f.LastWrite.UTC().Format(time.RFC3339)
		lv.WriteAge = age(now.Sub(f.LastWrite))
	}
	return lv
}

// duration writes d in whole days, hours, minutes or seconds when it is one (720h → 30d).
func duration(d time.Duration) string {
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if d >= u.d && d%u.d == 0 {
			return fmt.Sprintf("%d%s", d/u.d, u.name)
		}
	}
	return d.String()
}

// age writes a duration the way a person reads it: 4s, 3m, 5h, 12d (negative: "in the future").
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "in the future"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// rates keeps samples of the counters to turn them into per-second rates over a window, without
// a goroutine: a sample is taken when the page is rendered (at most one every window/12), and
// the rate is measured against the oldest sample inside the window (or against the start of the
// process, when every count was zero).
type rates struct {
	mu      sync.Mutex
	window  time.Duration
	samples []sample
}

type sample struct {
	at     time.Time
	counts map[string][2]int64 // reads, writes
}

type rate struct{ reads, writes float64 }

func newRates(start time.Time, window time.Duration) *rates {
	return &rates{window: window, samples: []sample{{at: start, counts: map[string][2]int64{}}}}
}

func (r *rates) observe(now time.Time, figs map[string]metrics.FeatureFigures) map[string]rate {
	cur := make(map[string][2]int64, len(figs))
	for k, f := range figs {
		cur[k] = [2]int64{f.Reads, f.Writes}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// The base: the oldest sample inside the window, else the newest one (older than it).
	base := r.samples[len(r.samples)-1]
	for _, s := range r.samples {
		if now.Sub(s.at) <= r.window {
			base = s
			break
		}
	}
	if last := r.samples[len(r.samples)-1]; now.Sub(last.at) >= r.window/12 {
		r.samples = append(r.samples, sample{at: now, counts: cur})
	}
	// Keep one sample older than the window (the base when nothing newer is).
	for len(r.samples) > 2 && now.Sub(r.samples[1].at) > r.window {
		r.samples = r.samples[1:]
	}
	out := make(map[string]rate, len(cur))
	secs := now.Sub(base.at).Seconds()
	if secs <= 0 {
		return out
	}
	for k, c := range cur {
		b := base.counts[k]
		out[k] = rate{reads: float64(c[0]-b[0]) / secs, writes: float64(c[1]-b[1]) / secs}
	}
	return out
}
