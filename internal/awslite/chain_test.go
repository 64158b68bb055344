package awslite_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/featuregraph/featuregraph/internal/awslite"
)

// awsEnv is every variable the chains read: each test starts from none of them set (and a
// HOME without ~/.aws), so that the machine's own configuration does not leak in.
var awsEnv = []string{
	"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN",
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_V1_DISABLED",
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
}

func cleanEnv(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, k := range awsEnv {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true") // no 169.254.169.254 on a test machine
	return home
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// retrieveBoth resolves the credentials and region with Load and with the SDK's
// LoadDefaultConfig under the same environment and fails unless they agree.
func retrieveBoth(t *testing.T) awslite.Credentials {
	t.Helper()
	ctx := context.Background()
	cfg, err := awslite.Load(awslite.Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	sdkCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatalf("SDK LoadDefaultConfig: %v", err)
	}
	want, err := sdkCfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatalf("SDK Retrieve: %v", err)
	}
	if got.AccessKeyID != want.AccessKeyID || got.SecretAccessKey != want.SecretAccessKey || got.SessionToken != want.SessionToken {
		t.Fatalf("credentials %+v, the SDK's %+v", got, want)
	}
	// The SDK reports the expiry of container credentials 5 minutes early (its refresh window;
	// Cache refreshes 5 minutes early too) and caps that of instance-role credentials at an
	// hour from now (static stability): the SDK's expiry is never later than ours.
	if got.Expires.IsZero() != !want.CanExpire || want.Expires.After(got.Expires) || got.Expires.Sub(want.Expires) > 5*time.Minute && !strings.HasPrefix(got.Source, "instance role") {
		t.Fatalf("expiry %v, the SDK's %v (can expire %v)", got.Expires, want.Expires, want.CanExpire)
	}
	if cfg.Region != sdkCfg.Region {
		t.Fatalf("region %q, the SDK's %q", cfg.Region, sdkCfg.Region)
	}
	return got
}

func TestChainMatchesSDKStatic(t *testing.T) {
	cases := []struct {
		name  string
		env   map[string]string
		files map[string]string // config, credentials
		want  string            // access key ID
	}{
		{"environment", map[string]string{"AWS_ACCESS_KEY_ID": "AKENV", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "tok", "AWS_REGION": "eu-west-1"}, nil, "AKENV"},
		{"environment, old names", map[string]string{"AWS_ACCESS_KEY": "AKOLD", "AWS_SECRET_KEY": "s", "AWS_DEFAULT_REGION": "eu-central-1"}, nil, "AKOLD"},
		{"environment wins over the profile", map[string]string{"AWS_ACCESS_KEY_ID": "AKENV", "AWS_SECRET_ACCESS_KEY": "s"},
			map[string]string{"credentials": "[default]\naws_access_key_id = AKFILE\naws_secret_access_key = f\n"}, "AKENV"},
		{"default profile", nil, map[string]string{
			"config":      "[default]\nregion = ap-south-1\n# comment\n; other comment\ns3 =\n  addressing_style = path\n",
			"credentials": "[default]\naws_access_key_id = AKDEF\naws_secret_access_key = secret/with+chars\naws_session_token = T1\n"}, "AKDEF"},
		{"named profile", map[string]string{"AWS_PROFILE": "dev"}, map[string]string{
			"config":      "[default]\nregion = us-west-2\n[profile dev]\nregion = eu-north-1\n",
			"credentials": "[default]\naws_access_key_id = AKDEF\naws_secret_access_key = d\n[dev]\naws_access_key_id = AKDEV\naws_secret_access_key = v\n"}, "AKDEV"},
		{"keys in the config file", map[string]string{"AWS_PROFILE": "cfg"}, map[string]string{
			"config": "[profile cfg]\naws_access_key_id = AKCFG\naws_secret_access_key = c\nregion = sa-east-1\n"}, "AKCFG"},
		{"credentials file wins over the config file", map[string]string{"AWS_PROFILE": "both"}, map[string]string{
			"config":      "[profile both]\naws_access_key_id = AKCONFIG\naws_secret_access_key = c\n",
			"credentials": "[both]\naws_access_key_id = AKCREDS\naws_secret_access_key = k\n"}, "AKCREDS"},
		{"region env wins over the profile", map[string]string{"AWS_REGION": "us-east-2"}, map[string]string{
			"config":      "[default]\nregion = us-west-1\n",
			"credentials": "[default]\naws_access_key_id = AK\naws_secret_access_key = k\n"}, "AK"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home := cleanEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			if f, ok := c.files["config"]; ok {
				t.Setenv("AWS_CONFIG_FILE", write(t, home, "config", f))
			}
			if f, ok := c.files["credentials"]; ok {
				t.Setenv("AWS_SHARED_CREDENTIALS_FILE", write(t, home, "credentials", f))
			}
			if got := retrieveBoth(t); got.AccessKeyID != c.want {
				t.Fatalf("access key %s, want %s", got.AccessKeyID, c.want)
			}
		})
	}
	t.Run("~/.aws by default", func(t *testing.T) {
		home := cleanEnv(t)
		os.MkdirAll(filepath.Join(home, ".aws"), 0o700)
		write(t, filepath.Join(home, ".aws"), "credentials", "[default]\naws_access_key_id = AKHOME\naws_secret_access_key = h\n")
		write(t, filepath.Join(home, ".aws"), "config", "[default]\nregion = me-south-1\n")
		// Not compared with the SDK: it takes its default file names from HOME when the
		// program starts (config.DefaultSharedConfigFiles).
		cfg, err := awslite.Load(awslite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := cfg.Credentials.Retrieve(context.Background())
		if err != nil || got.AccessKeyID != "AKHOME" || cfg.Region != "me-south-1" {
			t.Fatalf("credentials %+v, region %q, err %v", got, cfg.Region, err)
		}
	})
}

// fakeSTS answers AssumeRoleWithWebIdentity with credentials naming the token it got.
func fakeSTS(t *testing.T, calls *atomic.Int32) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		r.ParseForm()
		if r.Form.Get("Action") != "AssumeRoleWithWebIdentity" || r.Form.Get("RoleArn") == "" || r.Form.Get("RoleSessionName") == "" {
			w.WriteHeader(400)
			fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>bad request %v</Message></Error></ErrorResponse>`, r.Form)
			return
		}
		if r.Form.Get("WebIdentityToken") == "expired" {
			w.WriteHeader(400)
			fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredTokenException</Code><Message>Token expired</Message></Error></ErrorResponse>`)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>ASIA%s</AccessKeyId>
      <SecretAccessKey>secret-for-%s</SecretAccessKey>
      <SessionToken>session-%s</SessionToken>
      <Expiration>2030-01-02T03:04:05Z</Expiration>
    </Credentials>
    <SubjectFromWebIdentityToken>sub</SubjectFromWebIdentityToken>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`, strings.ToUpper(r.Form.Get("WebIdentityToken")), r.Form.Get("RoleArn"), r.Form.Get("RoleSessionName"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestChainMatchesSDKWebIdentity(t *testing.T) {
	var calls atomic.Int32
	sts := fakeSTS(t, &calls)
	t.Run("environment (EKS IRSA)", func(t *testing.T) {
		home := cleanEnv(t)
		t.Setenv("AWS_REGION", "us-east-1")
		t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
		t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", write(t, home, "token", "tok1"))
		t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa")
		t.Setenv("AWS_ROLE_SESSION_NAME", "sess")
		got := retrieveBoth(t)
		if got.AccessKeyID != "ASIATOK1" || got.SessionToken != "session-sess" || !got.Expires.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Fatalf("credentials %+v", got)
		}
	})
	t.Run("profile", func(t *testing.T) {
		home := cleanEnv(t)
		t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
		tok := write(t, home, "token", "tok2")
		t.Setenv("AWS_CONFIG_FILE", write(t, home, "config", "[profile wi]\nregion = eu-west-1\nweb_identity_token_file = "+tok+"\nrole_arn = arn:aws:iam::1:role/r\nrole_session_name = s2\n"))
		t.Setenv("AWS_PROFILE", "wi")
		if got := retrieveBoth(t); got.AccessKeyID != "ASIATOK2" {
			t.Fatalf("credentials %+v", got)
		}
	})
	t.Run("no role", func(t *testing.T) {
		home := cleanEnv(t)
		t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", write(t, home, "token", "tok"))
		if _, err := awslite.Load(awslite.Options{}); err == nil || !strings.Contains(err.Error(), "AWS_ROLE_ARN") {
			t.Fatalf("err %v, want one naming AWS_ROLE_ARN", err)
		}
	})
	t.Run("STS refuses", func(t *testing.T) {
		home := cleanEnv(t)
		t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
		t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", write(t, home, "token", "expired"))
		t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/r")
		cfg, err := awslite.Load(awslite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = cfg.Credentials.Retrieve(context.Background())
		if err == nil || !strings.Contains(err.Error(), "ExpiredTokenException") || !strings.Contains(err.Error(), "web identity") {
			t.Fatalf("err %v", err)
		}
	})
}

func TestChainMatchesSDKContainer(t *testing.T) {
	var gotAuth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth.Store(r.Header.Get("Authorization"))
		if r.Header.Get("Authorization") != "pod-token" {
			w.WriteHeader(403)
			fmt.Fprint(w, `{"code":"AccessDenied","message":"bad token"}`)
			return
		}
		fmt.Fprint(w, `{"AccessKeyId":"ASIACONTAINER","SecretAccessKey":"cs","Token":"ct","Expiration":"2031-05-06T07:08:09Z","AccountId":"1"}`)
	}))
	defer srv.Close()
	t.Run("full URI with a token file (EKS Pod Identity)", func(t *testing.T) {
		home := cleanEnv(t)
		t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", srv.URL+"/v1/credentials")
		t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", write(t, home, "tok", "pod-token"))
		if got := retrieveBoth(t); got.AccessKeyID != "ASIACONTAINER" || gotAuth.Load() != "pod-token" {
			t.Fatalf("credentials %+v, authorization %v", got, gotAuth.Load())
		}
	})
	t.Run("full URI with a token", func(t *testing.T) {
		cleanEnv(t)
		t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", srv.URL+"/creds")
		t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "pod-token")
		retrieveBoth(t)
	})
	t.Run("wrong token", func(t *testing.T) {
		cleanEnv(t)
		t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", srv.URL+"/creds")
		t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "nope")
		cfg, err := awslite.Load(awslite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.Credentials.Retrieve(context.Background()); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("http to a remote host is refused", func(t *testing.T) {
		cleanEnv(t)
		t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1/creds")
		if _, err := awslite.Load(awslite.Options{}); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Fatalf("err %v", err)
		}
		if _, err := awsconfig.LoadDefaultConfig(context.Background()); err == nil {
			t.Fatal("the SDK accepts it: the test is wrong")
		}
	})
}

// fakeIMDS is an instance metadata service: IMDSv2 tokens (v1 too unless v2only), one role.
func fakeIMDS(t *testing.T, v2only bool, tokenStatus int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/latest/api/token" {
			if r.Method != http.MethodPut || r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds") == "" {
				w.WriteHeader(400)
				return
			}
			if tokenStatus != 0 {
				w.WriteHeader(tokenStatus)
				return
			}
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
			fmt.Fprint(w, "imds-token")
			return
		}
		if tok := r.Header.Get("X-Aws-Ec2-Metadata-Token"); tok != "imds-token" && (v2only || tok != "") {
			w.WriteHeader(401)
			return
		}
		switch r.URL.Path {
		case "/latest/meta-data/iam/security-credentials/":
			fmt.Fprint(w, "instance-role\n")
		case "/latest/meta-data/iam/security-credentials/instance-role":
			fmt.Fprint(w, `{"Code":"Success","LastUpdated":"2026-01-01T00:00:00Z","Type":"AWS-HMAC","AccessKeyId":"ASIAIMDS","SecretAccessKey":"is","Token":"it","Expiration":"2032-01-01T00:00:00Z"}`)
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestChainMatchesSDKInstanceRole(t *testing.T) {
	t.Run("IMDSv2", func(t *testing.T) {
		cleanEnv(t)
		t.Setenv("AWS_EC2_METADATA_DISABLED", "")
		t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fakeIMDS(t, true, 0).URL)
		if got := retrieveBoth(t); got.AccessKeyID != "ASIAIMDS" || got.Source != "instance role instance-role" {
			t.Fatalf("credentials %+v", got)
		}
	})
	t.Run("IMDSv1 fallback", func(t *testing.T) {
		cleanEnv(t)
		t.Setenv("AWS_EC2_METADATA_DISABLED", "")
		t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fakeIMDS(t, false, 403).URL)
		retrieveBoth(t)
	})
	t.Run("none", func(t *testing.T) {
		cleanEnv(t)
		cfg, err := awslite.Load(awslite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = cfg.Credentials.Retrieve(context.Background())
		for _, want := range []string{"none found", "AWS_ACCESS_KEY_ID", "AWS_CONTAINER_CREDENTIALS", "AWS_EC2_METADATA_DISABLED"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err %v, want one naming %q", err, want)
			}
		}
	})
}

// TestUnsupportedProfileSettings: what only the SDK can do fails at Load, naming the setting.
func TestUnsupportedProfileSettings(t *testing.T) {
	cases := map[string]string{
		"sso_session":        "[profile p]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r\n[sso-session corp]\nsso_start_url = https://x.awsapps.com/start\nsso_region = us-east-1\n",
		"sso_start_url":      "[profile p]\nsso_start_url = https://x.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = r\n",
		"credential_process": "[profile p]\ncredential_process = /bin/echo {}\n",
		"source_profile":     "[profile p]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n[profile base]\naws_access_key_id = A\naws_secret_access_key = B\n",
		"credential_source":  "[profile p]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Ec2InstanceMetadata\n",
		"login_session":      "[profile p]\nlogin_session = arn:aws:iam::1:user/u\n",
		"role_arn":           "[profile p]\naws_access_key_id = A\naws_secret_access_key = B\nrole_arn = arn:aws:iam::1:role/r\n",
	}
	for setting, config := range cases {
		t.Run(setting, func(t *testing.T) {
			home := cleanEnv(t)
			t.Setenv("AWS_CONFIG_FILE", write(t, home, "config", config))
			t.Setenv("AWS_PROFILE", "p")
			_, err := awslite.Load(awslite.Options{})
			if err == nil || !strings.Contains(err.Error(), setting) || !strings.Contains(err.Error(), `profile "p"`) {
				t.Fatalf("err %v, want one naming %s and the profile", err, setting)
			}
			// Static credentials given in the configuration bypass the chain, as with the SDK.
			if _, err := awslite.Load(awslite.Options{Credentials: awslite.Static{AccessKeyID: "a", SecretAccessKey: "b"}}); err != nil {
				t.Fatalf("with static credentials: %v", err)
			}
		})
	}
	t.Run("missing profile", func(t *testing.T) {
		home := cleanEnv(t)
		t.Setenv("AWS_CONFIG_FILE", write(t, home, "config", "[profile other]\nregion = x\n"))
		t.Setenv("AWS_PROFILE", "nope")
		if _, err := awslite.Load(awslite.Options{}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
			t.Fatalf("err %v", err)
		}
		if _, err := awsconfig.LoadDefaultConfig(context.Background()); err == nil {
			t.Fatal("the SDK accepts it: the test is wrong")
		}
	})
	t.Run("bad file", func(t *testing.T) {
		home := cleanEnv(t)
		t.Setenv("AWS_CONFIG_FILE", write(t, home, "config", "[default\nregion = x\n"))
		if _, err := awslite.Load(awslite.Options{}); err == nil || !strings.Contains(err.Error(), "config:1") {
			t.Fatalf("err %v, want one naming the file and line", err)
		}
	})
}

func TestEndpointURL(t *testing.T) {
	home := cleanEnv(t)
	t.Setenv("AWS_CONFIG_FILE", write(t, home, "config", "[default]\nendpoint_url = http://profile:1\n"))
	cfg, err := awslite.Load(awslite.Options{Credentials: awslite.Static{AccessKeyID: "a", SecretAccessKey: "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.EndpointURL("DYNAMODB"); got != "http://profile:1" {
		t.Fatalf("profile endpoint %q", got)
	}
	t.Setenv("AWS_ENDPOINT_URL", "http://global:2")
	if got := cfg.EndpointURL("DYNAMODB"); got != "http://global:2" {
		t.Fatalf("global endpoint %q", got)
	}
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://ddb:3")
	if got, s3 := cfg.EndpointURL("DYNAMODB"), cfg.EndpointURL("S3"); got != "http://ddb:3" || s3 != "http://global:2" {
		t.Fatalf("service endpoints %q %q", got, s3)
	}
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
	if got := cfg.EndpointURL("DYNAMODB"); got != "" {
		t.Fatalf("ignored endpoints give %q", got)
	}
}

// TestCacheRefreshesBeforeExpiry: credentials are fetched once, again RefreshWindow before
// they expire; a failed refresh while they are valid keeps them; once expired, the error.
func TestCacheRefreshesBeforeExpiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var fetches int
	fail := false
	c := awslite.NewCacheClock(awslite.ProviderFunc(func(context.Context) (awslite.Credentials, error) {
		fetches++
		if fail {
			return awslite.Credentials{}, errors.New("sts down")
		}
		return awslite.Credentials{AccessKeyID: fmt.Sprint("AK", fetches), SecretAccessKey: "s", Expires: now.Add(time.Hour)}, nil
	}), func() time.Time { return now })
	ctx := context.Background()
	get := func() (string, error) {
		cr, err := c.Retrieve(ctx)
		return cr.AccessKeyID, err
	}
	if id, _ := get(); id != "AK1" {
		t.Fatalf("first %s", id)
	}
	base := now
	now = base.Add(54 * time.Minute)
	if id, _ := get(); id != "AK1" || fetches != 1 {
		t.Fatalf("within the window: %s after %d fetches", id, fetches)
	}
	now = base.Add(56 * time.Minute) // within 5 min of expiry
	if id, _ := get(); id != "AK2" || fetches != 2 {
		t.Fatalf("refresh: %s after %d fetches", id, fetches)
	}
	fail = true
	now = now.Add(56 * time.Minute)
	if id, err := get(); err != nil || id != "AK2" {
		t.Fatalf("failed refresh while valid: %s %v", id, err)
	}
	now = now.Add(10 * time.Minute) // expired
	if _, err := get(); err == nil || !strings.Contains(err.Error(), "sts down") {
		t.Fatalf("expired: %v", err)
	}
}

// TestCacheFetchesOnceConcurrently: many callers at once cause one fetch; while a refresh is
// in flight, callers get the still-valid credentials without waiting for it.
func TestCacheFetchesOnceConcurrently(t *testing.T) {
	var fetches atomic.Int32
	release := make(chan struct{})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	c := awslite.NewCacheClock(awslite.ProviderFunc(func(context.Context) (awslite.Credentials, error) {
		n := fetches.Add(1)
		if n > 1 {
			<-release
		}
		return awslite.Credentials{AccessKeyID: fmt.Sprint("AK", n), SecretAccessKey: "s", Expires: now.Add(time.Hour)}, nil
	}), func() time.Time { return *clock.Load() })
	ctx := context.Background()
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		go func() { _, err := c.Retrieve(ctx); errs <- err }()
	}
	for i := 0; i < 50; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if fetches.Load() != 1 {
		t.Fatalf("%d fetches for 50 concurrent callers", fetches.Load())
	}
	later := now.Add(57 * time.Minute) // in the refresh window
	clock.Store(&later)
	done := make(chan awslite.Credentials)
	go func() { cr, _ := c.Retrieve(ctx); done <- cr }() // starts the refresh, blocked in the provider
	for fetches.Load() != 2 {
		time.Sleep(time.Millisecond)
	}
	if cr, err := c.Retrieve(ctx); err != nil || cr.AccessKeyID != "AK1" {
		t.Fatalf("during the refresh: %+v %v, want the old AK1 at once", cr, err)
	}
	close(release)
	if cr := <-done; cr.AccessKeyID != "AK2" {
		t.Fatalf("refresh gave %s", cr.AccessKeyID)
	}
}
