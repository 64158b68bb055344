package app

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"strings"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/kafka"
	"github.com/featuregraph/featuregraph/metrics"
	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/store"
)

// The parts of a reload that serve and ingest add to their LiveRegistry.

// SetupLive is Setup over a live registry: it reads the registry from features (a directory or
// s3://bucket/prefix/) and opens the store with a value decoder that follows reloads
// (rt.Live's first part). The caller closes rt.Store, adds its other parts and runs rt.Live.
func SetupLive(ctx context.Context, log *slog.Logger, features string, lo LiveOptions, so *StoreOptions, m *metrics.Metrics) (*Runtime, error) {
	live, regFS, err := OpenLive(ctx, features, lo, log, m)
	if err != nil {
		return nil, err
	}
	reg := live.Serving().Registry
	dec := NewDecoder(reg)
	var obs store.Observer
	if m != nil {
		obs = m
	}
	st, err := OpenStore(ctx, so, log, obs, dec)
	if err != nil {
		return nil, err
	}
	if err := st.CheckAtStart(ctx, log); err != nil {
		return nil, errors.Join(err, st.Close())
	}
	live.Add(dec.Part())
	return &Runtime{Log: log, Reg: reg, RegFS: regFS, Store: st, Live: live}, nil
}

// GatewayPart is the gateway's part of a reload: the schema, plans, caches, cost table,
// playground example and catalog of the new registry (gateway.Generation).
func GatewayPart(g *gateway.Gateway) Part {
	return Part{Name: "gateway", Build: func(gen *Generation) (func(), error) {
		next, err := g.Build(gen.Registry, gateway.RegistryInfo{Fingerprint: gen.Fingerprint, LoadedAt: gen.LoadedAt})
		if err != nil {
			return nil, err
		}
		return func() { g.Publish(next) }, nil
	}}
}

// FirstGeneration names the generation the gateway starts with (New built it without a
// fingerprint).
func FirstGeneration(g *gateway.Gateway, live *LiveRegistry) error {
	gen := live.Serving()
	next, err := g.Build(gen.Registry, gateway.RegistryInfo{Fingerprint: gen.Fingerprint, LoadedAt: gen.LoadedAt})
	if err != nil {
		return err
	}
	g.Publish(next)
	return nil
}

// LiveRouter is a dispatcher following reloads, with its per-feature observer.
type LiveRouter struct {
	*ingest.LiveDispatcher
	Observer *ingest.FeatureObserver // nil without metrics
	opts     []ingest.DispatcherOption
}

// NewLiveRouter routes by the registry live serves, counting per feature into m (nil: not
// counted), and adds its part to live.
func NewLiveRouter(live *LiveRegistry, m *metrics.Metrics) *LiveRouter {
	reg := live.Serving().Registry
	r := &LiveRouter{Observer: FeatureObserver(reg, m)}
	if r.Observer != nil {
		r.opts = append(r.opts, ingest.WithFeatureObserver(r.Observer))
	}
	if m != nil {
		r.opts = append(r.opts, ingest.WithSkipRecorder(m))
	}
	r.LiveDispatcher = ingest.NewLiveDispatcher(ingest.NewDispatcher(reg, r.opts...))
	live.Add(Part{Name: "ingestion rules", Build: func(gen *Generation) (func(), error) {
		d := ingest.NewDispatcher(gen.Registry, r.opts...)
		return func() {
			if r.Observer != nil {
				r.Observer.Update(gen.Registry)
			}
			r.Swap(d)
		}, nil
	}})
	return r
}

// KafkaTopicsPart makes the Kafka worker consume the topics a reloaded registry reads that it
// does not consume yet (each read as the one stream the registry uses it with), unless the
// topics were given explicitly (explicit) — then, and for a topic read from several streams,
// it logs that they are not consumed. streams, when not empty, limits the topics to those of
// these streams (--kafka-streams).
func KafkaTopicsPart(k *kafka.Consumer, explicit bool, streams []string, log *slog.Logger) Part {
	return Part{Name: "kafka topics", Build: func(gen *Generation) (func(), error) {
		return func() {
			consumed := k.Topics()
			want := map[string]string{}
			var skipped []string
			for topic, ss := range ingest.NewDispatcher(gen.Registry).Topics() {
				if _, ok := consumed[topic]; ok || (len(streams) > 0 && !anyIn(ss, streams)) {
					continue
				}
				if explicit || len(ss) != 1 {
					skipped = append(skipped, topic)
					continue
				}
				want[topic] = ss[0]
			}
			if added := k.Consume(want); len(added) > 0 {
				log.Info("registry reloaded: consuming the topics it added", "topics", strings.Join(added, ","))
			}
			if len(skipped) > 0 {
				sort.Strings(skipped)
				log.Warn("registry reloaded: it reads topics this worker does not consume (--kafka-topics is explicit, or the topic is read from several streams); add them and restart it",
					"topics", strings.Join(skipped, ","))
			}
		}, nil
	}}
}

func anyIn(ss, set []string) bool {
	for _, s := range ss {
		for _, x := range set {
			if s == x {
				return true
			}
		}
	}
	return false
}

// OfflinePart makes the offline pipeline follow reloads: downsync and the served log take the
// new registry's blocks (p nil: no --offline-sink, and a registry that enables either is
// refused, naming the flag; serving says whether this process serves, and so logs what it
// served).
func OfflinePart(p *offline.Pipeline, serving bool) Part {
	return Part{Name: "offline", Build: func(gen *Generation) (func(), error) {
		if p == nil {
			if err := offline.NeedsSink(gen.Registry, serving); err != nil {
				return nil, err
			}
			return func() {}, nil
		}
		return func() { p.SetRegistry(gen.Registry) }, nil
	}}
}
