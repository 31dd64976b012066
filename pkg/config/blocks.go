package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
)

// Kafka is the connection to the Kafka cluster, shared by both services.
type Kafka struct {
	// Brokers are the bootstrap addresses (host:port). Required.
	Brokers []string `yaml:"brokers"`
	// ClientID names the client in broker logs and quotas. Default "sluice".
	ClientID string `yaml:"client_id"`
	TLS      TLS    `yaml:"tls"`
	SASL     SASL   `yaml:"sasl"`
}

// TLS configures encryption to the brokers.
type TLS struct {
	Enabled bool `yaml:"enabled"`
	// CAFile verifies the brokers; empty uses the system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile enable client authentication; both or neither.
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// SASL configures authentication.
type SASL struct {
	// Mechanism is "", "PLAIN", "SCRAM-SHA-256" or "SCRAM-SHA-512".
	Mechanism string `yaml:"mechanism"`
	User      string `yaml:"user"`
	Password  Secret `yaml:"password"`
}

// SetDefaults applies the documented defaults.
func (k *Kafka) SetDefaults() {
	if k.ClientID == "" {
		k.ClientID = "sluice"
	}
}

// Validate reports every problem of the Kafka block.
func (k *Kafka) Validate() error {
	var p Problems
	if len(k.Brokers) == 0 {
		p.Add("brokers", "must list at least one broker (host:port)")
	}
	for i, b := range k.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			p.Add(fmt.Sprintf("brokers[%d]", i), "%q is not host:port", b)
		}
	}
	if (k.TLS.CertFile == "") != (k.TLS.KeyFile == "") {
		p.Add("tls", "cert_file and key_file must be set together")
	}
	if !k.TLS.Enabled && (k.TLS.CAFile != "" || k.TLS.CertFile != "") {
		p.Add("tls.enabled", "is false but TLS files are set; set enabled: true or remove them")
	}
	switch k.SASL.Mechanism {
	case "":
		if k.SASL.User != "" {
			p.Add("sasl.mechanism", "must be set when sasl.user is set (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)")
		}
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		if k.SASL.User == "" || k.SASL.Password == "" {
			p.Add("sasl", "%s needs user and password", k.SASL.Mechanism)
		}
	default:
		p.Add("sasl.mechanism", "%q is not supported (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", k.SASL.Mechanism)
	}
	return p.Err()
}

// TLSConfig builds the *tls.Config, or nil when TLS is off. Errors name the
// file that could not be used.
func (t TLS) TLSConfig() (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // opt-in, documented
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %s: no PEM certificate found", t.CAFile)
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file/key_file: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// HTTP is the metrics and health listener.
type HTTP struct {
	// Listen is the address of /metrics, /healthz and /readyz. Default ":9090".
	Listen string `yaml:"listen"`
}

func (h *HTTP) SetDefaults() {
	if h.Listen == "" {
		h.Listen = ":9090"
	}
}

func (h *HTTP) Validate() error {
	var p Problems
	if _, _, err := net.SplitHostPort(h.Listen); err != nil {
		p.Add("listen", "%q is not host:port (e.g. \":9090\")", h.Listen)
	}
	return p.Err()
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is json or console. Default json.
	Format string `yaml:"format"`
}

func (l *Log) SetDefaults() {
	if l.Level == "" {
		l.Level = "info"
	}
	if l.Format == "" {
		l.Format = "json"
	}
}

func (l *Log) Validate() error {
	var p Problems
	switch strings.ToLower(l.Level) {
	case "debug", "info", "warn", "error":
	default:
		p.Add("level", "%q is not one of debug, info, warn, error", l.Level)
	}
	if l.Format != "json" && l.Format != "console" {
		p.Add("format", "%q is not json or console", l.Format)
	}
	return p.Err()
}
