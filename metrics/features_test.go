package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/metrics"
)

func TestFeatureFigures(t *testing.T) {
	m := metrics.New()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.FeatureRead("user", "os", 2)
			m.FeatureWritten("user", "os", 3, int64(1_700_000_000_000+i*1000))
		}()
	}
	wg.Wait()
	m.FeatureFailed("user", "os", 1)
	m.FeatureFailed("article", "price", 2)
	m.FeatureSkipped("article", "price", "missing_path")
	m.FeatureSkipped("article", "price", "other")
	figs := m.Features()
	os := figs["user.os"]
	if os.Reads != 16 || os.Writes != 24 || os.DeadLetters != 1 || !os.LastEvent.Equal(time.UnixMilli(1_700_000_007_000)) || os.LastWrite.IsZero() {
		t.Fatalf("user.os: %+v", os)
	}
	if p := figs["article.price"]; p.DeadLetters != 2 || p.Skipped != 2 || p.Writes != 0 || !p.LastEvent.IsZero() {
		t.Fatalf("article.price: %+v", p)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`featuregraph_feature_writes_total{entity="user",feature="os"} 24`,
		`featuregraph_feature_dead_letters_total{entity="article",feature="price"} 2`,
		`featuregraph_feature_last_event_timestamp_seconds{entity="user",feature="os"} 1.700000007e+09`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(string(b), `featuregraph_feature_last_event_timestamp_seconds{entity="article"`) {
		t.Error("a feature never written has a last event time")
	}
}
