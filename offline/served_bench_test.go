package offline_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/store"
)

type countSink struct{ rows int }

func (c *countSink) Write(_ context.Context, rows []offline.ServedRow) error {
	c.rows += len(rows)
	return nil
}
func (*countSink) String() string { return "count" }

// BenchmarkServedLogP1 measures the log's own cost of a P1-shaped request (50 static reads):
// rows built and Parquet encoded (a DirStore on a temporary directory), per request.
func BenchmarkServedLogP1(b *testing.B) {
	reg := exampleWith(b, map[string]string{"offline.yaml": "servedLog: {}\n"})
	reads := make([]offline.ServedRead, 50)
	for i := range reads {
		reads[i] = offline.ServedRead{Key: store.Key{Prefix: "u", ID: "12345", Feature: "os"}, Value: store.StaticValue{Value: store.StringValue("value-" + strconv.Itoa(i)), TS: 1700000000000}}
	}
	for _, sinkName := range []string{"count", "parquet"} {
		b.Run(sinkName, func(b *testing.B) {
			var sink offline.Sink[offline.ServedRow] = &countSink{}
			if sinkName == "parquet" {
				ps := offline.NewParquetSink[offline.ServedRow](offline.DirStore{Dir: b.TempDir()})
				sink = ps
			}
			l := offline.NewServedLog(reg, sink, offline.ServedConfig{Buffer: 1 << 30, FlushInterval: time.Hour})
			b.ResetTimer()
			for range b.N {
				l.Log(&offline.ServedRequest{ID: "0123456789abcdef0123456789abcdef", Operation: "P1", OperationHash: "abc", Time: time.Now(), Reads: reads})
			}
			if err := l.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			l.Close(context.Background())
		})
	}
}
