package kafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/sluice-cdc/sluice/pkg/config"
	"github.com/sluice-cdc/sluice/pkg/testenv"
)

// ping connects with opts and fetches metadata, which needs a completed
// TLS handshake and SASL authentication.
func ping(t *testing.T, opts []kgo.Opt) error {
	t.Helper()
	cl, err := kgo.NewClient(append(opts, kgo.RetryTimeout(2*time.Second), kgo.RequestRetries(1))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = kadm.NewClient(cl).BrokerMetadata(ctx)
	return err
}

func TestClientOptsSASL(t *testing.T) {
	const pass = "s3cret-pässword"
	for _, mech := range []string{config.SASLPlain, config.SASLSCRAMSHA256, config.SASLSCRAMSHA512} {
		t.Run(mech, func(t *testing.T) {
			f := testenv.NewKfake(t, kfake.EnableSASL(), kfake.Superuser(mech, "sluice", pass))
			cfg := config.Kafka{Brokers: f.Brokers(), ClientID: "sluice-test",
				SASL: config.SASL{Mechanism: mech, User: "sluice", Password: config.Secret(pass)}}
			opts, err := ClientOpts(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := ping(t, opts); err != nil {
				t.Fatalf("authenticating with %s: %v", mech, err)
			}
			cfg.SASL.Password = "wrong"
			opts, err = ClientOpts(cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = ping(t, opts)
			if err == nil {
				t.Fatalf("%s with a wrong password connected", mech)
			}
			if strings.Contains(err.Error(), "wrong") || strings.Contains(err.Error(), pass) {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}

func TestClientOptsErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  config.Kafka
		want string
	}{
		{config.Kafka{}, "kafka.brokers"},
		{config.Kafka{Brokers: []string{"b:9092"}, SASL: config.SASL{Mechanism: "GSSAPI", User: "u", Password: "pw-xyz"}}, `"GSSAPI" is not supported`},
		{config.Kafka{Brokers: []string{"b:9092"}, SASL: config.SASL{Mechanism: config.SASLPlain, Password: "pw-xyz"}}, "kafka.sasl.user"},
		{config.Kafka{Brokers: []string{"b:9092"}, TLS: config.TLS{Enabled: true, CAFile: "/nonexistent/ca.pem"}}, "kafka.tls.ca_file"},
	} {
		_, err := ClientOpts(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ClientOpts(%+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw-xyz") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

// TestClientOptsTLS runs kfake behind TLS with a certificate from a test
// CA: a client trusting that CA (tls.ca_file) connects, checking the
// server name given by tls.server_name; one using the system roots does not.
func TestClientOptsTLS(t *testing.T) {
	caFile, serverCert := testCA(t, "kafka.sluice.test")
	f := testenv.NewKfake(t, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}))
	cfg := config.Kafka{Brokers: f.Brokers(), TLS: config.TLS{Enabled: true, CAFile: caFile, ServerName: "kafka.sluice.test"}}
	opts, err := ClientOpts(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ping(t, opts); err != nil {
		t.Fatalf("TLS with the test CA: %v", err)
	}
	cfg.TLS.CAFile = ""
	opts, err = ClientOpts(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ping(t, opts); err == nil {
		t.Fatal("a client without the test CA accepted the broker certificate")
	}
	cfg.TLS.CAFile, cfg.TLS.ServerName = caFile, "other.name"
	opts, err = ClientOpts(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ping(t, opts); err == nil {
		t.Fatal("a certificate for kafka.sluice.test was accepted for other.name")
	}
}

// testCA writes a new CA certificate to a file and returns it with a
// server certificate for host signed by that CA.
func testCA(t *testing.T, host string) (string, tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), DNSNames: []string{host},
		IPAddresses: []net.IP{net.ParseIP("10.255.255.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestZapLogger: franz-go lines at or above the level reach zap with their
// key-value pairs as fields; lower ones are dropped.
func TestZapLogger(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := ZapLogger(zap.New(core), kgo.LogLevelWarn)
	if l.Level() != kgo.LogLevelWarn {
		t.Fatalf("Level() = %v", l.Level())
	}
	l.Log(kgo.LogLevelInfo, "chatty", "broker", 1)
	l.Log(kgo.LogLevelWarn, "retrying", "broker", 1, "err", "connection refused")
	l.Log(kgo.LogLevelError, "fatal", "topic", "t")
	got := logs.All()
	if len(got) != 2 || got[0].Message != "retrying" || got[0].Level != zapcore.WarnLevel ||
		got[0].ContextMap()["err"] != "connection refused" || got[1].Level != zapcore.ErrorLevel || got[0].LoggerName != "kgo" {
		t.Fatalf("logged %+v", got)
	}
}
