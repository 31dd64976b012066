package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// clientCert makes a self-signed client certificate and key in dir.
func clientCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sluice-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)
	return certFile, keyFile
}

// TestTLSConfigHandshake builds a config from files and uses it for a
// real handshake with a server that requires a client certificate.
func TestTLSConfigHandshake(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := clientCert(t, dir)

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 1 {
			_, _ = w.Write([]byte(r.TLS.PeerCertificates[0].Subject.CommonName))
		}
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted case below fails on purpose
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(dir, "ca.pem")
	writePEM(t, caFile, "CERTIFICATE", srv.Certificate().Raw)

	c, err := TLS{Enabled: true, CAFile: caFile, CertFile: certFile, KeyFile: keyFile, ServerName: "example.com"}.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: c}}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatalf("handshake with the built config: %v", err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	n, _ := resp.Body.Read(buf)
	if string(buf[:n]) != "sluice-test" {
		t.Errorf("server saw client cert %q", buf[:n])
	}

	// Without the CA the same server is not trusted: the CA file is used.
	c2, err := TLS{Enabled: true, ServerName: "example.com"}.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&http.Client{Transport: &http.Transport{TLSClientConfig: c2}}).Get(srv.URL)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("without ca_file: err = %v, want unknown authority", err)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := clientCert(t, dir)
	otherCert, _ := clientCert(t, t.TempDir())
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tls  TLS
		want []string
	}{
		{TLS{Enabled: true, CAFile: "/nonexistent/ca.pem"}, []string{"tls.ca_file", "/nonexistent/ca.pem", "no such file"}},
		{TLS{Enabled: true, CAFile: notPEM}, []string{"tls.ca_file", notPEM, "no PEM certificate"}},
		{TLS{Enabled: true, CertFile: certFile}, []string{"tls.cert_file and tls.key_file must be set together"}},
		{TLS{Enabled: true, CertFile: "/nonexistent/c.pem", KeyFile: keyFile}, []string{"tls.cert_file", "/nonexistent/c.pem"}},
		{TLS{Enabled: true, CertFile: certFile, KeyFile: "/nonexistent/k.pem"}, []string{"tls.key_file", "/nonexistent/k.pem"}},
		{TLS{Enabled: true, CertFile: otherCert, KeyFile: keyFile}, []string{"tls.cert_file " + otherCert, "tls.key_file " + keyFile}},
	}
	for _, tt := range tests {
		_, err := tt.tls.TLSConfig()
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: err = %v, want it to contain %q", tt.tls, err, w)
			}
		}
	}
	if c, err := (TLS{CAFile: "/ignored"}).TLSConfig(); c != nil || err != nil {
		t.Errorf("disabled TLS = %v, %v; want nil, nil", c, err)
	}
}

func TestKafkaValidate(t *testing.T) {
	k := Kafka{}
	k.SetDefaults()
	k.Brokers = []string{"a:9092", "b:0", "c:x", "[::1]:9092"}
	k.SASL = SASL{Mechanism: SASLSCRAMSHA256}
	err := k.Validate()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
	var got []string
	for _, p := range e.Problems {
		got = append(got, p.String())
	}
	want := []string{
		`brokers[1]: "b:0" has a bad port "0"`,
		`brokers[2]: "c:x" has a bad port "x"`,
		`sasl.password: must be set for SCRAM-SHA-256`,
		`sasl.user: must be set for SCRAM-SHA-256`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
