// Package awslite is the part of the AWS SDK that featuregraph needs, without the SDK: SigV4
// request signing (Signer), the SDK's default credential chain (DefaultCredentials: environment,
// shared credentials and config files, web identity, container and instance-role credentials,
// cached and refreshed before they expire) and the SDK's region lookup (Region). The DynamoDB
// client (store/dynamodb) and the S3 client (internal/s3lite) sign with it. It exists so that
// `go run .` does not compile the SDK (about 100 packages, a fifth of a cold build).
//
// What the SDK's chain can do and this one cannot (SSO, credential_process, login sessions,
// assume-role profiles) fails with an error naming the profile setting.
package awslite

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EmptySHA256 is the payload hash of a request without a body.
const EmptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// PayloadHash is the hex SHA-256 of body, as SigV4 wants it.
func PayloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// Signer signs requests with AWS Signature Version 4 (header-based), as the SDK's v4.Signer
// does. It caches the derived signing key per day, region, service and key. It is safe for
// concurrent use; the zero value is ready.
type Signer struct {
	// DisableURIPathEscaping signs the request's escaped path as it is (S3) instead of escaping
	// it once more (every other service).
	DisableURIPathEscaping bool

	mu  sync.Mutex
	key signingKey
}

type signingKey struct {
	day, region, service, secret string
	key                          []byte
}

// ignoredHeaders are never signed (proxies and the transport may change them).
var ignoredHeaders = map[string]bool{
	"Authorization": true, "User-Agent": true, "X-Amzn-Trace-Id": true, "Expect": true, "Transfer-Encoding": true,
}

// Sign sets the X-Amz-Date, X-Amz-Security-Token (with a session token) and Authorization
// headers of req. payloadHash is the hex SHA-256 of the body (EmptySHA256 without one, or
// "UNSIGNED-PAYLOAD" where the service allows it). The Host header, Content-Length (when above
// 0) and every header of req but the ignored ones (Authorization, User-Agent, X-Amzn-Trace-Id,
// Expect, Transfer-Encoding) are signed; set them all before signing. The query is rewritten in
// its canonical form (sorted, escaped as SigV4 wants), as the SDK does.
func (s *Signer) Sign(req *http.Request, creds Credentials, service, region, payloadHash string, now time.Time) {
	now = now.UTC()
	amzDate := now.Format("20060102T150405Z")
	day := amzDate[:8]
	req.Header.Set("X-Amz-Date", amzDate)
	if creds.SessionToken != "" {
		req.Header.Set("X-Amz-Security-Token", creds.SessionToken)
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if h, port, err := net.SplitHostPort(host); err == nil && (port == "80" && req.URL.Scheme == "http" || port == "443" && req.URL.Scheme == "https") {
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		host, req.Host = h, h // the SDK signs (and sends) the host without a default port
	}

	// Canonical headers: host, content-length, then every header, lower-cased and sorted.
	names := make([]string, 0, len(req.Header)+2)
	values := make(map[string][]string, len(req.Header)+2)
	names = append(names, "host")
	values["host"] = []string{host}
	if req.ContentLength > 0 {
		names = append(names, "content-length")
		values["content-length"] = []string{strconv.FormatInt(req.ContentLength, 10)}
	}
	for k, v := range req.Header {
		if ignoredHeaders[k] || strings.EqualFold(k, "content-length") {
			continue
		}
		lk := strings.ToLower(k)
		if _, ok := values[lk]; ok {
			values[lk] = append(values[lk], v...)
			continue
		}
		names = append(names, lk)
		values[lk] = v
	}
	sort.Strings(names)
	signedHeaders := strings.Join(names, ";")

	var b strings.Builder
	b.Grow(512)
	b.WriteString(req.Method)
	b.WriteByte('\n')
	path := req.URL.EscapedPath()
	if req.URL.Opaque != "" {
		path = opaquePath(req.URL.Opaque)
	}
	if path == "" {
		path = "/"
	}
	if !s.DisableURIPathEscaping {
		path = escapeURI(path, false)
	}
	b.WriteString(path)
	b.WriteByte('\n')
	query := canonicalQuery(req.URL.Query())
	req.URL.RawQuery = query // sent as signed (the SDK does the same)
	b.WriteString(query)
	b.WriteByte('\n')
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte(':')
		if n == "host" {
			b.WriteString(stripExcessSpaces(host))
		} else {
			for j, v := range values[n] {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString(strings.TrimSpace(stripExcessSpaces(v)))
			}
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(signedHeaders)
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	canonical := sha256.Sum256([]byte(b.String()))

	scope := day + "/" + region + "/" + service + "/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(canonical[:])
	sig := hex.EncodeToString(hmacSHA256(s.signingKey(creds.SecretAccessKey, day, region, service), []byte(toSign)))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+creds.AccessKeyID+"/"+scope+
		", SignedHeaders="+signedHeaders+", Signature="+sig)
}

// signingKey derives (or returns the cached) key of a day, region and service.
func (s *Signer) signingKey(secret, day, region, service string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.key; k.key != nil && k.day == day && k.region == region && k.service == service && k.secret == secret {
		return k.key
	}
	key := hmacSHA256([]byte("AWS4"+secret), []byte(day))
	key = hmacSHA256(key, []byte(region))
	key = hmacSHA256(key, []byte(service))
	key = hmacSHA256(key, []byte("aws4_request"))
	s.key = signingKey{day: day, region: region, service: service, secret: secret, key: key}
	return key
}

func hmacSHA256(key, data []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(data)
	return h.Sum(nil)
}

// opaquePath is the path part of an opaque URL ("//host/path").
func opaquePath(opaque string) string {
	opaque, _, _ = strings.Cut(opaque, "?")
	opaque = strings.TrimPrefix(opaque, "//")
	if i := strings.IndexByte(opaque, '/'); i >= 0 {
		return opaque[i:]
	}
	return ""
}

// canonicalQuery is the query sorted by key, then value, each escaped as SigV4 wants.
func canonicalQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	type param struct{ k, v string }
	params := make([]param, 0, len(q))
	for k, vs := range q {
		ek := escapeQuery(k)
		for _, v := range vs {
			params = append(params, param{ek, escapeQuery(v)})
		}
	}
	sort.Slice(params, func(i, j int) bool {
		if params[i].k != params[j].k {
			return params[i].k < params[j].k
		}
		return params[i].v < params[j].v
	})
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

func escapeQuery(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// escapeURI percent-encodes every byte but the unreserved ones (and '/' unless encodeSep).
func escapeURI(p string, encodeSep bool) string {
	var b strings.Builder
	b.Grow(len(p))
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encodeSep) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// stripExcessSpaces trims s and collapses runs of spaces into one.
func stripExcessSpaces(s string) string {
	s = strings.Trim(s, " ")
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
