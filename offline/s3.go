package offline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3API is the part of the S3 API the sink uses (*s3.Client implements it). Another client
// plugs in through ObjectStore directly.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// S3Store is an ObjectStore on an S3 bucket under a key prefix.
type S3Store struct {
	API    S3API
	Bucket string
	Prefix string // "" or ending in "/"
}

var _ ObjectStore = S3Store{}

// Put uploads the object (S3 makes it visible whole, or not at all).
func (s S3Store) Put(ctx context.Context, key string, body []byte) error {
	_, err := s.API.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.Prefix + key),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body)))})
	if err != nil {
		return fmt.Errorf("offline: put s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, err)
	}
	return nil
}

// List returns the keys (relative to Prefix) under prefix.
func (s S3Store) List(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	var token *string
	for {
		res, err := s.API.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(s.Prefix + prefix), ContinuationToken: token})
		if err != nil {
			return nil, fmt.Errorf("offline: list s3://%s/%s%s: %w", s.Bucket, s.Prefix, prefix, err)
		}
		for _, o := range res.Contents {
			out = append(out, aws.ToString(o.Key)[len(s.Prefix):])
		}
		if !aws.ToBool(res.IsTruncated) || res.NextContinuationToken == nil {
			break
		}
		token = res.NextContinuationToken
	}
	sort.Strings(out)
	return out, nil
}

// Get downloads the object.
func (s S3Store) Get(ctx context.Context, key string) ([]byte, error) {
	res, err := s.API.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.Prefix + key)})
	if err != nil {
		return nil, fmt.Errorf("offline: get s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("offline: get s3://%s/%s%s: %w", s.Bucket, s.Prefix, key, err)
	}
	return b, nil
}

func (s S3Store) String() string { return "s3://" + s.Bucket + "/" + s.Prefix }
