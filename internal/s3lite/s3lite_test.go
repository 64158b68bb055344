package s3lite_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/featuregraph/featuregraph/internal/awslite"
	"github.com/featuregraph/featuregraph/internal/awslite/sigcheck"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/featuregraph/featuregraph/internal/s3lite"
)

// fake is an in-process S3-compatible server (gofakes3) with one bucket, and a client for it
// that lists one key a page, so that every listing follows continuation tokens.
func fake(t *testing.T, bucket string) *s3lite.Client {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	c, err := s3lite.New(context.Background(), s3lite.Config{
		Endpoint: srv.URL, PathStyle: true, Region: "eu-west-1", MaxKeys: 1,
		Credentials: awslite.Static{AccessKeyID: "test", SecretAccessKey: "test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPutListGet(t *testing.T) {
	c := fake(t, "offline")
	ctx := context.Background()
	objects := map[string]string{
		"features/user/latest/part-00000.parquet":  "PAR1 a",
		"features/user/latest/part-00001.parquet":  "PAR1 bb",
		"features/user/latest/_SUCCESS":            "",
		"features/user 2/odd name+plus=eq&amp.csv": "id\n1\n",
		"other/x.jsonl": "{}",
	}
	for k, v := range objects {
		if err := c.Put(ctx, "offline", k, strings.NewReader(v)); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
	got, err := c.List(ctx, "offline", "features/user")
	if err != nil {
		t.Fatal(err)
	}
	want := []s3lite.Object{
		{Key: "features/user 2/odd name+plus=eq&amp.csv", Size: 5},
		{Key: "features/user/latest/_SUCCESS", Size: 0},
		{Key: "features/user/latest/part-00000.parquet", Size: 6},
		{Key: "features/user/latest/part-00001.parquet", Size: 7},
	}
	if len(got) != len(want) {
		t.Fatalf("list: got %v, want %v", got, want)
	}
	for i := range want {
		// S3's ETag of a single-part upload is the MD5 of the content, quoted.
		want[i].ETag = fmt.Sprintf("%q", fmt.Sprintf("%x", md5.Sum([]byte(objects[want[i].Key]))))
		if got[i] != want[i] {
			t.Errorf("list[%d]: got %v, want %v", i, got[i], want[i])
		}
	}
	for k, v := range objects {
		body, size, err := c.Get(ctx, "offline", k)
		if err != nil {
			t.Fatalf("get %s: %v", k, err)
		}
		b, err := io.ReadAll(body)
		body.Close()
		if err != nil || string(b) != v || size != int64(len(v)) {
			t.Errorf("get %s: %q (size %d, %v), want %q", k, b, size, err, v)
		}
	}
	// Put replaces.
	if err := c.Put(ctx, "offline", "other/x.jsonl", strings.NewReader(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	body, _, err := c.Get(ctx, "offline", "other/x.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(body)
	body.Close()
	if string(b) != `{"a":1}` {
		t.Errorf("after a second put: %q", b)
	}
}

func TestMissing(t *testing.T) {
	c := fake(t, "offline")
	ctx := context.Background()
	_, _, err := c.Get(ctx, "offline", "no/such.csv")
	var se *s3lite.Error
	if !errors.Is(err, s3lite.ErrNotFound) || !errors.As(err, &se) || se.Code != "NoSuchKey" {
		t.Fatalf("get of a missing key: %v, want NoSuchKey matching ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "s3://offline/no/such.csv") {
		t.Errorf("error %q does not name the object", err)
	}
	if _, err := c.List(ctx, "nobucket", ""); !errors.Is(err, s3lite.ErrNotFound) {
		t.Errorf("list of a missing bucket: %v, want ErrNotFound", err)
	}
	objs, err := c.List(ctx, "offline", "nothing/")
	if err != nil || len(objs) != 0 {
		t.Errorf("list of an empty prefix: %v, %v", objs, err)
	}
}

// An httptest fake for what gofakes3 does not do: server errors (retried, then given up), a
// wrong region, and the signed headers of a put.
func TestRetriesAndErrors(t *testing.T) {
	var calls atomic.Int32
	var failFirst atomic.Int32
	var lastPut struct {
		hash, auth, path string
		body             []byte
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		switch {
		case strings.HasPrefix(r.URL.Path, "/b/flaky"):
			if failFirst.Add(-1) >= 0 {
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, `<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
				return
			}
			if r.Method == http.MethodPut {
				lastPut.hash, lastPut.auth, lastPut.path = r.Header.Get("X-Amz-Content-Sha256"), r.Header.Get("Authorization"), r.URL.EscapedPath()
				lastPut.body, _ = io.ReadAll(r.Body)
			}
			io.WriteString(w, "ok")
		case r.URL.Path == "/wrong/x":
			w.Header().Set("X-Amz-Bucket-Region", "ap-south-1")
			w.WriteHeader(http.StatusMovedPermanently)
			io.WriteString(w, `<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message></Error>`)
		default:
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
		}
	}))
	defer srv.Close()
	c, err := s3lite.New(context.Background(), s3lite.Config{
		Endpoint: srv.URL, PathStyle: true, Region: "us-east-1",
		Credentials: awslite.Static{AccessKeyID: "AKID", SecretAccessKey: "SECRET"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	failFirst.Store(2) // two 503s, then the answer: 3 attempts
	calls.Store(0)
	payload := []byte("x,y\n1,2\n")
	if err := c.Put(ctx, "b", "flaky/a b.csv", bytes.NewReader(payload)); err != nil {
		t.Fatalf("put after two 503s: %v", err)
	}
	if calls.Load() != 3 {
		t.Errorf("put after two 503s took %d requests, want 3", calls.Load())
	}
	sum := sha256.Sum256(payload)
	if lastPut.hash != hex.EncodeToString(sum[:]) || !bytes.Equal(lastPut.body, payload) {
		t.Errorf("put sent hash %s and body %q, want the payload's", lastPut.hash, lastPut.body)
	}
	if !strings.HasPrefix(lastPut.auth, "AWS4-HMAC-SHA256 Credential=AKID/") || !strings.Contains(lastPut.auth, "/us-east-1/s3/aws4_request") {
		t.Errorf("Authorization %q is not a SigV4 signature for s3 in us-east-1", lastPut.auth)
	}
	if lastPut.path != "/b/flaky/a%20b.csv" {
		t.Errorf("path sent %q, want the key escaped once", lastPut.path)
	}

	failFirst.Store(5) // more 503s than attempts
	calls.Store(0)
	_, _, err = c.Get(ctx, "b", "flaky/x")
	var se *s3lite.Error
	if !errors.As(err, &se) || se.Status != 503 || se.Code != "SlowDown" || calls.Load() != 3 {
		t.Errorf("get against a store answering 503: %v after %d requests, want SlowDown after 3", err, calls.Load())
	}

	calls.Store(0)
	_, _, err = c.Get(ctx, "b", "denied")
	if !errors.As(err, &se) || se.Code != "AccessDenied" || calls.Load() != 1 || errors.Is(err, s3lite.ErrNotFound) {
		t.Errorf("get denied: %v after %d requests, want AccessDenied, not retried", err, calls.Load())
	}

	_, _, err = c.Get(ctx, "wrong", "x")
	if err == nil || !strings.Contains(err.Error(), "region ap-south-1") {
		t.Errorf("get from a bucket in another region: %v, want the bucket's region named", err)
	}
}

func TestConfig(t *testing.T) {
	creds := awslite.Static{AccessKeyID: "a", SecretAccessKey: "b"}
	if _, err := s3lite.New(context.Background(), s3lite.Config{Endpoint: "127.0.0.1:9000", Region: "x", Credentials: creds}); err == nil || !strings.Contains(err.Error(), "http://127.0.0.1:9000") {
		t.Errorf("endpoint without a scheme: %v, want an example URL", err)
	}
	// An endpoint without a region configured signs for us-east-1, with placeholder keys.
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { auth = r.Header.Get("Authorization") }))
	defer srv.Close()
	c, err := s3lite.New(context.Background(), s3lite.Config{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	body, _, err := c.Get(context.Background(), "bkt", "k")
	if err != nil {
		t.Fatal(err)
	}
	body.Close()
	if !strings.Contains(auth, "Credential=local/") || !strings.Contains(auth, "/us-east-1/s3/") {
		t.Errorf("Authorization %q, want placeholder keys for us-east-1", auth)
	}
}

// A listing whose page says it is truncated but gives no (new) continuation token is an error,
// not a listing silently short of objects, nor one that loops on the same page.
func TestListTruncatedWithoutToken(t *testing.T) {
	for name, next := range map[string]string{"no token": "", "same token": "t1"} {
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) > 5 {
					w.WriteHeader(http.StatusForbidden)
					return
				}
				tok := next
				if r.URL.Query().Get("continuation-token") == "" {
					tok = "t1"
				}
				io.WriteString(w, `<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>`+tok+
					`</NextContinuationToken><Contents><Key>p/a</Key><Size>1</Size></Contents></ListBucketResult>`)
			}))
			defer srv.Close()
			c, err := s3lite.New(context.Background(), s3lite.Config{
				Endpoint: srv.URL, PathStyle: true, Region: "us-east-1",
				Credentials: awslite.Static{AccessKeyID: "AKID", SecretAccessKey: "SECRET"},
			})
			if err != nil {
				t.Fatal(err)
			}
			objs, err := c.List(context.Background(), "b", "p/")
			if err == nil || !strings.Contains(err.Error(), "continuation token") {
				t.Fatalf("List = %v, %v; want an error naming the missing continuation token", objs, err)
			}
			if n := calls.Load(); n != 2 {
				t.Errorf("%d requests, want 2 (the first page, then the one without a new token)", n)
			}
		})
	}
}

// A server that answers 503 before reading the body (S3's SlowDown can) leaves the transport
// writing it while the client retries: the retry must wait for the transport to let go of the
// body before rewinding it (under -race, rewinding at once is a data race), and every attempt
// sends the whole body.
func TestRetryWaitsForTheBody(t *testing.T) {
	body := bytes.Repeat([]byte("featuregraph"), 1<<20) // 12 MiB: more than the socket buffers
	var calls atomic.Int32
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `<Error><Code>SlowDown</Code></Error>`)
			return
		}
		got, _ = io.ReadAll(r.Body)
	}))
	defer srv.Close()
	c, err := s3lite.New(context.Background(), s3lite.Config{
		Endpoint: srv.URL, PathStyle: true, Region: "us-east-1",
		Credentials: awslite.Static{AccessKeyID: "AKID", SecretAccessKey: "SECRET"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Put(context.Background(), "b", "big", bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	if !bytes.Equal(got, body) {
		t.Errorf("the retried upload got %d bytes, want the %d of the body", len(got), len(body))
	}
}

// TestSignaturesMatchSDK: every request s3lite sends (keys with spaces, unicode and reserved
// characters; list queries with continuation tokens; a body) carries the signature the AWS
// SDK's v4 signer computes for it, checked on the server side (sigcheck).
func TestSignaturesMatchSDK(t *testing.T) {
	var checked atomic.Int32
	var failure atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := sigcheck.Check(r, body, "SECRET/key+", "s3", true); err != nil {
			failure.Store(err.Error())
		}
		checked.Add(1)
		if r.URL.Query().Get("list-type") == "2" {
			if r.URL.Query().Get("continuation-token") == "" {
				io.WriteString(w, `<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>tok/en+=</NextContinuationToken><Contents><Key>a b</Key><Size>1</Size></Contents></ListBucketResult>`)
				return
			}
			io.WriteString(w, `<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>`)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	c, err := s3lite.New(context.Background(), s3lite.Config{
		Endpoint: srv.URL, PathStyle: true, Region: "eu-west-1",
		Credentials: awslite.Static{AccessKeyID: "AKID", SecretAccessKey: "SECRET/key+", SessionToken: "session/token="},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, key := range []string{"plain.csv", "dir/sub dir/ünï cödé.parquet", "a+b=c&d;e,f@g$h'(i)*!~.jsonl", "%2F already"} {
		if err := c.Put(ctx, "bucket", key, strings.NewReader("payload of "+key)); err != nil {
			t.Fatal(err)
		}
		if err := c.Put(ctx, "bucket", key, strings.NewReader("")); err != nil {
			t.Fatal(err)
		}
		rc, _, err := c.Get(ctx, "bucket", key)
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
		if _, err := c.List(ctx, "bucket", key); err != nil {
			t.Fatal(err)
		}
	}
	if f := failure.Load(); f != nil {
		t.Fatal(f)
	}
	if checked.Load() < 16 {
		t.Fatalf("only %d requests checked", checked.Load())
	}
}
