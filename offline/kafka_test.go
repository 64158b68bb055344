package offline_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/store"
)

// TestKafkaSink: with --offline-sink kafka://topic every spooled row is a JSON record of the
// topic, keyed by entity, once the spool ships it.
func TestKafkaSink(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "features-offline"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	reg := testRegistry(t, 1)
	spool := offline.DefaultSpoolConfig()
	spool.FlushInterval = 10 * time.Millisecond
	p, err := offline.Open(context.Background(), reg, offline.Config{Sink: "kafka://features-offline", SpoolDir: t.TempDir(),
		KafkaBrokers: kc.ListenAddrs(), Spool: spool, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	var writes []store.StaticWrite
	for i := range 50 {
		writes = append(writes, store.StaticWrite{Key: store.Key{Prefix: "u", ID: itoaT(i), Feature: "score"}, Value: store.IntValue(int64(i)), TS: 1700000000000 + int64(i)})
	}
	if err := p.Tap().Stored(context.Background(), []ingest.Stored{{Source: "push", Static: writes}}); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.ConsumeTopics("features-offline"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	seen := map[string]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for len(seen) < 50 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			var row offline.Row
			if err := json.Unmarshal(r.Value, &row); err != nil {
				t.Fatalf("record %s: %v", r.Value, err)
			}
			if string(r.Key) != "user:"+row.EntityID || row.Feature != "score" || row.ValueInt == nil || row.Source != "push" || row.Fingerprint == "" {
				t.Fatalf("record key %s value %s", r.Key, r.Value)
			}
			seen[row.EntityID] = true
		})
	}
	if len(seen) != 50 {
		t.Fatalf("%d of 50 rows on the topic", len(seen))
	}
	if s := p.Status(); s.Sink != "kafka://features-offline" || s.Downsync.Shipped != 50 {
		t.Errorf("status %+v %+v", s, s.Downsync)
	}
}

func itoaT(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestOpenErrors: a configuration that cannot work is refused with the flag to fix.
func TestOpenErrors(t *testing.T) {
	reg := testRegistry(t, 0.5)
	cases := map[string]struct {
		cfg  offline.Config
		want string
	}{
		"no sink":          {offline.Config{}, "but no sink is given: set --offline-sink"},
		"s3 without spool": {offline.Config{Sink: "s3://lake/x/", S3: fakeAPI{}}, "give a spool directory (--offline-spool)"},
		"s3 no bucket":     {offline.Config{Sink: "s3:///x/", S3: fakeAPI{}, SpoolDir: t.TempDir()}, "has no bucket"},
		"kafka no brokers": {offline.Config{Sink: "kafka://t", SpoolDir: t.TempDir()}, "give the Kafka brokers (--kafka-brokers)"},
		"scheme":           {offline.Config{Sink: "gs://lake/"}, "use a directory, file:///dir, s3://bucket/prefix/ or kafka://topic"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := offline.Open(context.Background(), reg, c.cfg)
			if err == nil {
				p.Close(context.Background())
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want %q", err, c.want)
			}
		})
	}
}

type fakeAPI struct{ offline.S3API }
