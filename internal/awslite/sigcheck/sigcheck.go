// Package sigcheck verifies, on the server side of a test, that a request's SigV4 signature is
// the one the AWS SDK's v4 signer computes for the same request. Only tests import it (it
// imports the SDK); the binary never does.
package sigcheck

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Check re-signs the request r as received (with its body) with the SDK's signer, for the
// secret key and service, and returns an error unless the SDK's Authorization header is the
// one r carries. Only the headers r names in SignedHeaders are given to the SDK (the transport
// adds some after signing). s3 selects S3's path escaping.
func Check(r *http.Request, body []byte, secret, service string, s3 bool) error {
	auth := r.Header.Get("Authorization")
	cred := field(auth, "Credential=")
	signed := strings.Split(field(auth, "SignedHeaders="), ";")
	scope := strings.Split(cred, "/") // AKID/day/region/service/aws4_request
	if len(scope) != 5 || scope[3] != service {
		return fmt.Errorf("credential scope %q: want <key>/<day>/<region>/%s/aws4_request", cred, service)
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("X-Amz-Date: %v", err)
	}
	req, err := http.NewRequest(r.Method, "http://"+r.Host+r.RequestURI, nil)
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(body))
	for _, h := range signed {
		switch h {
		case "host", "content-length", "x-amz-date", "x-amz-security-token":
			continue
		}
		for _, v := range r.Header.Values(h) {
			req.Header.Add(h, v)
		}
	}
	hash := r.Header.Get("X-Amz-Content-Sha256")
	if hash == "" {
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
	}
	creds := aws.Credentials{AccessKeyID: scope[0], SecretAccessKey: secret, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = s3 })
	if err := signer.SignHTTP(context.Background(), creds, req, hash, service, scope[2], when); err != nil {
		return err
	}
	if want := req.Header.Get("Authorization"); want != auth {
		return fmt.Errorf("%s %s: signature\n got %s\nwant %s (the SDK's)", r.Method, r.RequestURI, auth, want)
	}
	return nil
}

func field(auth, name string) string {
	i := strings.Index(auth, name)
	if i < 0 {
		return ""
	}
	v := auth[i+len(name):]
	if j := strings.IndexByte(v, ','); j >= 0 {
		v = v[:j]
	}
	return v
}
