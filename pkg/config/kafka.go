package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strconv"
)

// Kafka is the connection to the Kafka cluster, shared by both services.
// Turning it into client options is pkg/kafka's job; this block only
// holds and checks the settings.
type Kafka struct {
	// Brokers are the bootstrap addresses, host:port. Required, no default.
	Brokers []string `yaml:"brokers"`
	// ClientID names the client in broker logs and quotas. Default "sluice".
	ClientID string `yaml:"client_id"`
	// TLS is off by default.
	TLS TLS `yaml:"tls"`
	// SASL is off by default (empty mechanism).
	SASL SASL `yaml:"sasl"`
}

// TLS configures encryption to the brokers.
type TLS struct {
	// Enabled turns TLS on. Default false.
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM bundle that verifies the brokers. Default empty: the
	// system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// brokers that authenticate clients by certificate. Both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the broker certificate.
	// Default empty: the broker's host name.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify disables verification of the broker certificate.
	// Default false; for test clusters only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// SASL configures authentication to the brokers.
type SASL struct {
	// Mechanism is "" (no SASL, the default), "PLAIN", "SCRAM-SHA-256" or
	// "SCRAM-SHA-512".
	Mechanism string `yaml:"mechanism"`
	// User and Password are required when Mechanism is set.
	User     string `yaml:"user"`
	Password Secret `yaml:"password"`
}

// SASL mechanisms.
const (
	SASLPlain       = "PLAIN"
	SASLSCRAMSHA256 = "SCRAM-SHA-256"
	SASLSCRAMSHA512 = "SCRAM-SHA-512"
)

// SetDefaults applies the documented defaults.
func (k *Kafka) SetDefaults() {
	k.ClientID = "sluice"
}

// Validate reports every problem of the block, with paths relative to it.
// It does not read the TLS files; TLSConfig does, at startup and in
// --check-config, where the files must exist.
func (k *Kafka) Validate() error {
	var p Problems
	if len(k.Brokers) == 0 {
		p.Add("brokers", "must list at least one broker (host:port)")
	}
	for i, b := range k.Brokers {
		if msg := checkHostPort(b, true); msg != "" {
			p.Add(fmt.Sprintf("brokers[%d]", i), "%q %s", b, msg)
		}
	}
	if k.ClientID == "" {
		p.Add("client_id", "must not be empty")
	}
	t := k.TLS
	if t.CertFile != "" && t.KeyFile == "" {
		p.Add("tls.key_file", "must be set when tls.cert_file is set")
	}
	if t.KeyFile != "" && t.CertFile == "" {
		p.Add("tls.cert_file", "must be set when tls.key_file is set")
	}
	if !t.Enabled && (t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify) {
		p.Add("tls.enabled", "is false but other tls settings are set; set enabled: true or remove them")
	}
	s := k.SASL
	switch s.Mechanism {
	case "":
		if s.User != "" || s.Password != "" {
			p.Add("sasl.mechanism", "must be set when sasl.user or sasl.password is set (%s, %s or %s)", SASLPlain, SASLSCRAMSHA256, SASLSCRAMSHA512)
		}
	case SASLPlain, SASLSCRAMSHA256, SASLSCRAMSHA512:
		if s.User == "" {
			p.Add("sasl.user", "must be set for %s", s.Mechanism)
		}
		if s.Password == "" {
			p.Add("sasl.password", "must be set for %s", s.Mechanism)
		}
	default:
		p.Add("sasl.mechanism", "%q is not supported (%s, %s or %s)", s.Mechanism, SASLPlain, SASLSCRAMSHA256, SASLSCRAMSHA512)
	}
	return p.Err()
}

// TLSConfig builds the client *tls.Config, or nil when TLS is off. Every
// error names the setting and the file that could not be used.
func (t TLS) TLSConfig() (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	c := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // opt-in, documented as test-only
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %s: no PEM certificate in it", t.CAFile)
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		if t.CertFile == "" || t.KeyFile == "" {
			return nil, fmt.Errorf("tls.cert_file and tls.key_file must be set together")
		}
		certPEM, err := os.ReadFile(t.CertFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file: %w", err)
		}
		keyPEM, err := os.ReadFile(t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.key_file: %w", err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file %s with tls.key_file %s: %w", t.CertFile, t.KeyFile, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// checkHostPort returns why addr is not host:port with a port number, or
// "" when it is. An empty host (":9090") is allowed for listeners only.
func checkHostPort(addr string, needHost bool) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "is not host:port"
	}
	if needHost && host == "" {
		return "has no host"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 || (needHost && n == 0) {
		return fmt.Sprintf("has a bad port %q", port)
	}
	return ""
}
