package cli

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/featuregraph/featuregraph/auth"
	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/registry"
)

// accessOptions are serve's access-control flags (docs/access-control.md).
type accessOptions struct {
	clients     string
	authMode    string
	trusted     string
	trustedMode string
	auditLog    string
	auditSample float64
	tlsCert     string
	tlsKey      string
	tlsClientCA string
	auditOut    *os.File
}

func (o *accessOptions) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.clients, "clients", "", "clients file (YAML): API key hashes, OIDC subjects and certificate subjects of each client and what it may read and write; access control is on whenever it is given")
	fs.StringVar(&o.authMode, "auth", "", "none: run without access control even with --production (default: on with --clients, off without)")
	fs.StringVar(&o.trusted, "trusted-documents", "", "allowlist of operations: a directory of *.graphql files or a JSON file of hash → query (or an Apollo persisted-query manifest); clients may send only the hash")
	fs.StringVar(&o.trustedMode, "trusted-documents-mode", auth.TrustedEnforce, "enforce: refuse operations not in --trusted-documents; log-unknown: serve and log them (a client's trustedDocuments overrides it)")
	fs.StringVar(&o.auditLog, "audit-log", "", "audit log: one JSON line per request (client, operation and hash, entities, features read or written, status, latency); - for the server's log, else a file appended to")
	fs.Float64Var(&o.auditSample, "audit-sample", 1, "fraction of requests written to the audit log (0 to 1)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this certificate (PEM; with --tls-key)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "private key of --tls-cert (PEM)")
	fs.StringVar(&o.tlsClientCA, "tls-client-ca", "", "CA bundle (PEM) of client certificates: a verified certificate's subject identifies its client (certSubjects in --clients)")
}

// check refuses what cannot work before anything starts: --production without a clients file
// (unless --auth=none), --auth values, TLS halves.
func (o *accessOptions) check(production bool) error {
	switch o.authMode {
	case "", "none":
	default:
		return fmt.Errorf("--auth %q: the only value is none (access control is on whenever --clients is given)", o.authMode)
	}
	if o.authMode == "none" && o.clients != "" {
		return errors.New("--auth=none with --clients: give one or the other")
	}
	if production && o.clients == "" && o.authMode != "none" {
		return errors.New("--production needs --clients (a clients file: who may read and write what) or an explicit --auth=none " +
			"(anyone who reaches the port may then read every feature and, with --push, write any)")
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if o.tlsClientCA != "" && o.tlsCert == "" {
		return errors.New("--tls-client-ca needs --tls-cert and --tls-key (client certificates are a TLS feature)")
	}
	if o.auditSample < 0 || o.auditSample > 1 {
		return fmt.Errorf("--audit-sample %v must be between 0 and 1", o.auditSample)
	}
	return nil
}

// open loads the clients file, the trusted documents and the audit log into cfg.
func (o *accessOptions) open(reg *registry.Registry, log *slog.Logger, cfg *gateway.AccessConfig) error {
	if o.clients != "" {
		p, err := auth.LoadFile(o.clients, reg, auth.Options{})
		if err != nil {
			return err
		}
		cfg.Policy = p
		log.Info("access control on", "clients_file", o.clients, "clients", p.Clients())
	} else {
		log.Warn("access control off: anyone who reaches the port may read every feature (and push, when the push endpoint is on); give --clients")
	}
	if o.trusted != "" {
		t, err := gateway.LoadTrustedDocuments(o.trusted)
		if err != nil {
			return err
		}
		cfg.TrustedDocuments, cfg.TrustedMode = t, o.trustedMode
		log.Info("trusted documents", "documents", t.Len(), "mode", o.trustedMode)
	}
	switch o.auditLog {
	case "":
	case "-":
		cfg.Audit = log.With("log", "audit")
	default:
		f, err := os.OpenFile(o.auditLog, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("--audit-log: %w", err)
		}
		o.auditOut = f
		cfg.Audit = slog.New(slog.NewJSONHandler(f, nil))
	}
	cfg.AuditSample = o.auditSample
	if cfg.AuditSample == 0 {
		cfg.Audit = nil // none sampled
	}
	return nil
}

func (o *accessOptions) close() {
	if o.auditOut != nil {
		_ = o.auditOut.Close()
	}
}

// listener wraps ln in TLS when --tls-cert is given, asking for (and verifying, when given)
// client certificates with --tls-client-ca.
func (o *accessOptions) listener(ln net.Listener) (net.Listener, error) {
	if o.tlsCert == "" {
		return ln, nil
	}
	cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if o.tlsClientCA != "" {
		pem, err := os.ReadFile(o.tlsClientCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-client-ca %s: no PEM certificate in it", o.tlsClientCA)
		}
		// Verified when given: a client without a certificate may still use an API key or token.
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return tls.NewListener(ln, cfg), nil
}
