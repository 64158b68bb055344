package awslite

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is what Load finds in the environment and the shared files, as the SDK's
// config.LoadDefaultConfig does: the region, the credentials and the endpoint overrides.
type Config struct {
	// Region is AWS_REGION, else AWS_DEFAULT_REGION, else the profile's region; "" when none is
	// configured.
	Region string
	// Credentials is the default credential chain (see Load), cached (Cache). Fetching
	// credentials happens on the first Retrieve, not in Load.
	Credentials Provider
	// Profile is the shared-config profile in use: AWS_PROFILE, else AWS_DEFAULT_PROFILE, else
	// "default".
	Profile string
	// RootCAs is the CA bundle of AWS_CA_BUNDLE, else of the profile's ca_bundle, which then
	// replaces the system's roots for every AWS request, as with the SDK; nil without one.
	RootCAs *x509.CertPool

	profile map[string]string // the profile's settings (config file, then credentials file)
}

// Options tune Load. The zero value is the SDK's behaviour.
type Options struct {
	// HTTPClient fetches credentials (STS, the container endpoint, the instance metadata
	// service). Default: a client with a 5 s timeout (1 s per instance-metadata request).
	HTTPClient *http.Client
	// Now is the clock of the credential cache. Default time.Now.
	Now func() time.Time
	// Credentials, when set, are used instead of the chain (which is then not resolved: a
	// profile the chain cannot use is no error). Config.Credentials is then exactly them.
	Credentials Provider
}

// Load resolves the region and builds the credential chain, in the SDK's order:
//
//  1. AWS_ACCESS_KEY_ID (or AWS_ACCESS_KEY) and AWS_SECRET_ACCESS_KEY (or AWS_SECRET_KEY), with
//     AWS_SESSION_TOKEN;
//  2. AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN (and AWS_ROLE_SESSION_NAME): STS
//     AssumeRoleWithWebIdentity (EKS IAM roles for service accounts);
//  3. the profile (AWS_PROFILE, else "default") of the shared credentials file
//     (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials) and config file (AWS_CONFIG_FILE,
//     else ~/.aws/config): its aws_access_key_id/aws_secret_access_key/aws_session_token, or
//     its web_identity_token_file with role_arn;
//  4. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (ECS) or
//     AWS_CONTAINER_CREDENTIALS_FULL_URI (EKS Pod Identity, local endpoints), with
//     AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or AWS_CONTAINER_AUTHORIZATION_TOKEN;
//  5. the instance role from the instance metadata service (IMDSv2, falling back to IMDSv1 as
//     the SDK does; AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_DISABLED).
//
// A profile that asks for what only the SDK does (sso_session/sso_start_url, credential_process,
// login_session, role_arn with source_profile or credential_source) is an error naming the
// setting. An AWS_PROFILE that no file holds is an error.
func Load(opts Options) (*Config, error) {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg := &Config{Profile: firstEnv("AWS_PROFILE", "AWS_DEFAULT_PROFILE")}
	explicit := cfg.Profile != ""
	if !explicit {
		cfg.Profile = "default"
	}
	prof, files, err := loadProfile(cfg.Profile)
	if err != nil {
		return nil, err
	}
	if prof == nil {
		if explicit {
			return nil, fmt.Errorf("aws config: profile %q (AWS_PROFILE) is in neither %s", cfg.Profile, strings.Join(files, " nor "))
		}
		prof = map[string]string{}
	}
	cfg.profile = prof
	if bundle := firstEnv("AWS_CA_BUNDLE"); bundle != "" || prof["ca_bundle"] != "" {
		setting := "AWS_CA_BUNDLE"
		if bundle == "" {
			bundle, setting = prof["ca_bundle"], fmt.Sprintf("ca_bundle of profile %q", cfg.Profile)
		}
		pem, err := os.ReadFile(bundle)
		if err != nil {
			return nil, fmt.Errorf("aws config: %s: %w", setting, err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("aws config: %s: %s holds no PEM certificate", setting, bundle)
		}
		if opts.HTTPClient.Transport == nil {
			opts.HTTPClient.Transport = cfg.Transport()
		}
	}
	cfg.Region = firstEnv("AWS_REGION", "AWS_DEFAULT_REGION")
	if cfg.Region == "" {
		cfg.Region = prof["region"]
	}
	if opts.Credentials != nil {
		cfg.Credentials = opts.Credentials
		return cfg, nil
	}
	p, err := cfg.chain(opts, strings.Join(files, ", "))
	if err != nil {
		return nil, err
	}
	cache := NewCache(p)
	cache.now = opts.Now
	cfg.Credentials = cache
	return cfg, nil
}

// Transport is a clone of http.DefaultTransport trusting RootCAs when set.
func (c *Config) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if c != nil && c.RootCAs != nil {
		t.TLSClientConfig = &tls.Config{RootCAs: c.RootCAs}
	}
	return t
}

// EndpointURL is the endpoint configured for a service (its SDK ID upper-cased with spaces as
// underscores, e.g. "DYNAMODB", "S3", "STS"): AWS_ENDPOINT_URL_<ID>, else AWS_ENDPOINT_URL,
// else the profile's endpoint_url; "" when none is, or AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is
// true.
func (c *Config) EndpointURL(service string) string {
	if strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		return ""
	}
	if u := firstEnv("AWS_ENDPOINT_URL_"+service, "AWS_ENDPOINT_URL"); u != "" {
		return u
	}
	if c == nil {
		return ""
	}
	return c.profile["endpoint_url"]
}

func (c *Config) chain(opts Options, files string) (Provider, error) {
	id := firstEnv("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY")
	secret := firstEnv("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY")
	if id != "" && secret != "" {
		return Static{AccessKeyID: id, SecretAccessKey: secret, SessionToken: os.Getenv("AWS_SESSION_TOKEN"), Source: "environment (AWS_ACCESS_KEY_ID)"}, nil
	}
	if f := os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE"); f != "" {
		return c.webIdentity(opts, f, os.Getenv("AWS_ROLE_ARN"), os.Getenv("AWS_ROLE_SESSION_NAME"), "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")
	}
	p := c.profile
	where := fmt.Sprintf("profile %q (%s)", c.Profile, files)
	unsupported := func(setting, what string) error {
		return fmt.Errorf("aws config: %s sets %s (%s), which featuregraph's credential chain does not support: "+
			"give it credentials another way (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, aws_access_key_id in the profile, "+
			"web identity, container or instance-role credentials), e.g. export the SSO or assumed-role session with "+
			"`aws configure export-credentials --format env`", where, setting, what)
	}
	var prov Provider
	switch {
	case p["source_profile"] != "":
		return nil, unsupported("source_profile", "assume-role chains")
	case p["aws_access_key_id"] != "" && p["aws_secret_access_key"] != "":
		prov = Static{AccessKeyID: p["aws_access_key_id"], SecretAccessKey: p["aws_secret_access_key"], SessionToken: p["aws_session_token"],
			Source: "shared files, " + where}
	case p["aws_access_key_id"] != "" || p["aws_secret_access_key"] != "":
		return nil, fmt.Errorf("aws config: %s sets only one of aws_access_key_id and aws_secret_access_key", where)
	case p["credential_source"] != "":
		return nil, unsupported("credential_source", "assume role with credentials from the environment, container or instance")
	case p["web_identity_token_file"] != "":
		return c.webIdentity(opts, p["web_identity_token_file"], p["role_arn"], p["role_session_name"], "web_identity_token_file", "role_arn")
	case p["sso_session"] != "" || p["sso_start_url"] != "" || p["sso_account_id"] != "":
		return nil, unsupported("sso_session/sso_start_url", "IAM Identity Center (SSO) login")
	case p["login_session"] != "":
		return nil, unsupported("login_session", "`aws login` sessions")
	case p["credential_process"] != "":
		return nil, unsupported("credential_process", "credentials from an external command")
	case os.Getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != "":
		prov = containerProvider(opts.HTTPClient, "http://169.254.170.2"+os.Getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"))
	case os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI") != "":
		u := os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")
		if err := checkContainerURL(u); err != nil {
			return nil, err
		}
		prov = containerProvider(opts.HTTPClient, u)
	default:
		prov = imdsProvider(opts.HTTPClient, files)
	}
	if p["role_arn"] != "" {
		return nil, unsupported("role_arn", "assume role")
	}
	return prov, nil
}

func (c *Config) webIdentity(opts Options, tokenFile, roleARN, session, fileSetting, roleSetting string) (Provider, error) {
	if roleARN == "" {
		return nil, fmt.Errorf("aws config: %s is set but %s is not: web identity needs the role to assume", fileSetting, roleSetting)
	}
	endpoint := c.EndpointURL("STS")
	if endpoint == "" {
		endpoint = stsEndpoint(c.Region)
	}
	return webIdentityProvider(opts.HTTPClient, endpoint, tokenFile, roleARN, session), nil
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// loadProfile reads the profile's settings from the config file and then the credentials
// file (whose values win), as the SDK does. It returns nil when neither has the profile, and
// the files it looked in.
func loadProfile(name string) (map[string]string, []string, error) {
	home, _ := os.UserHomeDir()
	configFile := os.Getenv("AWS_CONFIG_FILE")
	if configFile == "" {
		configFile = filepath.Join(home, ".aws", "config")
	}
	credsFile := os.Getenv("AWS_SHARED_CREDENTIALS_FILE")
	if credsFile == "" {
		credsFile = filepath.Join(home, ".aws", "credentials")
	}
	files := []string{configFile, credsFile}
	var prof map[string]string
	for i, file := range files {
		sections, err := parseINI(file)
		if err != nil {
			return nil, files, err
		}
		var sec map[string]string
		if i == 0 { // config file: [profile name], and [default] for the default profile
			sec = sections["profile "+name]
			if sec == nil && name == "default" {
				sec = sections["default"]
			}
		} else {
			sec = sections[name]
		}
		if sec == nil {
			continue
		}
		if prof == nil {
			prof = map[string]string{}
		}
		for k, v := range sec {
			prof[k] = v
		}
	}
	return prof, files, nil
}

// parseINI reads an AWS shared config or credentials file: [section] headers, key = value
// lines, # and ; comments; indented lines (nested settings such as "s3 =" blocks) are skipped.
// A missing file is empty.
func parseINI(path string) (map[string]map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	defer f.Close()
	out := map[string]map[string]string{}
	var cur map[string]string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return nil, fmt.Errorf("aws config: %s:%d: section header %q has no closing ]", path, n, line)
			}
			name := strings.Join(strings.Fields(line[1:end]), " ")
			if out[name] == nil {
				out[name] = map[string]string{}
			}
			cur = out[name]
			continue
		}
		if raw[0] == ' ' || raw[0] == '\t' {
			continue // a nested setting
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("aws config: %s:%d: want key = value, got %q", path, n, line)
		}
		if cur == nil {
			continue // before any section: the SDK ignores it too
		}
		v = strings.TrimSpace(v)
		if i := strings.Index(v, " #"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		} else if i := strings.Index(v, " ;"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		cur[strings.ToLower(strings.TrimSpace(k))] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("aws config: read %s: %w", path, err)
	}
	return out, nil
}
