package dynamodb

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// Config configures the DynamoDB backend. A zero field takes the default named in its comment;
// DefaultConfig returns them all filled in.
type Config struct {
	// Table is the table holding every feature. Default "featuregraph".
	Table string
	// Region is the AWS region. Default: AWS_REGION, AWS_DEFAULT_REGION or the profile's
	// (internal/awslite, as the AWS SDK finds it); "us-east-1" when
	// Endpoint is set and none is configured.
	Region string
	// Endpoint overrides the service URL, e.g. "http://127.0.0.1:8000" for DynamoDB Local or
	// dynalite. Default: AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL or the profile's
	// endpoint_url, else the regional AWS endpoint.
	Endpoint string
	// AccessKeyID and SecretAccessKey are static credentials. Default: the AWS SDK's default
	// credential chain (internal/awslite.Load); when Endpoint is set and the environment holds no credentials (AWS_ACCESS_KEY_ID,
	// AWS_PROFILE), the placeholder pair "local"/"local" that local emulators accept.
	AccessKeyID     string
	SecretAccessKey string
	// Concurrency bounds the DynamoDB calls one store call runs at once (BatchGetItem rounds,
	// BatchWriteItem batches, Query and PutItem calls). Default 8.
	Concurrency int
	// MaxAttempts is how often the client tries one call that failed with a retryable error
	// (throttling, 5xx, a network error) before giving up. Default 3.
	MaxAttempts int
	// RetryBaseDelay and RetryMaxDelay shape the exponential backoff with jitter used both by the
	// client's retries and by the retries of UnprocessedKeys/UnprocessedItems. Defaults 20ms and 1s.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
	// UnprocessedRetries is how many rounds of UnprocessedKeys (BatchGetItem) or
	// UnprocessedItems (BatchWriteItem) are retried, within the request deadline, before the
	// call fails with store.ErrIncomplete. Default 8.
	UnprocessedRetries int
	// MaxQueryItems bounds the items one action query reads while it looks for Count distinct
	// members (dedupe over-fetch). Past it the newest members found so far are returned.
	// Default 5000.
	MaxQueryItems int
	// ConsistentRead makes reads strongly consistent (twice the read capacity). Default false.
	ConsistentRead bool
	// Observer is told about every DynamoDB call (after the client's retries). Default store.NopObserver.
	Observer store.Observer
	// Values types the static values read back (DynamoDB keeps a number as N whether it is an
	// Int or a Float, a Time as S): registry.Registry, so reads answer each feature's type.
	// Default store.UntypedDecoder.
	Values store.ValueDecoder
}

// DefaultConfig returns the configuration with every default filled in.
func DefaultConfig() Config {
	return Config{
		Table:              "featuregraph",
		Concurrency:        8,
		MaxAttempts:        3,
		RetryBaseDelay:     20 * time.Millisecond,
		RetryMaxDelay:      time.Second,
		UnprocessedRetries: 8,
		MaxQueryItems:      5000,
		Observer:           store.NopObserver{},
	}
}

// Validate reports every invalid field. Zero values are valid: they take the defaults.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("dynamodb config: %s: %s", field, fmt.Sprintf(format, args...)))
	}
	if n := len(c.Table); n != 0 && (n < 3 || n > 255) {
		bad("Table", "name must be 3 to 255 characters, got %q", c.Table)
	}
	for _, r := range c.Table {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			bad("Table", "name may hold only letters, digits, '_', '-' and '.', got %q", c.Table)
			break
		}
	}
	if c.Endpoint != "" {
		if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("Endpoint", "want an http:// or https:// URL, got %q", c.Endpoint)
		}
	}
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		bad("AccessKeyID", "AccessKeyID and SecretAccessKey are set together or not at all")
	}
	ints := []struct {
		name string
		v    int
	}{{"Concurrency", c.Concurrency}, {"MaxAttempts", c.MaxAttempts}, {"UnprocessedRetries", c.UnprocessedRetries}, {"MaxQueryItems", c.MaxQueryItems}}
	for _, f := range ints {
		if f.v < 0 {
			bad(f.name, "must not be negative, got %d", f.v)
		}
	}
	if c.RetryBaseDelay < 0 {
		bad("RetryBaseDelay", "must not be negative, got %s", c.RetryBaseDelay)
	}
	if c.RetryMaxDelay < 0 {
		bad("RetryMaxDelay", "must not be negative, got %s", c.RetryMaxDelay)
	}
	if c.RetryBaseDelay > 0 && c.RetryMaxDelay > 0 && c.RetryMaxDelay < c.RetryBaseDelay {
		bad("RetryMaxDelay", "%s is less than RetryBaseDelay %s", c.RetryMaxDelay, c.RetryBaseDelay)
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Table == "" {
		c.Table = d.Table
	}
	if c.Concurrency == 0 {
		c.Concurrency = d.Concurrency
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = d.MaxAttempts
	}
	if c.RetryBaseDelay == 0 {
		c.RetryBaseDelay = d.RetryBaseDelay
	}
	if c.RetryMaxDelay == 0 {
		c.RetryMaxDelay = max(d.RetryMaxDelay, c.RetryBaseDelay)
	}
	if c.UnprocessedRetries == 0 {
		c.UnprocessedRetries = d.UnprocessedRetries
	}
	if c.MaxQueryItems == 0 {
		c.MaxQueryItems = d.MaxQueryItems
	}
	if c.Observer == nil {
		c.Observer = d.Observer
	}
	if c.Values == nil {
		c.Values = store.UntypedDecoder{}
	}
	return c
}
