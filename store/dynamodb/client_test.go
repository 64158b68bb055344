package dynamodb_test

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/awslite/sigcheck"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/dynamodb"
)

// TestDamagedAnswerIsRetried: an answer whose X-Amz-Crc32 does not match its body is retried
// (the SDK did the same), and one that never matches fails as unavailable.
func TestDamagedAnswerIsRetried(t *testing.T) {
	for _, always := range []bool{false, true} {
		t.Run(fmt.Sprint("always_", always), func(t *testing.T) {
			var mu sync.Mutex
			n := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				n++
				first := n == 1
				mu.Unlock()
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				if first || always {
					w.Header().Set("X-Amz-Crc32", "12345")
				}
				io.WriteString(w, `{}`)
			}))
			defer srv.Close()
			err := fakeStore(t, srv.URL, nil, nil).Ping(context.Background())
			if always {
				if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "CRC32") {
					t.Fatalf("err %v", err)
				}
				if n != 3 {
					t.Fatalf("%d requests, want 3 (MaxAttempts)", n)
				}
				return
			}
			if err != nil || n != 2 {
				t.Fatalf("err %v after %d requests, want success after 2", err, n)
			}
		})
	}
}

// TestErrorCodes: the error code comes from X-Amzn-ErrorType or the body's __type, and maps
// to the store's errors as before: a missing table names init-table; a malformed request is
// ErrInvalid and not retried; an unknown 4xx is not retried.
func TestErrorCodes(t *testing.T) {
	cases := []struct {
		name     string
		header   string
		body     string
		status   int
		want     error
		requests int
	}{
		{"header", "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.dynamodb.v20120810/", `{"message":"Requested resource not found"}`, 400, dynamodb.ErrTableMissing, 1},
		{"body", "", `{"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","Message":"bad"}`, 400, store.ErrInvalid, 1},
		{"access denied", "", `{"__type":"com.amazon.coral.service#AccessDeniedException","message":"no"}`, 400, store.ErrUnavailable, 1},
		{"request limit", "", `{"__type":"com.amazonaws.dynamodb.v20120810#RequestLimitExceeded","message":"slow"}`, 400, store.ErrUnavailable, 3},
		{"plain 503", "", `<html>Service Unavailable</html>`, 503, store.ErrUnavailable, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			n := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				n++
				mu.Unlock()
				if c.header != "" {
					w.Header().Set("X-Amzn-ErrorType", c.header)
				}
				w.WriteHeader(c.status)
				io.WriteString(w, c.body)
			}))
			defer srv.Close()
			err := fakeStore(t, srv.URL, nil, nil).Ping(context.Background())
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if c.want == dynamodb.ErrTableMissing && !strings.Contains(err.Error(), "init-table") {
				t.Fatalf("err %v names no init-table", err)
			}
			if n != c.requests {
				t.Fatalf("%d requests, want %d", n, c.requests)
			}
		})
	}
}

// TestEndpointAndCredentialsFromEnvironment: with no Endpoint configured the client goes to
// AWS_ENDPOINT_URL_DYNAMODB, signs for the configured region with the credentials of the
// chain (here web identity, through a fake STS: the session token travels as
// X-Amz-Security-Token) and sends the JSON 1.0 protocol's headers.
func TestEndpointAndCredentialsFromEnvironment(t *testing.T) {
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAWEB</AccessKeyId>`+
			`<SecretAccessKey>s</SecretAccessKey><SessionToken>tok-%s</SessionToken><Expiration>%s</Expiration></Credentials>`+
			`</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`, r.Form.Get("WebIdentityToken"), time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	defer sts.Close()
	var got http.Header
	ddb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		io.WriteString(w, `{}`)
	}))
	defer ddb.Close()
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	os.WriteFile(tok, []byte("jwt"), 0o600)
	for k, v := range map[string]string{
		"HOME": dir, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": "", "AWS_SHARED_CREDENTIALS_FILE": "",
		"AWS_REGION": "eu-west-3", "AWS_ENDPOINT_URL_DYNAMODB": ddb.URL, "AWS_ENDPOINT_URL_STS": sts.URL,
		"AWS_WEB_IDENTITY_TOKEN_FILE": tok, "AWS_ROLE_ARN": "arn:aws:iam::1:role/r",
	} {
		t.Setenv(k, v)
	}
	s, err := dynamodb.New(context.Background(), dynamodb.Config{Table: "tbl"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	auth := got.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=ASIAWEB/") || !strings.Contains(auth, "/eu-west-3/dynamodb/aws4_request") ||
		!strings.Contains(auth, "x-amz-security-token") || !strings.Contains(auth, "x-amz-target") {
		t.Fatalf("Authorization %q", auth)
	}
	if got.Get("X-Amz-Security-Token") != "tok-jwt" || got.Get("X-Amz-Target") != "DynamoDB_20120810.GetItem" || got.Get("Content-Type") != "application/x-amz-json-1.0" {
		t.Fatalf("headers %v", got)
	}
}

// TestNoRegionIsAnError: without a region anywhere and no endpoint, New names the setting.
func TestNoRegionIsAnError(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_ACCESS_KEY_ID", "a")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "b")
	if _, err := dynamodb.New(context.Background(), dynamodb.Config{}); err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Fatalf("err %v", err)
	}
}

// TestUnsupportedProfileFailsAtStart: an SSO profile is an error of New naming sso_session,
// not a failure at the first request.
func TestUnsupportedProfileFailsAtStart(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	os.WriteFile(cfg, []byte("[profile corp]\nsso_session = corp\nregion = us-east-1\n"), 0o600)
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_CONFIG_FILE": cfg, "AWS_PROFILE": "corp"} {
		t.Setenv(k, v)
	}
	if _, err := dynamodb.New(context.Background(), dynamodb.Config{}); err == nil || !strings.Contains(err.Error(), "sso_session") {
		t.Fatalf("err %v", err)
	}
}

// TestSignaturesMatchSDK: every operation the store sends carries the signature the AWS SDK's
// v4 signer computes for it (checked on the server side by sigcheck), with a session token.
func TestSignaturesMatchSDK(t *testing.T) {
	var mu sync.Mutex
	ops := map[string]bool{}
	var failures []string
	fake, srv := newFake(t, func(op string, req map[string]any, n int) (int, any) {
		switch op {
		case "BatchGetItem":
			return 200, batchGetResponse(requestedKeys(req), nil)
		case "DescribeTable":
			return 200, map[string]any{"Table": map[string]any{"TableStatus": "ACTIVE"}}
		case "DescribeTimeToLive":
			return 200, map[string]any{"TimeToLiveDescription": map[string]any{"TimeToLiveStatus": "DISABLED"}}
		}
		return 200, map[string]any{}
	})
	fake.check = func(r *http.Request, body []byte) {
		err := sigcheck.Check(r, body, "SECRET/k+", "dynamodb", false)
		mu.Lock()
		defer mu.Unlock()
		ops[strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")] = true
		if err != nil {
			failures = append(failures, err.Error())
		}
	}
	t.Setenv("AWS_SESSION_TOKEN", "session/token=")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRET/k+")
	t.Setenv("AWS_PROFILE", "")
	s, err := dynamodb.New(context.Background(), dynamodb.Config{Endpoint: srv.URL, Region: "ap-northeast-1", Table: fakeTable})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k := store.Key{Prefix: "u", ID: "ünï cödé \"1\"", Feature: "f"}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateTable(ctx))
	must(s.Ping(ctx))
	must(s.WriteStatic(ctx, []store.StaticWrite{{Key: k, Value: store.StringValue("v\n\"q\""), TS: 5, History: true}}))
	must(s.ReadStaticKeys(ctx, []store.Key{k}, make([]store.StaticValue, 1)))
	must(s.WriteActions(ctx, []store.ActionWrite{{Key: k, TS: 7, Member: `{"a":"b"}`}}))
	_, err = s.ReadActions(ctx, []store.ActionQuery{{Key: k, Count: 2}})
	must(err)
	mu.Lock()
	defer mu.Unlock()
	if len(failures) > 0 {
		t.Fatal(strings.Join(failures, "\n"))
	}
	for _, op := range []string{"CreateTable", "DescribeTable", "DescribeTimeToLive", "UpdateTimeToLive", "GetItem", "PutItem", "BatchWriteItem", "BatchGetItem", "Query"} {
		if !ops[op] {
			t.Errorf("%s was not sent (sent: %v)", op, ops)
		}
	}
}

// TestCABundle: AWS_CA_BUNDLE's roots are the ones a TLS endpoint is checked against, as with
// the SDK; without them the endpoint's self-signed certificate is refused; a file without a
// certificate is an error of New naming the variable.
func TestCABundle(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{}`) }))
	defer srv.Close()
	dir := t.TempDir()
	bundle := filepath.Join(dir, "ca.pem")
	os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_CA_BUNDLE", "")
	if err := fakeStore(t, srv.URL, nil, func(c *dynamodb.Config) { c.MaxAttempts = 1 }).Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the bundle: %v, want a certificate error", err)
	}
	t.Setenv("AWS_CA_BUNDLE", bundle)
	if err := fakeStore(t, srv.URL, nil, nil).Ping(context.Background()); err != nil {
		t.Fatalf("with the bundle: %v", err)
	}
	os.WriteFile(bundle, []byte("not a certificate"), 0o600)
	if _, err := dynamodb.New(context.Background(), dynamodb.Config{Endpoint: srv.URL}); err == nil || !strings.Contains(err.Error(), "AWS_CA_BUNDLE") {
		t.Fatalf("bad bundle: %v", err)
	}
}

// TestRetryQuota: during an outage the client retries until its retry quota (500 tokens, 5 a
// retry) is spent, then tries each call once, saying so, as the SDK's standard retryer does.
func TestRetryQuota(t *testing.T) {
	var mu sync.Mutex
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		mu.Unlock()
		w.WriteHeader(503)
		io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ServiceUnavailable","message":"down"}`)
	}))
	defer srv.Close()
	s := fakeStore(t, srv.URL, nil, func(c *dynamodb.Config) { c.RetryBaseDelay, c.RetryMaxDelay = time.Microsecond, time.Microsecond })
	var last error
	for i := 0; i < 60; i++ {
		last = s.Ping(context.Background())
		if !errors.Is(last, store.ErrUnavailable) {
			t.Fatalf("ping %d: %v", i, last)
		}
	}
	// 50 calls use 2 retries each (100 retries × 5 = the 500 tokens), the 10 after try once.
	if requests != 50*3+10 {
		t.Fatalf("%d requests, want %d", requests, 50*3+10)
	}
	if !strings.Contains(last.Error(), "retry quota") {
		t.Fatalf("last error %v does not name the retry quota", last)
	}
}
