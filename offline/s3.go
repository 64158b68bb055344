package offline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/featuregraph/featuregraph/internal/s3lite"
)

// S3API is the part of an S3 client the sink uses (*s3lite.Client implements it; another client
// plugs in by implementing these three calls, or ObjectStore directly).
type S3API interface {
	Put(ctx context.Context, bucket, key string, body io.ReadSeeker) error
	List(ctx context.Context, bucket, prefix string) ([]s3lite.Object, error)
	Get(ctx context.Context, bucket, key string) (io.ReadCloser, int64, error)
}

var _ S3API = (*s3lite.Client)(nil)

// S3Store is an ObjectStore on an S3 bucket under a key prefix.
type S3Store struct {
	API    S3API
	Bucket string
	Prefix string // "" or ending in "/"
}

var _ ObjectStore = S3Store{}

// Put uploads the object (S3 makes it visible whole, or not at all).
func (s S3Store) Put(ctx context.Context, key string, body []byte) error {
	if err := s.API.Put(ctx, s.Bucket, s.Prefix+key, bytes.NewReader(body)); err != nil {
		return fmt.Errorf("offline: put s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, err)
	}
	return nil
}

// List returns the keys (relative to Prefix) under prefix.
func (s S3Store) List(ctx context.Context, prefix string) ([]string, error) {
	objs, err := s.API.List(ctx, s.Bucket, s.Prefix+prefix)
	if err != nil {
		return nil, fmt.Errorf("offline: list s3://%s/%s%s: %w", s.Bucket, s.Prefix, prefix, err)
	}
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.Key[len(s.Prefix):])
	}
	sort.Strings(out)
	return out, nil
}

// Get downloads the object.
func (s S3Store) Get(ctx context.Context, key string) ([]byte, error) {
	body, _, err := s.API.Get(ctx, s.Bucket, s.Prefix+key)
	if err != nil {
		return nil, fmt.Errorf("offline: get s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, err)
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("offline: get s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, err)
	}
	return b, nil
}

func (s S3Store) String() string { return "s3://" + s.Bucket + "/" + s.Prefix }
