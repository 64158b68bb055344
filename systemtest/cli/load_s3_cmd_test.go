package cli_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/systemtest/harness"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/parquet-go/parquet-go"
)

// articleRow is a wide Parquet row of article features, as a Feast materialization writes them.
type articleRow struct {
	ArticleID      int64     `parquet:"article_id"`
	EventTimestamp time.Time `parquet:"event_timestamp,timestamp(microsecond)"`
	Title          *string   `parquet:"title,optional"`
	Price          int64     `parquet:"price"`
	Category       string    `parquet:"category"`
	CreatedAt      time.Time `parquet:"created_at,timestamp(millisecond)"`
}

// `featuregraph load --file s3://bucket/prefix/` reads every Parquet part file under the prefix
// from an S3-compatible endpoint into DynamoDB + Redis, and serve answers from what it loaded.
func TestLoadParquetFromS3IntoStores(t *testing.T) {
	stores := harness.TieredArgs(t)
	be := s3mem.New()
	if err := be.CreateBucket("offline"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	title := "Lego 10281"
	parts := [][]articleRow{
		{{ArticleID: 950, EventTimestamp: at, Title: &title, Price: 39000, Category: "toys", CreatedAt: at}},
		{{ArticleID: 951, EventTimestamp: at, Price: 1200, Category: "books", CreatedAt: at},
			{ArticleID: 952, EventTimestamp: at.AddDate(100, 0, 0), Price: 1, Category: "future", CreatedAt: at}}, // an event time far ahead: rejected
	}
	for i, rows := range parts {
		var buf bytes.Buffer
		if err := parquet.Write(&buf, rows); err != nil {
			t.Fatal(err)
		}
		key := "article_features/latest/part-0000" + string(rune('0'+i)) + ".parquet"
		if _, err := be.PutObject("offline", key, map[string]string{}, bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil); err != nil {
			t.Fatal(err)
		}
	}
	be.PutObject("offline", "article_features/latest/_SUCCESS", map[string]string{}, bytes.NewReader(nil), 0, nil)
	s3srv := httptest.NewServer(gofakes3.New(be).Server())
	defer s3srv.Close()

	rejects := filepath.Join(t.TempDir(), "rejects.jsonl")
	var out bytes.Buffer
	args := append([]string{"load", "--file", "s3://offline/article_features/latest/", "--entity", "article",
		"--s3-endpoint", s3srv.URL, "--s3-path-style", "--rejects", rejects, "--max-rejected", "1"}, stores...)
	if err := cli.Run(context.Background(), args, &out, &out, harness.NoEnv); err != nil {
		t.Fatalf("load: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"s3://offline/article_features/latest/part-00000.parquet: 1 records read, 1 fed features (4 store writes)",
		"s3://offline/article_features/latest/part-00001.parquet: 2 records read, 1 fed features (3 store writes), 0 unrouted, 1 rejected",
		"total: s3://offline/article_features/latest/: 3 records read, 2 fed features (7 store writes), 0 unrouted, 1 rejected",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	if rej, err := os.ReadFile(rejects); err != nil || !strings.Contains(string(rej), `"article_id":952`) {
		t.Errorf("rejects file: %v %s", err, rej)
	}
	got := harness.ServeAndQuery(t, stores, `{ articles(ids: [950, 951, 952]) { title price category createdAt } }`)[0]
	want := `{"data":{"articles":[{"category":"toys","createdAt":"2026-11-01T00:00:00Z","price":39000,"title":"Lego 10281"},` +
		`{"category":"books","createdAt":"2026-11-01T00:00:00Z","price":1200,"title":null},` +
		`{"category":null,"createdAt":null,"price":null,"title":null}]}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
