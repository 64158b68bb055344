// Package s3lite is a small S3 client: Get, List and Put of objects over the S3 REST API, signed
// with internal/awslite's SigV4 signer and credential chain (the AWS SDK's default chain). It
// exists so that the binary does not compile the AWS SDK.
//
// It speaks to AWS S3 (virtual-hosted addressing) and to S3-compatible stores (MinIO, Ceph,
// gofakes3) through Config.Endpoint, usually with Config.PathStyle.
package s3lite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/featuregraph/featuregraph/internal/awslite"
)

// API is what a user of S3 objects needs; *Client implements it. Tests and decorators can
// provide their own.
type API interface {
	// Get returns the object's body (the caller closes it) and its size in bytes.
	Get(ctx context.Context, bucket, key string) (io.ReadCloser, int64, error)
	// List returns every object whose key starts with prefix, in key order (S3's order).
	List(ctx context.Context, bucket, prefix string) ([]Object, error)
	// Put stores body under key, replacing any object there. body is read from its start; it
	// is read twice (once for the payload hash) and rewound on a retry.
	Put(ctx context.Context, bucket, key string, body io.ReadSeeker) error
}

var _ API = (*Client)(nil)

// Object is one listed object.
type Object struct {
	Key  string
	Size int64
	// ETag identifies the object's content (S3 changes it on every write), as listed.
	ETag string
}

// ErrNotFound is what errors of a missing object or bucket match (errors.Is).
var ErrNotFound = errors.New("not found")

// Error is an S3 error response.
type Error struct {
	Op, Bucket, Key string
	Status          int    // HTTP status
	Code            string // S3's error code: NoSuchKey, AccessDenied, SignatureDoesNotMatch...
	Message         string
	Region          string // the bucket's region, when S3 says the request went to the wrong one
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("s3: %s s3://%s/%s: %d %s", e.Op, e.Bucket, e.Key, e.Status, e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Region != "" {
		msg += fmt.Sprintf(" (the bucket is in region %s: set the region to it)", e.Region)
	}
	return msg
}

// Is makes a missing object or bucket match ErrNotFound.
func (e *Error) Is(target error) bool {
	return target == ErrNotFound && (e.Status == http.StatusNotFound || e.Code == "NoSuchKey" || e.Code == "NoSuchBucket")
}

// Config configures New. Every field documents its default.
type Config struct {
	// Region is the bucket's region. Default: AWS_REGION, AWS_DEFAULT_REGION, the profile's;
	// "us-east-1" when Endpoint is set and none is configured.
	Region string
	// Endpoint overrides the service URL for S3-compatible stores (MinIO, Ceph, a local fake),
	// e.g. http://127.0.0.1:9000. Default: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (or the
	// profile's endpoint_url), else https://s3.<region>.amazonaws.com.
	Endpoint string
	// PathStyle addresses buckets as <endpoint>/<bucket> instead of <bucket>.<endpoint>, which
	// most S3-compatible stores need. Default false (buckets whose name is not a DNS label,
	// with dots say, and endpoints given by IP address are always addressed path-style).
	PathStyle bool
	// Credentials signs the requests. Default: the AWS SDK's default credential chain
	// (awslite.Load: AWS_ACCESS_KEY_ID, AWS_PROFILE and the shared files, web identity,
	// container and instance-role credentials); placeholder keys when Endpoint is set and
	// neither AWS_ACCESS_KEY_ID nor AWS_PROFILE is.
	Credentials awslite.Provider
	// HTTPClient sends the requests. Default: a client with http.DefaultTransport.
	HTTPClient *http.Client
	// MaxKeys is the page size of List. Default 1000 (S3's maximum).
	MaxKeys int
	// MaxAttempts is how often a request is tried when S3 answers 5xx or 429 or the connection
	// fails. Default 3.
	MaxAttempts int
}

// Client is an S3 client. It is safe for concurrent use.
type Client struct {
	cfg      Config
	endpoint *url.URL
	signer   *awslite.Signer
}

// New builds a client, resolving the region and the credentials as Config says.
func New(ctx context.Context, cfg Config) (*Client, error) {
	creds := cfg.Credentials
	if creds == nil && cfg.Endpoint != "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "" {
		// A local S3-compatible store without credentials configured: sign with placeholders.
		creds = awslite.Static{AccessKeyID: "local", SecretAccessKey: "local", Source: "placeholder for a local endpoint"}
	}
	awsCfg, err := awslite.Load(awslite.Options{Credentials: creds})
	if err != nil {
		return nil, fmt.Errorf("s3: load AWS config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = awsCfg.Region
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = awsCfg.EndpointURL("S3")
	}
	cfg.Credentials = awsCfg.Credentials
	if cfg.Region == "" {
		if cfg.Endpoint == "" {
			return nil, errors.New("s3: no region configured (set --s3-region or AWS_REGION)")
		}
		cfg.Region = "us-east-1"
	}
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = "https://s3." + cfg.Region + ".amazonaws.com"
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("s3: endpoint %q: want a URL like http://127.0.0.1:9000", cfg.Endpoint)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: awsCfg.Transport()} // with AWS_CA_BUNDLE's roots
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 1000
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	return &Client{cfg: cfg, endpoint: u, signer: &awslite.Signer{
		DisableURIPathEscaping: true, // S3 signs the path as sent, escaped once
	}}, nil
}

// Get returns the object's body and size.
func (c *Client) Get(ctx context.Context, bucket, key string) (io.ReadCloser, int64, error) {
	resp, err := c.do(ctx, "get", http.MethodGet, bucket, key, nil, nil)
	if err != nil {
		return nil, 0, err
	}
	return resp.Body, resp.ContentLength, nil
}

// listResult is the part of a ListObjectsV2 answer List reads.
type listResult struct {
	IsTruncated           bool   `xml:"IsTruncated"`
	NextContinuationToken string `xml:"NextContinuationToken"`
	Contents              []struct {
		Key  string `xml:"Key"`
		Size int64  `xml:"Size"`
		ETag string `xml:"ETag"`
	} `xml:"Contents"`
}

// List returns the objects under prefix, following continuation tokens.
func (c *Client) List(ctx context.Context, bucket, prefix string) ([]Object, error) {
	var objs []Object
	token := ""
	for {
		q := url.Values{"list-type": {"2"}, "prefix": {prefix}, "max-keys": {strconv.Itoa(c.cfg.MaxKeys)}}
		if token != "" {
			q.Set("continuation-token", token)
		}
		resp, err := c.do(ctx, "list", http.MethodGet, bucket, "", q, nil)
		if err != nil {
			if e := (*Error)(nil); errors.As(err, &e) {
				e.Key = prefix // name what was listed, not the bucket's root
			}
			return nil, err
		}
		var page listResult
		err = xml.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("s3: list s3://%s/%s: read the answer: %w", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			objs = append(objs, Object{Key: o.Key, Size: o.Size, ETag: o.ETag})
		}
		if !page.IsTruncated {
			return objs, nil
		}
		// A truncated page without a new token would end the listing short (objects silently
		// missing) or list the same page forever: say so instead.
		if page.NextContinuationToken == "" || page.NextContinuationToken == token {
			return nil, fmt.Errorf("s3: list s3://%s/%s: the answer is truncated but gives no new continuation token (after %d objects)", bucket, prefix, len(objs))
		}
		token = page.NextContinuationToken
	}
}

// Put stores body under key.
func (c *Client) Put(ctx context.Context, bucket, key string, body io.ReadSeeker) error {
	resp, err := c.do(ctx, "put", http.MethodPut, bucket, key, nil, body)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

const emptySHA256 = awslite.EmptySHA256

// do sends a signed request, retrying 5xx, 429 and connection failures, and turns an error
// answer into an *Error. The caller closes the body of the answer it gets.
func (c *Client) do(ctx context.Context, op, method, bucket, key string, query url.Values, body io.ReadSeeker) (*http.Response, error) {
	if bucket == "" {
		return nil, fmt.Errorf("s3: %s: no bucket", op)
	}
	u := c.objectURL(bucket, key)
	if query != nil {
		u.RawQuery = strings.ReplaceAll(query.Encode(), "+", "%20")
	}
	hash, size := emptySHA256, int64(0)
	if body != nil {
		var err error
		if hash, size, err = hashBody(body); err != nil {
			return nil, fmt.Errorf("s3: %s s3://%s/%s: read the body: %w", op, bucket, key, err)
		}
	}
	var lastErr error
	var sent *attemptBody // the body the previous attempt gave the transport
	for attempt := 0; attempt < c.cfg.MaxAttempts; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(100<<(2*(attempt-1))) * time.Millisecond): // 100 ms, 400 ms...
			case <-ctx.Done():
				return nil, errors.Join(ctx.Err(), lastErr)
			}
		}
		if sent != nil {
			// The transport may still be writing the previous attempt's body (a server that
			// answers 503 before reading it all): rewinding it under the transport is a data race
			// and a corrupt upload. It always closes the body when done with it.
			select {
			case <-sent.done:
			case <-ctx.Done():
				return nil, errors.Join(ctx.Err(), lastErr)
			}
		}
		req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
		if err != nil {
			return nil, fmt.Errorf("s3: %s s3://%s/%s: %w", op, bucket, key, err)
		}
		req.URL = u // keep RawPath as built: the signature covers it
		if body != nil {
			if _, err := body.Seek(0, io.SeekStart); err != nil {
				return nil, fmt.Errorf("s3: %s s3://%s/%s: rewind the body: %w", op, bucket, key, err)
			}
			req.ContentLength = size
			if size == 0 {
				req.Body = http.NoBody // else Go sends an empty body chunked, without Content-Length
			} else {
				sent = &attemptBody{r: body, done: make(chan struct{})}
				req.Body = sent
			}
		}
		req.Header.Set("X-Amz-Content-Sha256", hash)
		creds, err := c.cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return nil, fmt.Errorf("s3: %s s3://%s/%s: credentials: %w", op, bucket, key, err)
		}
		c.signer.Sign(req, creds, "s3", c.cfg.Region, hash, time.Now())
		resp, err := c.cfg.HTTPClient.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("s3: %s s3://%s/%s: %w", op, bucket, key, err)
			}
			lastErr = fmt.Errorf("s3: %s s3://%s/%s: %w", op, bucket, key, err)
			continue
		}
		if resp.StatusCode/100 == 2 {
			return resp, nil
		}
		lastErr = readError(resp, op, bucket, key)
		if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return nil, lastErr
		}
	}
	return nil, lastErr
}

// readError reads S3's XML error answer (a HEAD or some proxies send none).
func readError(resp *http.Response, op, bucket, key string) error {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Op: op, Bucket: bucket, Key: key, Status: resp.StatusCode, Region: resp.Header.Get("X-Amz-Bucket-Region")}
	var body struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(b, &body) == nil {
		e.Code, e.Message = body.Code, body.Message
	}
	if e.Code == "" {
		e.Code = http.StatusText(resp.StatusCode)
	}
	if resp.StatusCode != http.StatusMovedPermanently && e.Code != "PermanentRedirect" && e.Code != "AuthorizationHeaderMalformed" {
		e.Region = "" // a region hint only where the request went to the wrong region
	}
	return e
}

// objectURL is the URL of key in bucket (of the bucket itself when key is empty), path-style or
// virtual-hosted. Each key segment is escaped once, as S3's signature expects.
func (c *Client) objectURL(bucket, key string) *url.URL {
	u := *c.endpoint
	base := strings.TrimSuffix(u.Path, "/")
	p := base + "/"
	if c.cfg.PathStyle || !dnsLabel(bucket) || net.ParseIP(u.Hostname()) != nil {
		p += bucket + "/"
	} else {
		u.Host = bucket + "." + u.Host
	}
	p += key
	u.Path = p
	u.RawPath = escapePath(p)
	return &u
}

// dnsLabel reports whether bucket can be a host name label (virtual-hosted addressing over TLS).
func dnsLabel(bucket string) bool {
	if len(bucket) < 3 || len(bucket) > 63 {
		return false
	}
	for i := 0; i < len(bucket); i++ {
		ch := bucket[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') {
			return false
		}
	}
	return bucket[0] != '-' && bucket[len(bucket)-1] != '-'
}

// escapePath URI-encodes every byte of p but the unreserved ones and '/', as SigV4 wants.
func escapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		ch := p[i]
		if ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '/' {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

// hashBody returns the hex SHA-256 and the size of body, read from its start.
func hashBody(body io.ReadSeeker) (string, int64, error) {
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return "", 0, err
	}
	h := sha256.New()
	n, err := io.Copy(h, body)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// attemptBody is the body of one attempt: done is closed when the transport has closed it (it
// has stopped reading), so that the next attempt may rewind the reader.
type attemptBody struct {
	r    io.Reader
	once sync.Once
	done chan struct{}
}

func (b *attemptBody) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *attemptBody) Close() error {
	b.once.Do(func() { close(b.done) })
	return nil
}
