package registry

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// Downsync says whether and how a feature's online writes are copied to the offline sink
// (package offline). The registry default (a top-level `downsync:` block) applies to every
// feature; a feature's own `downsync:` block overrides the keys it sets.
type Downsync struct {
	// Enabled copies the feature's writes. Default false.
	Enabled bool
	// SamplingRatio is the share of entities whose writes are copied, 0 to 1. Sampling is by a
	// hash of the entity (prefix and id): the same entities are kept on every run and for every
	// feature with the same ratio, and a lower ratio keeps a subset of a higher one's. Default 1.
	SamplingRatio float64
	// MinIntervalByKey keeps at most one write per entity and feature in this much event time
	// (the first one seen); 0 keeps every write. Default 0.
	MinIntervalByKey time.Duration
	// Pos is where the block that enabled or configured it is (the feature's, else the default's).
	Pos Pos
}

// ServedLog says whether served features are logged (package offline), and which share of the
// requests: SamplingRatio for every operation, or Operations[name] for an operation so named.
type ServedLog struct {
	Enabled       bool
	SamplingRatio float64            // default 1
	Operations    map[string]float64 // operation name → ratio, overriding SamplingRatio
	Pos           Pos
}

// Ratio is the sampling ratio of an operation (by name; "" for anonymous operations).
func (s ServedLog) Ratio(operation string) float64 {
	if !s.Enabled {
		return 0
	}
	if r, ok := s.Operations[operation]; ok {
		return r
	}
	return s.SamplingRatio
}

// downsyncBlock is a parsed `downsync:` block: nil fields were not given.
type downsyncBlock struct {
	enabled     *bool
	ratio       *float64
	minInterval *time.Duration
	pos         Pos
}

// applyTo sets the fields the block gives.
func (b *downsyncBlock) applyTo(d *Downsync) {
	if b == nil {
		return
	}
	if b.enabled != nil {
		d.Enabled = *b.enabled
	}
	if b.ratio != nil {
		d.SamplingRatio = *b.ratio
	}
	if b.minInterval != nil {
		d.MinIntervalByKey = *b.minInterval
	}
	d.Pos = b.pos
}

// downsync parses a `downsync:` block (a feature's or the registry default).
func (p *parser) downsync(file string, n *yaml.Node, what string) *downsyncBlock {
	m := p.mapping(file, n, what+" downsync", "enabled", "samplingRatio", "minIntervalByKey")
	b := &downsyncBlock{pos: p.pos(file, n)}
	if v, ok := p.boolean(file, m.byKey["enabled"], "downsync enabled"); ok {
		b.enabled = &v
	}
	if rn := m.byKey["samplingRatio"]; rn != nil {
		if r, ok := p.ratio(file, rn, what+": downsync samplingRatio"); ok {
			b.ratio = &r
		}
	}
	if dn := m.byKey["minIntervalByKey"]; dn != nil {
		d, err := ParseDuration(p.str(file, dn, "minIntervalByKey"))
		if err != nil || d < 0 {
			p.errs.add(p.pos(file, dn), "write a duration such as 1m, 1h or 1d (0 keeps every write)", "%s: downsync minIntervalByKey %q is not a duration", what, dn.Value)
		} else {
			b.minInterval = &d
		}
	}
	return b
}

// ratio reads a number from 0 to 1.
func (p *parser) ratio(file string, n *yaml.Node, what string) (float64, bool) {
	n = deref(n)
	r, err := strconv.ParseFloat(n.Value, 64)
	if n.Kind != yaml.ScalarNode || err != nil || r < 0 || r > 1 || math.IsNaN(r) {
		p.errs.add(p.pos(file, n), "give a number from 0 to 1, e.g. 0.1 for 10%", "%s %q is not a ratio from 0 to 1", what, n.Value)
		return 0, false
	}
	return r, true
}

// servedLog parses the top-level `servedLog:` block.
func (p *parser) servedLog(file string, n *yaml.Node) {
	if p.served != nil {
		p.errs.add(p.pos(file, n), "keep one servedLog block", "servedLog is defined twice (first at %s:%d)", p.served.Pos.File, p.served.Pos.Line)
		return
	}
	m := p.mapping(file, n, "servedLog", "enabled", "samplingRatio", "operations")
	s := &ServedLog{Enabled: true, SamplingRatio: 1, Pos: p.pos(file, n)}
	if v, ok := p.boolean(file, m.byKey["enabled"], "servedLog enabled"); ok {
		s.Enabled = v
	}
	if rn := m.byKey["samplingRatio"]; rn != nil {
		if r, ok := p.ratio(file, rn, "servedLog samplingRatio"); ok {
			s.SamplingRatio = r
		}
	}
	if on := m.byKey["operations"]; on != nil {
		s.Operations = map[string]float64{}
		for _, kv := range p.entries(file, on, "servedLog operations") {
			if r, ok := p.ratio(file, kv[1], fmt.Sprintf("servedLog operations: %s", kv[0].Value)); ok {
				s.Operations[kv[0].Value] = r
			}
		}
	}
	p.served = s
}

// defaultDownsync records the registry's `downsync:` default (one per registry).
func (p *parser) defaultDownsync(file string, n *yaml.Node) {
	if p.downsyncDefault != nil {
		prev := p.downsyncDefault.pos
		p.errs.add(p.pos(file, n), "keep one top-level downsync block", "the default downsync is defined twice (first at %s:%d)", prev.File, prev.Line)
		return
	}
	p.downsyncDefault = p.downsync(file, n, "the registry default")
}

// finishOffline resolves every feature's downsync from the default and its own block.
func (p *parser) finishOffline(reg *Registry) {
	reg.Downsync = Downsync{SamplingRatio: 1}
	p.downsyncDefault.applyTo(&reg.Downsync)
	if p.served != nil {
		reg.ServedLog = *p.served
	}
	for _, e := range reg.Entities {
		for _, f := range e.Features() {
			if f.OnDemand() {
				continue // never stored, never written: nothing to copy offline
			}
			f.Downsync = reg.Downsync
			p.featureDownsync[f].applyTo(&f.Downsync)
		}
	}
}

// DownsyncedFeatures lists the features whose writes are downsynced ("entity.feature", sorted).
func (r *Registry) DownsyncedFeatures() []string {
	var out []string
	for _, e := range r.Entities {
		for _, f := range e.Features() {
			if f.Downsync.Enabled {
				out = append(out, e.Name+"."+f.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}
