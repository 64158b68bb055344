package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/featuregraph/featuregraph/internal/s3lite"
)

// S3API is the part of the S3 API an S3 source uses (*s3lite.Client implements it).
type S3API interface {
	List(ctx context.Context, bucket, prefix string) ([]s3lite.Object, error)
	Get(ctx context.Context, bucket, key string) (io.ReadCloser, int64, error)
}

// maxObjectBytes bounds one registry object: YAML files are kilobytes.
const maxObjectBytes = 8 << 20

// S3 is a registry kept under an S3 prefix (s3://bucket/prefix/): the *.yaml and *.yml objects
// under it and AcceptFile at its root, as a sync from Git uploads them (`aws s3 sync
// features/ s3://bucket/prefix/ --delete`). It is polled: one LIST per interval, and the
// objects are read only when the listing's keys or ETags changed. A read lists, gets every
// object, and lists again: when an ETag moved meanwhile (an upload in progress), it reads again,
// so a snapshot is one listing's objects.
type S3 struct {
	url, bucket, prefix string
	api                 S3API
	poll                time.Duration
}

// NewS3 returns the source of an s3://bucket/prefix/ URL, listed every poll (0: DefaultPoll).
func NewS3(url string, api S3API, poll time.Duration) (*S3, error) {
	rest, ok := strings.CutPrefix(url, "s3://")
	if !ok {
		return nil, fmt.Errorf("feature registry %q: not an s3://bucket/prefix/ URL", url)
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return nil, fmt.Errorf("feature registry %q has no bucket: want s3://bucket/prefix/", url)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if api == nil {
		return nil, fmt.Errorf("feature registry %s: no S3 client", url)
	}
	if poll <= 0 {
		poll = DefaultPoll
	}
	return &S3{url: url, bucket: bucket, prefix: prefix, api: api, poll: poll}, nil
}

func (s *S3) String() string { return s.url }

// listing returns the wanted objects under the prefix and a text of their keys and ETags.
func (s *S3) listing(ctx context.Context) ([]s3lite.Object, string, error) {
	objs, err := s.api.List(ctx, s.bucket, s.prefix)
	if err != nil {
		return nil, "", fmt.Errorf("feature registry: %w", err)
	}
	var out []s3lite.Object
	var b strings.Builder
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Key, s.prefix)
		if rel == "" || strings.HasSuffix(rel, "/") || !wanted(rel) {
			continue
		}
		out = append(out, o)
		fmt.Fprintf(&b, "%s\x00%s\x00%d\n", rel, o.ETag, o.Size)
	}
	return out, b.String(), nil
}

// Read reads every object of the current listing.
func (s *S3) Read(ctx context.Context) (*Snapshot, error) {
	for attempt := 0; attempt < 5; attempt++ {
		objs, before, err := s.listing(ctx)
		if err != nil {
			return nil, err
		}
		if len(objs) == 0 {
			return nil, fmt.Errorf("feature registry: no *.yaml objects under %s", s.url)
		}
		files := make(map[string][]byte, len(objs))
		for _, o := range objs {
			b, err := s.get(ctx, o.Key)
			if errors.Is(err, s3lite.ErrNotFound) {
				break // deleted since the listing: list again
			}
			if err != nil {
				return nil, err
			}
			files[strings.TrimPrefix(o.Key, s.prefix)] = b
		}
		_, after, err := s.listing(ctx)
		if err != nil {
			return nil, err
		}
		if after == before && len(files) == len(objs) {
			return newSnapshot(strings.TrimSuffix(s.url, "/"), files), nil
		}
	}
	return nil, fmt.Errorf("feature registry: %s kept changing while it was read (an upload in progress?)", s.url)
}

func (s *S3) get(ctx context.Context, key string) ([]byte, error) {
	body, _, err := s.api.Get(ctx, s.bucket, key)
	if err != nil {
		return nil, fmt.Errorf("feature registry: %w", err)
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, maxObjectBytes+1))
	if err != nil {
		return nil, fmt.Errorf("feature registry: read s3://%s/%s: %w", s.bucket, key, err)
	}
	if len(b) > maxObjectBytes {
		return nil, fmt.Errorf("feature registry: s3://%s/%s is larger than %d bytes", s.bucket, key, maxObjectBytes)
	}
	return b, nil
}

// Watch lists the prefix every poll interval and calls changed when a key or an ETag differs
// from the previous listing (the first listing always calls it, so nothing uploaded since the first Read is missed; a failed listing is retried at
// the next interval, and calls changed so that the failure is reported).
func (s *S3) Watch(ctx context.Context, changed func()) error {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	last, failed := "", false // the first listing calls changed: the caller compares versions
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		_, l, err := s.listing(ctx)
		if err != nil {
			if !failed {
				changed() // the reload reads, fails and says why
			}
			failed = true
			continue
		}
		if l != last || failed {
			last, failed = l, false
			changed()
		}
	}
}
