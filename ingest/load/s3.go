package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/featuregraph/featuregraph/internal/s3lite"
)

// S3API is the part of the S3 API a load uses (*s3lite.Client implements it).
type S3API interface {
	List(ctx context.Context, bucket, prefix string) ([]s3lite.Object, error)
	Get(ctx context.Context, bucket, key string) (io.ReadCloser, int64, error)
}

var _ S3API = (*s3lite.Client)(nil)

// S3Config configures the S3 client of NewS3Client (see s3lite.Config for the defaults).
type S3Config = s3lite.Config

// NewS3Client builds an S3 client with the AWS SDK's default credential chain, as
// internal/awslite implements it (AWS_ACCESS_KEY_ID, AWS_PROFILE, web identity, container and
// instance roles).
func NewS3Client(ctx context.Context, cfg S3Config) (*s3lite.Client, error) {
	return s3lite.New(ctx, cfg)
}

// IsS3 reports whether name is an s3:// URL.
func IsS3(name string) bool { return strings.HasPrefix(name, "s3://") }

// ParseS3URL splits s3://bucket/key into bucket and key (the key may be empty or end in "/").
func ParseS3URL(u string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", fmt.Errorf("load: %q is not an s3://bucket/key URL", u)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("load: %q has no bucket: want s3://bucket/prefix/", u)
	}
	return bucket, key, nil
}

// s3Object is one object to load.
type s3Object struct {
	key  string
	size int64
}

// listS3 returns the objects a URL names: the object itself when the key names one, else every
// object under the key as a prefix ("dir" and "dir/" alike), in key order, without folder
// markers and without files whose name starts with "_" or "." (_SUCCESS, .crc and the like).
func listS3(ctx context.Context, api S3API, bucket, key string) ([]s3Object, error) {
	prefix := key
	var objs []s3Object
	listed, err := api.List(ctx, bucket, prefix)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err) // the error names the bucket and prefix
	}
	for _, o := range listed {
		k := o.Key
		if key != "" && !strings.HasSuffix(key, "/") && k != key && !strings.HasPrefix(k, key+"/") {
			continue // s3://b/data must not load data2/...
		}
		base := path.Base(k)
		if strings.HasSuffix(k, "/") || strings.HasPrefix(base, "_") || strings.HasPrefix(base, ".") {
			continue
		}
		objs = append(objs, s3Object{key: k, size: o.Size})
	}
	for _, o := range objs {
		if o.key == key {
			return []s3Object{o}, nil
		}
	}
	return objs, nil
}

// LoadURL loads a local file (LoadFile) or the objects an s3:// URL names: s3://bucket/key is
// one object, s3://bucket/prefix/ every object under the prefix, in key order (a Feast
// materialization's latest/ folder of part files, say). Every object's format is known (by
// Config.Format or its name) before anything is loaded. It returns one Summary per object; the
// objects share one rejects file, by default "<bucket>-<prefix>.rejected.jsonl" in the working
// directory. An error stops the load at the object that failed.
func (l *Loader) LoadURL(ctx context.Context, url string) ([]Summary, error) {
	if !IsS3(url) {
		s, err := l.LoadFile(ctx, url)
		return []Summary{s}, err
	}
	if l.cfg.S3 == nil {
		return nil, fmt.Errorf("load: %s: no S3 client configured", url)
	}
	bucket, key, err := ParseS3URL(url)
	if err != nil {
		return nil, err
	}
	objs, err := listS3(ctx, l.cfg.S3, bucket, key)
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("load: %s: no object under that prefix", url)
	}
	type planned struct {
		s3Object
		name   string
		format Format
		gz     bool
	}
	plan := make([]planned, len(objs))
	for i, o := range objs {
		name := "s3://" + bucket + "/" + o.key
		format, gz, err := l.formatOf(name)
		if err != nil {
			return nil, fmt.Errorf("%w (under %s: give --format, or load a prefix holding only data files)", err, url)
		}
		plan[i] = planned{o, name, format, gz}
	}
	rejects := &rejectsFile{path: l.cfg.RejectsPath}
	if rejects.path == "" {
		rejects.path = strings.Trim(strings.NewReplacer("/", "-", ":", "").Replace(bucket+"/"+key), "-") + ".rejected.jsonl"
	}
	var sums []Summary
	for _, p := range plan {
		s, err := l.loadS3Object(ctx, bucket, p.s3Object, p.name, p.format, p.gz, rejects)
		sums = append(sums, s)
		if err != nil {
			return sums, errors.Join(err, rejects.close())
		}
	}
	return sums, rejects.close()
}

// loadS3Object streams a JSONL or CSV object, and downloads a Parquet object to a temporary file
// first (Parquet is read from its footer, at the end).
func (l *Loader) loadS3Object(ctx context.Context, bucket string, o s3Object, name string, format Format, gz bool, rejects *rejectsFile) (Summary, error) {
	body, _, err := l.cfg.S3.Get(ctx, bucket, o.key)
	if err != nil {
		return Summary{File: name, Format: format}, fmt.Errorf("load: %w", err) // the error names the object
	}
	defer body.Close()
	if format != Parquet {
		return l.loadFrom(ctx, source{name: name, format: format, gz: gz, r: body, size: o.size}, rejects)
	}
	start := time.Now()
	tmp, err := os.CreateTemp(l.cfg.TempDir, "featuregraph-load-*.parquet")
	if err != nil {
		return Summary{File: name, Format: format}, fmt.Errorf("load: %s: temporary file: %w", name, err)
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	n, err := io.Copy(tmp, body)
	if err != nil {
		return Summary{File: name, Format: format}, fmt.Errorf("load: download %s: %w", name, err)
	}
	s, err := l.loadFrom(ctx, source{name: name, format: format, r: tmp, ra: tmp, size: n}, rejects)
	s.Elapsed = time.Since(start) // the download is part of the load
	return s, err
}

// Total adds up the summaries of the objects of one load, under name.
func Total(name string, sums []Summary) Summary {
	t := Summary{File: name}
	for _, s := range sums {
		t.Records += s.Records
		t.Events += s.Events
		t.Written += s.Written
		t.Unrouted += s.Unrouted
		t.Rejected += s.Rejected
		t.Elapsed += s.Elapsed
		if s.RejectsPath != "" {
			t.RejectsPath = s.RejectsPath
		}
		if t.Format == "" || t.Format == s.Format {
			t.Format = s.Format
		} else {
			t.Format = "mixed"
		}
	}
	return t
}

// CheckRejected is a load's verdict for a pipeline: an error when its summaries rejected more
// than maxRejected records in all (negative: any number is allowed), naming the count and where
// the rejected records are, so that the command exits non-zero. A load whose records were all
// rejected has not loaded anything a pipeline asked for.
func CheckRejected(sums []Summary, maxRejected int64) error {
	if maxRejected < 0 {
		return nil
	}
	t := Total("", sums)
	if t.Rejected <= maxRejected {
		return nil
	}
	where := ""
	if t.RejectsPath != "" {
		where = "; see " + t.RejectsPath
		if len(sums) > 1 {
			where = "; see the rejects file of each object"
		}
	}
	return fmt.Errorf("%d of %d records rejected, more than --max-rejected %d allows%s", t.Rejected, t.Records, maxRejected, where)
}
