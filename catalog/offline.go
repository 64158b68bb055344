package catalog

import (
	"fmt"
	"strconv"
	"time"

	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/registry"
)

// Online to offline: per feature whether its writes are downsynced (and how) and whether
// served features are logged; for the process, its offline sink and the sink's last write.

type offlineFeatureView struct {
	Downsync         bool    `json:"downsync"`
	SamplingRatio    float64 `json:"samplingRatio,omitempty"`
	MinIntervalByKey string  `json:"minIntervalByKey,omitempty"`
	ServedLog        bool    `json:"servedLog"`
	ServedRatio      string  `json:"servedLogRatio,omitempty"`
	SinkLastWrite    string  `json:"sinkLastWrite,omitempty"` // the downsync sink's latest write, in this process
}

type offlineSinkView struct {
	Sink     string             `json:"sink"`
	Downsync *offlineStreamView `json:"downsync,omitempty"`
	Served   *offlineStreamView `json:"servedLog,omitempty"`
}

type offlineStreamView struct {
	Spooled   int64  `json:"spooled"`
	Shipped   int64  `json:"shipped"`
	Pending   int64  `json:"pending"`
	Dropped   int64  `json:"dropped,omitempty"`
	LastWrite string `json:"lastWrite,omitempty"`
	LastAgo   string `json:"lastWriteAgo,omitempty"`
	LastError string `json:"lastError,omitempty"`
}

func streamOf(now time.Time, s *offline.SpoolStats, dropped int64) *offlineStreamView {
	if s == nil {
		return nil
	}
	v := &offlineStreamView{Spooled: s.Appended, Shipped: s.Shipped, Pending: s.Pending, Dropped: dropped, LastError: s.LastError}
	if !s.LastWrite.IsZero() {
		v.LastWrite = s.LastWrite.UTC().Format(time.RFC3339)
		v.LastAgo = age(now.Sub(s.LastWrite))
	}
	return v
}

func (h *Handler) offlineSink(now time.Time) *offlineSinkView {
	if h.cfg.Offline == nil {
		return nil
	}
	st := h.cfg.Offline()
	if st.Sink == "" {
		return nil
	}
	return &offlineSinkView{Sink: st.Sink, Downsync: streamOf(now, st.Downsync, 0), Served: streamOf(now, st.Served, st.ServedDrop)}
}

func (h *Handler) offlineFeature(f *registry.Feature, sink *offlineSinkView) offlineFeatureView {
	v := offlineFeatureView{Downsync: f.Downsync.Enabled && f.Downsync.SamplingRatio > 0, ServedLog: h.reg.ServedLog.Enabled}
	if v.Downsync {
		v.SamplingRatio = f.Downsync.SamplingRatio
		if f.Downsync.MinIntervalByKey > 0 {
			v.MinIntervalByKey = duration(f.Downsync.MinIntervalByKey)
		}
		if sink != nil && sink.Downsync != nil {
			v.SinkLastWrite = sink.Downsync.LastWrite
		}
	}
	if v.ServedLog {
		v.ServedRatio = strconv.FormatFloat(h.reg.ServedLog.SamplingRatio, 'f', -1, 64)
		if n := len(h.reg.ServedLog.Operations); n > 0 {
			v.ServedRatio += fmt.Sprintf(" (%d operations with their own ratio)", n)
		}
	}
	return v
}
