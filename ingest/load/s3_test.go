package load_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/featuregraph/featuregraph/ingest/load"
)

// fakeS3 is an in-process S3 server (gofakes3) holding objects, and a client for it that lists
// one key a page.
func fakeS3(t *testing.T, bucket string, objects map[string][]byte) load.S3API {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	for k, b := range objects {
		if _, err := be.PutObject(bucket, k, map[string]string{}, bytes.NewReader(b), int64(len(b)), nil); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	client, err := load.NewS3Client(context.Background(), load.S3Config{Endpoint: srv.URL, Region: "us-east-1", PathStyle: true, MaxKeys: 1})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func gz(t *testing.T, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

// A Feast-style materialization: versioned/<date>/ folders and latest/, Parquet part files with
// _SUCCESS and .crc files beside them. Loading latest/ loads its part files in key order, with
// one rejects file for all of them; a single object loads alone.
func TestLoadS3Prefix(t *testing.T) {
	rows := userRows()
	old := rows[0]
	old.OS = ptr("android")
	old.EventTimestamp = eventTime.AddDate(0, 0, -1)
	api := fakeS3(t, "offline", map[string][]byte{
		"features/user/versioned/2026-10-29/part-00000.parquet": writeParquet(t, "", []userRow{old}),
		"features/user/latest/part-00000.parquet":               writeParquet(t, "", rows[:1]),
		"features/user/latest/part-00001.parquet":               writeParquet(t, "", rows[1:]),
		"features/user/latest/_SUCCESS":                         nil,
		"features/user/latest/.part-00000.parquet.crc":          []byte("crc"),
		"features/values/latest/values.csv.gz":                  gz(t, "entity,id,feature,value,timestamp\nuser,3,os,ios,1793361600000\nuser,3,region_id,x,1793361600000\n"),
		"features/misc/readme.txt":                              []byte("not data"),
	})
	var progress bytes.Buffer
	rejects := filepath.Join(t.TempDir(), "rejects.jsonl")
	f := newFixture(t, load.Config{S3: api, Parquet: load.ParquetConfig{Entity: "user"}, Progress: &progress, RejectsPath: rejects})
	ctx := context.Background()

	sums, err := f.l.LoadURL(ctx, "s3://offline/features/user/latest/")
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 2 || sums[0].File != "s3://offline/features/user/latest/part-00000.parquet" || sums[1].File != "s3://offline/features/user/latest/part-00001.parquet" {
		t.Fatalf("want the two part files in key order, got %+v", sums)
	}
	total := load.Total("s3://offline/features/user/latest/", sums)
	if total.Records != 2 || total.Written != 19 || total.Rejected != 1 || total.RejectsPath != rejects || total.Format != load.Parquet {
		t.Errorf("total %+v", total)
	}
	if v, ok := f.static(t, "u", "1", "os"); !ok || v.Value != "ios" {
		t.Errorf("user 1 os = %+v, %v (latest/ only: ios)", v, ok)
	}
	if rej := readRejects(t, rejects); len(rej) != 1 || rej[0]["file"] != "s3://offline/features/user/latest/part-00001.parquet" {
		t.Errorf("rejects %+v", rej)
	}
	if !strings.Contains(progress.String(), "part-00001.parquet [") || !strings.Contains(progress.String(), "100%") {
		t.Errorf("progress bar %q", progress.String())
	}

	// One object; a gzipped CSV object streamed.
	sums, err = f.l.LoadURL(ctx, "s3://offline/features/user/versioned/2026-10-29/part-00000.parquet")
	if err != nil || len(sums) != 1 || sums[0].Records != 1 {
		t.Fatalf("one object: %+v, %v", sums, err)
	}
	sums, err = f.l.LoadURL(ctx, "s3://offline/features/values/latest")
	if err != nil || len(sums) != 1 || sums[0].Format != load.CSV || sums[0].Written != 1 || sums[0].Rejected != 1 {
		t.Fatalf("CSV object: %+v, %v", sums, err)
	}
	if v, ok := f.static(t, "u", "3", "os"); !ok || v.Value != "ios" {
		t.Errorf("user 3 os = %+v, %v", v, ok)
	}

	// Errors name the problem before anything is loaded.
	for url, want := range map[string]string{
		"s3://offline/features/user/lat": "no object under that prefix",
		"s3://offline/features/misc/":    `readme.txt: load: unknown format "txt"`,
		"s3://missing-bucket/x/":         "list s3://missing-bucket/x/",
		"s3:///x":                        "has no bucket",
	} {
		if _, err := f.l.LoadURL(ctx, url); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want an error containing %q, got %v", url, want, err)
		}
	}
	noS3 := newFixture(t, load.Config{})
	if _, err := noS3.l.LoadURL(ctx, "s3://offline/x"); err == nil || !strings.Contains(err.Error(), "no S3 client") {
		t.Errorf("no client: %v", err)
	}
}
