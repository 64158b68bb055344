package awslite

import (
	"context"
	"encoding/json"
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
	"time"
)

// stsEndpoint is the regional STS endpoint (the global one without a region).
func stsEndpoint(region string) string {
	switch {
	case region == "":
		return "https://sts.amazonaws.com"
	case strings.HasPrefix(region, "cn-"):
		return "https://sts." + region + ".amazonaws.com.cn"
	}
	return "https://sts." + region + ".amazonaws.com"
}

// webIdentityProvider assumes roleARN with the token in tokenFile (read on every fetch: EKS
// rotates it) through STS AssumeRoleWithWebIdentity, an unsigned call.
func webIdentityProvider(hc *http.Client, endpoint, tokenFile, roleARN, session string) Provider {
	return ProviderFunc(func(ctx context.Context) (Credentials, error) {
		fail := func(err error) (Credentials, error) {
			return Credentials{}, fmt.Errorf("aws credentials: web identity (role %s, token file %s): %w", roleARN, tokenFile, err)
		}
		token, err := os.ReadFile(tokenFile)
		if err != nil {
			return fail(err)
		}
		name := session
		if name == "" {
			name = strconv.FormatInt(time.Now().UnixNano(), 10) // the SDK's default
		}
		form := url.Values{
			"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"},
			"RoleArn": {roleARN}, "RoleSessionName": {name}, "WebIdentityToken": {string(token)}, // as read, like the SDK
		}
		var lastErr error
		for attempt := 0; attempt < 3; attempt++ {
			if attempt > 0 {
				if err := sleep(ctx, time.Duration(200<<attempt)*time.Millisecond); err != nil {
					return fail(errors.Join(err, lastErr))
				}
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(endpoint, "/")+"/", strings.NewReader(form.Encode()))
			if err != nil {
				return fail(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			resp, body, err := send(hc, req)
			if err != nil {
				if ctx.Err() != nil {
					return fail(err)
				}
				lastErr = err
				continue
			}
			if resp.StatusCode != http.StatusOK {
				var e struct {
					Code    string `xml:"Error>Code"`
					Message string `xml:"Error>Message"`
				}
				_ = xml.Unmarshal(body, &e)
				lastErr = fmt.Errorf("STS %s: %d %s: %s", endpoint, resp.StatusCode, e.Code, e.Message)
				if resp.StatusCode >= 500 || e.Code == "IDPCommunicationError" || e.Code == "Throttling" {
					continue
				}
				return fail(lastErr)
			}
			var out struct {
				Creds struct {
					AccessKeyID     string    `xml:"AccessKeyId"`
					SecretAccessKey string    `xml:"SecretAccessKey"`
					SessionToken    string    `xml:"SessionToken"`
					Expiration      time.Time `xml:"Expiration"`
				} `xml:"AssumeRoleWithWebIdentityResult>Credentials"`
			}
			if err := xml.Unmarshal(body, &out); err != nil {
				return fail(fmt.Errorf("STS %s: read the answer: %w", endpoint, err))
			}
			c := out.Creds
			return Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
				Expires: c.Expiration, Source: "web identity (" + roleARN + ")"}, nil
		}
		return fail(lastErr)
	})
}

// checkContainerURL allows an http:// full container URI only to a loopback address or the
// ECS/EKS credential endpoints, as the SDK does; https:// goes anywhere.
func checkContainerURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("aws config: AWS_CONTAINER_CREDENTIALS_FULL_URI %q: want an http:// or https:// URL", raw)
	}
	if u.Scheme == "https" {
		return nil
	}
	allowed := func(ip net.IP) bool {
		return ip.IsLoopback() || ip.Equal(net.IPv4(169, 254, 170, 2)) || ip.Equal(net.IPv4(169, 254, 170, 23)) || ip.Equal(net.ParseIP("fd00:ec2::23"))
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil {
		if !allowed(ip) {
			return fmt.Errorf("aws config: AWS_CONTAINER_CREDENTIALS_FULL_URI %q: an http:// URL must be a loopback address or the ECS/EKS credential endpoint (169.254.170.2, 169.254.170.23, fd00:ec2::23)", raw)
		}
		return nil
	}
	addrs, err := net.LookupHost(host)
	if err != nil {
		return fmt.Errorf("aws config: AWS_CONTAINER_CREDENTIALS_FULL_URI %q: %w", raw, err)
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip == nil || !allowed(ip) {
			return fmt.Errorf("aws config: AWS_CONTAINER_CREDENTIALS_FULL_URI %q: %s resolves to %s, not a loopback address or the ECS/EKS credential endpoint", raw, host, a)
		}
	}
	return nil
}

// containerProvider fetches credentials from the container credential endpoint, with the
// authorization token of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read on every fetch) or
// AWS_CONTAINER_AUTHORIZATION_TOKEN.
func containerProvider(hc *http.Client, endpoint string) Provider {
	return ProviderFunc(func(ctx context.Context) (Credentials, error) {
		fail := func(err error) (Credentials, error) {
			return Credentials{}, fmt.Errorf("aws credentials: container endpoint %s: %w", endpoint, err)
		}
		token := os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN")
		if f := os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return fail(fmt.Errorf("read the authorization token (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE): %w", err))
			}
			token = string(b)
		}
		if strings.ContainsAny(token, "\r\n") {
			return fail(errors.New("the authorization token holds a line break"))
		}
		var lastErr error
		for attempt := 0; attempt < 3; attempt++ {
			if attempt > 0 {
				if err := sleep(ctx, time.Duration(100<<attempt)*time.Millisecond); err != nil {
					return fail(errors.Join(err, lastErr))
				}
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
			if err != nil {
				return fail(err)
			}
			req.Header.Set("Accept", "application/json")
			if token != "" {
				req.Header.Set("Authorization", token)
			}
			resp, body, err := send(hc, req)
			if err != nil {
				if ctx.Err() != nil {
					return fail(err)
				}
				lastErr = err
				continue
			}
			var out struct {
				AccessKeyID     string `json:"AccessKeyId"`
				SecretAccessKey string
				Token           string
				Expiration      time.Time
				Code, Message   string
			}
			_ = json.Unmarshal(body, &out)
			if resp.StatusCode != http.StatusOK {
				lastErr = fmt.Errorf("%d %s %s", resp.StatusCode, out.Code, out.Message)
				if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
					continue
				}
				return fail(lastErr)
			}
			if out.AccessKeyID == "" {
				return fail(fmt.Errorf("the answer holds no AccessKeyId: %.200s", body))
			}
			return Credentials{AccessKeyID: out.AccessKeyID, SecretAccessKey: out.SecretAccessKey, SessionToken: out.Token,
				Expires: out.Expiration, Source: "container endpoint"}, nil
		}
		return fail(lastErr)
	})
}

// imdsProvider fetches the instance role's credentials from the instance metadata service:
// an IMDSv2 session token, then the role name, then its credentials. A service that refuses
// tokens (403, 404, 405) is asked without one (IMDSv1) unless AWS_EC2_METADATA_V1_DISABLED.
func imdsProvider(hc *http.Client, files string) Provider {
	short := *hc
	short.Timeout = time.Second
	return ProviderFunc(func(ctx context.Context) (Credentials, error) {
		endpoint := strings.TrimSuffix(os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"), "/")
		if endpoint == "" {
			endpoint = "http://169.254.169.254"
		}
		none := func(err error) (Credentials, error) {
			return Credentials{}, fmt.Errorf("aws credentials: none found: no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, no AWS_WEB_IDENTITY_TOKEN_FILE, "+
				"no credentials in the profile (%s), no AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI, and no instance role: %w", files, err)
		}
		if strings.EqualFold(os.Getenv("AWS_EC2_METADATA_DISABLED"), "true") {
			return none(errors.New("the instance metadata service is disabled (AWS_EC2_METADATA_DISABLED)"))
		}
		get := func(method, path, token string, hdr [2]string) (int, []byte, error) {
			var lastErr error
			for attempt := 0; attempt < 2; attempt++ {
				req, err := http.NewRequestWithContext(ctx, method, endpoint+path, nil)
				if err != nil {
					return 0, nil, err
				}
				if token != "" {
					req.Header.Set("X-Aws-Ec2-Metadata-Token", token)
				}
				if hdr[0] != "" {
					req.Header.Set(hdr[0], hdr[1])
				}
				resp, err := short.Do(req)
				if err != nil {
					if ctx.Err() != nil {
						return 0, nil, err
					}
					lastErr = err
					continue
				}
				body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
				resp.Body.Close()
				if err == nil && resp.StatusCode >= 500 {
					lastErr = fmt.Errorf("%s %s: %d", method, path, resp.StatusCode)
					continue
				}
				return resp.StatusCode, body, err
			}
			return 0, nil, lastErr
		}
		status, tok, err := get(http.MethodPut, "/latest/api/token", "", [2]string{"X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600"})
		if err != nil {
			return none(fmt.Errorf("instance metadata service %s: %w", endpoint, err))
		}
		token := string(tok)
		switch {
		case status == http.StatusOK:
		case (status == http.StatusForbidden || status == http.StatusNotFound || status == http.StatusMethodNotAllowed) &&
			!strings.EqualFold(os.Getenv("AWS_EC2_METADATA_V1_DISABLED"), "true"):
			token = "" // IMDSv1
		default:
			return none(fmt.Errorf("instance metadata service %s: session token: %d", endpoint, status))
		}
		const base = "/latest/meta-data/iam/security-credentials/"
		status, roles, err := get(http.MethodGet, base, token, [2]string{})
		if err != nil || status != http.StatusOK {
			if err == nil {
				err = fmt.Errorf("%d (the instance has no IAM role)", status)
			}
			return none(fmt.Errorf("instance metadata service %s: role name: %w", endpoint, err))
		}
		role, _, _ := strings.Cut(strings.TrimSpace(string(roles)), "\n")
		if role == "" {
			return none(fmt.Errorf("instance metadata service %s: the instance has no IAM role", endpoint))
		}
		status, body, err := get(http.MethodGet, base+role, token, [2]string{})
		if err != nil || status != http.StatusOK {
			if err == nil {
				err = fmt.Errorf("%d", status)
			}
			return Credentials{}, fmt.Errorf("aws credentials: instance role %s: %w", role, err)
		}
		var out struct {
			Code            string
			Message         string
			AccessKeyID     string `json:"AccessKeyId"`
			SecretAccessKey string
			Token           string
			Expiration      time.Time
		}
		if err := json.Unmarshal(body, &out); err != nil {
			return Credentials{}, fmt.Errorf("aws credentials: instance role %s: read the answer: %w", role, err)
		}
		if out.Code != "" && out.Code != "Success" {
			return Credentials{}, fmt.Errorf("aws credentials: instance role %s: %s %s", role, out.Code, out.Message)
		}
		return Credentials{AccessKeyID: out.AccessKeyID, SecretAccessKey: out.SecretAccessKey, SessionToken: out.Token,
			Expires: out.Expiration, Source: "instance role " + role}, nil
	})
}

// send makes one attempt of a credentials request and reads its answer (at most 1 MiB).
func send(hc *http.Client, req *http.Request) (*http.Response, []byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, err
	}
	return resp, body, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
