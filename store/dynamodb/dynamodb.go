// Package dynamodb is the DynamoDB backend, the source of truth. One table holds every feature:
// pk (S) = "<prefix>#<id>#<feature>"; a static value is the item with sk (N) = 0, its value in v
// (native DynamoDB type) and its event time in ts; each action event is an item with sk = its
// time in ms plus a fraction derived from the member (so two events of one millisecond never
// overwrite each other), the member in m (S), its fields in v (M), ts, and exp (TTL, epoch s).
package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/featuregraph/featuregraph/internal/awslite"
	"github.com/featuregraph/featuregraph/internal/backoff"
	"github.com/featuregraph/featuregraph/store"
)

const backend = "dynamodb"

// ErrTableMissing is matched (errors.Is) by the error of a call to a table that does not exist.
// It is neither store.ErrUnavailable nor store.ErrInvalid: retrying does not help, and the
// request was not malformed; the operator must run init-table.
var ErrTableMissing = errors.New("the DynamoDB table does not exist")

// Store is the DynamoDB backend. It is safe for concurrent use.
type Store struct {
	db  *client
	cfg Config
	now func() time.Time
}

var _ store.Store = (*Store)(nil)

// maxConnsPerHost bounds the connections to the DynamoDB endpoint.
const maxConnsPerHost = 128

// New validates cfg and builds the client: the region and credentials come from cfg, else from
// the environment and the shared AWS files as the AWS SDK finds them (internal/awslite), the
// endpoint from cfg.Endpoint, else AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL (or the
// profile's endpoint_url), else the region's. It makes no call to DynamoDB (Ping does), and
// fetches no credentials yet.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	var creds awslite.Provider
	switch {
	case cfg.AccessKeyID != "":
		creds = awslite.Static{AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey, Source: "dynamodb config"}
	case cfg.Endpoint != "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "":
		// A local emulator without credentials configured: sign with placeholders.
		creds = awslite.Static{AccessKeyID: "local", SecretAccessKey: "local", Source: "placeholder for a local endpoint"}
	}
	aws, err := awslite.Load(awslite.Options{Credentials: creds})
	if err != nil {
		return nil, fmt.Errorf("dynamodb: load AWS config: %w", err)
	}
	region := cfg.Region
	if region == "" {
		region = aws.Region
	}
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = aws.EndpointURL("DYNAMODB")
	}
	if region == "" {
		if endpoint == "" {
			return nil, errors.New("dynamodb config: Region: no region configured (set Region or AWS_REGION)")
		}
		region = "us-east-1"
	}
	if endpoint == "" {
		endpoint = "https://dynamodb." + region + ".amazonaws.com"
		if strings.HasPrefix(region, "cn-") {
			endpoint += ".cn"
		}
	}
	delays := cfg.backoff()
	db := &client{
		hc:          newHTTPClient(aws),
		endpoint:    strings.TrimSuffix(endpoint, "/"),
		region:      region,
		creds:       aws.Credentials,
		maxAttempts: cfg.MaxAttempts,
		delay: func(retry int) time.Duration {
			return min(delays.Delay(retry-1), cfg.RetryMaxDelay)
		},
		quota: retryQuota{avail: quotaMax},
	}
	return newStore(db, cfg), nil
}

func newStore(db *client, cfg Config) *Store {
	return &Store{db: db, cfg: cfg, now: time.Now}
}

// Table returns the table name.
func (s *Store) Table() string { return s.cfg.Table }

// Ping implements store.Pinger with a GetItem of a key that never exists: it checks the
// endpoint, the credentials and the table at the cost of one small read.
func (s *Store) Ping(ctx context.Context) error {
	_, err := call(s, "GetItem", 1, func() (item, error) {
		return s.db.getItem(ctx, s.cfg.Table, staticKey("featuregraph#ping#ping"), "pk", false)
	})
	return err
}

// Close implements store.Store. The client holds nothing that needs closing.
func (s *Store) Close() error { return nil }

// CreateTable creates the table (pk S HASH, sk N RANGE, on-demand billing), waits until it is
// active and enables TTL on exp. An existing table, or TTL already enabled, is fine. An
// endpoint that does not implement UpdateTimeToLive (dynalite) is tolerated: expired rows are
// filtered on read anyway.
func (s *Store) CreateTable(ctx context.Context) error {
	table := s.cfg.Table
	_, err := call(s, "CreateTable", 0, func() (struct{}, error) { return struct{}{}, s.db.createTable(ctx, table) })
	if err != nil && errorCode(err) != "ResourceInUseException" {
		return err
	}
	if err := s.waitActive(ctx, 5*time.Minute); err != nil {
		return s.wrap("DescribeTable", err)
	}
	type ttl struct{ attr, status string }
	d, err := call(s, "DescribeTimeToLive", 0, func() (ttl, error) {
		a, st, err := s.db.describeTimeToLive(ctx, table)
		return ttl{a, st}, err
	})
	if err != nil {
		return err
	}
	if d.attr == "exp" && (d.status == "ENABLED" || d.status == "ENABLING") {
		return nil
	}
	_, err = call(s, "UpdateTimeToLive", 0, func() (struct{}, error) { return struct{}{}, s.db.updateTimeToLive(ctx, table, "exp") })
	if errorCode(err) == "UnknownOperationException" {
		return nil
	}
	return err
}

// waitActive polls DescribeTable until the table is ACTIVE (a table not found yet is waited
// for), as the SDK's TableExists waiter: 100 ms doubling up to 2 s, with jitter, at most
// timeout.
func (s *Store) waitActive(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := 100 * time.Millisecond
	for {
		status, err := s.db.describeTableStatus(ctx, s.cfg.Table)
		if err == nil && status == "ACTIVE" {
			return nil
		}
		if err != nil && errorCode(err) != "ResourceNotFoundException" {
			return err
		}
		t := time.NewTimer(jitter(delay))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			if err == nil {
				err = fmt.Errorf("table status %s", status)
			}
			return fmt.Errorf("waiting for table %s to become ACTIVE: %w (%w)", s.cfg.Table, ctx.Err(), err)
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// call runs one client call, reports it to the Observer and wraps its error.
func call[T any](s *Store, op string, items int, f func() (T, error)) (T, error) {
	start := time.Now()
	out, err := f()
	reported := err
	if errorCode(err) == "ConditionalCheckFailedException" {
		reported = nil // an older event, not a failure
	}
	s.cfg.Observer.BackendCall(backend, op, items, time.Since(start), reported)
	if err != nil {
		return out, s.wrap(op, err)
	}
	return out, nil
}

// wrap maps a client error to a store error, once, where it leaves the client: a request
// DynamoDB rejects as malformed is store.ErrInvalid; a missing table is ErrTableMissing (naming
// init-table); everything else — network errors, 5xx, throttling the retries could not ride
// out, missing credentials, the request deadline — is store.ErrUnavailable. A
// ConditionalCheckFailedException stays matchable (errorCode).
func (s *Store) wrap(op string, err error) error {
	sentinel := store.ErrUnavailable
	switch errorCode(err) {
	case "ValidationException", "SerializationException", "ItemCollectionSizeLimitExceededException", "ConditionalCheckFailedException":
		sentinel = store.ErrInvalid
	case "ResourceNotFoundException":
		// Not retried (it is not ErrUnavailable): waiting does not create the table.
		return &store.BackendError{Backend: backend, Op: op, Err: fmt.Errorf("%w: table %q: create it with `featuregraph init-table --dynamodb-table %s` (with the same --dynamodb-endpoint/--dynamodb-region): %w",
			ErrTableMissing, s.cfg.Table, s.cfg.Table, err)}
	}
	return &store.BackendError{Backend: backend, Op: op, Err: fmt.Errorf("%w: %s: %w", sentinel, s.cfg.Table, err)}
}

// backoff is the retry delay of client calls and of unprocessed batch items: RetryBaseDelay
// doubling per attempt up to RetryMaxDelay, ±50%.
func (c Config) backoff() backoff.Backoff {
	return backoff.Backoff{Initial: c.RetryBaseDelay, Max: c.RetryMaxDelay, Multiplier: 2, Jitter: 0.5}
}

// sleepBackoff waits before retry round attempt. It returns false without waiting when the wait
// would pass the context's deadline or the context is done.
func (s *Store) sleepBackoff(ctx context.Context, attempt int) bool {
	return s.cfg.backoff().Sleep(ctx, attempt)
}
