package dynamodb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/featuregraph/featuregraph/internal/awslite"
)

// client is a DynamoDB client for the JSON 1.0 protocol (POST /, X-Amz-Target
// DynamoDB_20120810.<Op>), with only the operations the store uses. It retries as the SDK's
// standard retryer did: throttling errors, 500/502/503/504, connection failures and responses
// whose X-Amz-Crc32 does not match, with exponential backoff and jitter, at most MaxAttempts
// tries, within a retry quota (a token bucket of 500: 5 per retry, 10 per retry of a timeout,
// refunded on success) so that an outage does not multiply the load.
type client struct {
	hc       *http.Client
	endpoint string // https://dynamodb.<region>.amazonaws.com or the override, without a trailing /
	region   string
	creds    awslite.Provider
	signer   awslite.Signer

	maxAttempts int
	delay       func(retry int) time.Duration // before retry 1, 2...
	quota       retryQuota
}

// apiError is an error answer of DynamoDB.
type apiError struct {
	Op      string
	Status  int
	Code    string // ConditionalCheckFailedException, ResourceNotFoundException...
	Message string
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("DynamoDB %s: %d %s", e.Op, e.Status, e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// errorCode is the DynamoDB error code of err ("" when err is not a DynamoDB answer).
func errorCode(err error) string {
	var e *apiError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// throttlingCodes and transientCodes are the SDK's retryable error codes.
var throttlingCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true, "RequestThrottledException": true,
	"TooManyRequestsException": true, "ProvisionedThroughputExceededException": true, "TransactionInProgressException": true,
	"RequestLimitExceeded": true, "BandwidthLimitExceeded": true, "LimitExceededException": true, "RequestThrottled": true,
	"SlowDown": true, "PriorRequestNotComplete": true, "EC2ThrottledException": true,
}

var transientCodes = map[string]bool{"RequestTimeout": true, "RequestTimeoutException": true}

// retryable reports whether a failed attempt may be tried again, and whether it timed out
// (a dearer retry).
func retryable(ctx context.Context, err error) (retry, timeout bool) {
	if ctx.Err() != nil {
		return false, false
	}
	var ae *apiError
	if errors.As(err, &ae) {
		switch ae.Status {
		case 500, 502, 503, 504:
			return true, false
		}
		return throttlingCodes[ae.Code] || transientCodes[ae.Code], transientCodes[ae.Code]
	}
	var ce *credsError
	if errors.As(err, &ce) {
		return false, false // the provider has retried
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true, true
	}
	return true, false // connection refused or reset, a short body, a bad checksum
}

// retryQuota is the SDK's retry token bucket.
type retryQuota struct {
	mu    sync.Mutex
	avail int
}

const (
	quotaMax         = 500
	quotaRetryCost   = 5
	quotaTimeoutCost = 10
)

func (q *retryQuota) take(cost int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.avail < cost {
		return false
	}
	q.avail -= cost
	return true
}

func (q *retryQuota) give(n int) {
	q.mu.Lock()
	q.avail = min(q.avail+n, quotaMax)
	q.mu.Unlock()
}

// call sends one operation with its JSON body, retrying, and returns the body of the answer.
func (c *client) call(ctx context.Context, op string, body []byte) ([]byte, error) {
	hash := awslite.PayloadHash(body)
	var lastErr error
	cost := 0 // of the retry in flight, refunded when it succeeds
	for attempt := 1; ; attempt++ {
		out, err := c.attempt(ctx, op, body, hash, attempt)
		if err == nil {
			if cost > 0 {
				c.quota.give(cost)
			} else {
				c.quota.give(1)
			}
			return out, nil
		}
		if errorCode(err) == "ExpiredTokenException" {
			if cache, ok := c.creds.(*awslite.Cache); ok && attempt == 1 {
				cache.Invalidate() // fetch new credentials and try once more
				continue
			}
		}
		lastErr = err
		retry, timeout := retryable(ctx, err)
		if !retry || attempt >= c.maxAttempts {
			return nil, lastErr
		}
		cost = quotaRetryCost
		if timeout {
			cost = quotaTimeoutCost
		}
		if !c.quota.take(cost) {
			return nil, fmt.Errorf("%w (not retried: the retry quota is exhausted)", lastErr)
		}
		t := time.NewTimer(c.delay(attempt))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (while waiting to retry: %w)", lastErr, ctx.Err())
		}
	}
}

func (c *client) attempt(ctx context.Context, op string, body []byte, hash string, attempt int) ([]byte, error) {
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return nil, &credsError{err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	req.Header.Set("Accept-Encoding", "identity") // the checksum is of the bytes as sent
	req.Header.Set("Amz-Sdk-Request", "attempt="+strconv.Itoa(attempt)+"; max="+strconv.Itoa(c.maxAttempts))
	req.Header.Set("User-Agent", "featuregraph")
	c.signer.Sign(req, creds, "dynamodb", c.region, hash, time.Now())
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	buf := bytes.NewBuffer(make([]byte, 0, min(max(resp.ContentLength, 512), 16<<20)+1))
	_, err = buf.ReadFrom(resp.Body)
	out := buf.Bytes()
	if err != nil {
		return nil, fmt.Errorf("DynamoDB %s: read the answer: %w", op, err)
	}
	if sum := resp.Header.Get("X-Amz-Crc32"); sum != "" {
		if want, err := strconv.ParseUint(sum, 10, 32); err == nil && uint32(want) != crc32.ChecksumIEEE(out) {
			return nil, fmt.Errorf("DynamoDB %s: the answer's CRC32 checksum does not match (X-Amz-Crc32 %s): damaged in transit", op, sum)
		}
	}
	if resp.StatusCode/100 == 2 {
		return out, nil
	}
	return nil, parseError(op, resp, out)
}

// credsError is a failure to get credentials: not retried by call (the provider retries).
type credsError struct{ err error }

func (e *credsError) Error() string { return e.err.Error() }
func (e *credsError) Unwrap() error { return e.err }

// parseError reads an error answer: the code from X-Amzn-ErrorType or the body's __type
// ("com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"), the message from message or
// Message.
func parseError(op string, resp *http.Response, body []byte) error {
	e := &apiError{Op: op, Status: resp.StatusCode}
	code := resp.Header.Get("X-Amzn-ErrorType")
	r := jsonReader{b: body}
	_ = r.object(func(key []byte) error {
		switch string(key) {
		case "__type", "code", "Code":
			s, err := r.str()
			if code == "" {
				code = s
			}
			return err
		case "message", "Message":
			s, err := r.str()
			e.Message = s
			return err
		}
		return r.skip()
	})
	code, _, _ = strings.Cut(code, ":")
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = http.StatusText(resp.StatusCode)
		if e.Message == "" {
			e.Message = strings.TrimSpace(string(body[:min(len(body), 200)]))
		}
	}
	e.Code = code
	return e
}

// newHTTPClient is the SDK's transport with the store's connection bounds.
func newHTTPClient(aws *awslite.Config) *http.Client {
	t := aws.Transport() // with AWS_CA_BUNDLE's roots
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64 // the default 10 makes concurrent batches re-dial
	// Bounded: under overload 1,130 connections were opened to one endpoint. Calls beyond
	// wait for a connection (within their deadline).
	t.MaxConnsPerHost = maxConnsPerHost
	t.ExpectContinueTimeout = time.Second
	return &http.Client{Transport: t}
}

// jitter spreads a delay by ±50%.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d)
}
