package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var mtlsSerial int64 = 1

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	cert, _, key := newTestCert(t, name, nil, &x509.Certificate{
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	})
	return &testCA{cert: cert, key: key}
}

// issue signs a leaf certificate for a server (with 127.0.0.1 as its
// address) or a client.
func (ca *testCA) issue(t *testing.T, name string, server bool) tls.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	leaf, der, key := newTestCert(t, name, ca, tmpl)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// newTestCert makes a new key and a certificate of it from tmpl for the
// subject name, valid from an hour ago to an hour from now with a serial
// number of its own, signed by ca or self-signed when ca is nil.
func newTestCert(t *testing.T, name string, ca *testCA, tmpl *x509.Certificate) (*x509.Certificate, []byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	mtlsSerial++
	tmpl.SerialNumber = big.NewInt(mtlsSerial)
	tmpl.Subject = pkix.Name{CommonName: name}
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(time.Hour)
	parent, parentKey := tmpl, key
	if ca != nil {
		parent, parentKey = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, der, key
}

func writeTestPEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func certFingerprint(c tls.Certificate) string {
	sum := sha256.Sum256(c.Certificate[0])
	return hex.EncodeToString(sum[:])
}

// mtlsServer is `eitaxii serve` with TLS and a client CA, an account
// "feed" authenticated by a registered client certificate and an account
// "alice" by password, in different groups so that discovery tells who
// was authenticated.
type mtlsServer struct {
	addr       string
	roots      *x509.CertPool
	registered tls.Certificate // registered to feed
	unknown    tls.Certificate // signed by the client CA, registered to nobody
	foreign    tls.Certificate // signed by another CA, its fingerprint registered to feed
}

func startMTLS(t *testing.T) *mtlsServer {
	t.Helper()
	dir := t.TempDir()
	serverCA := newTestCA(t, "eitaxii test server CA")
	clientCA := newTestCA(t, "eitaxii test client CA")
	otherCA := newTestCA(t, "another CA")
	srvCert := serverCA.issue(t, "127.0.0.1", true)
	m := &mtlsServer{
		roots:      x509.NewCertPool(),
		registered: clientCA.issue(t, "feed", false),
		unknown:    clientCA.issue(t, "stranger", false),
		foreign:    otherCA.issue(t, "feed impostor", false),
	}
	m.roots.AddCert(serverCA.cert)

	certFile, keyFile, caFile := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"), filepath.Join(dir, "clients-ca.pem")
	writeTestPEM(t, certFile, "CERTIFICATE", srvCert.Certificate[0])
	keyDER, err := x509.MarshalPKCS8PrivateKey(srvCert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	writeTestPEM(t, keyFile, "PRIVATE KEY", keyDER)
	writeTestPEM(t, caFile, "CERTIFICATE", clientCA.cert.Raw)

	hash, err := bcrypt.GenerateFromPassword([]byte("alice-password-1"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, `
data_dir: `+filepath.Join(dir, "data")+`
tls:
  cert_file: `+certFile+`
  key_file: `+keyFile+`
  client_ca_file: `+caFile+`
discovery: {title: eitaxii}
accounts:
  - name: alice
    password_hash: "`+string(hash)+`"
  - name: feed
    kind: machine
    certificates: ["`+certFingerprint(m.registered)+`", "`+certFingerprint(m.foreign)+`"]
groups:
  - {name: officials, title: Officials, members: {feed: reader}}
  - {name: vendors, title: Vendors, members: {alice: reader}}
`)
	base, _, _, _ := startServe(t, "--config", cfg)
	m.addr = strings.TrimPrefix(base, "http://")
	return m
}

// client returns an HTTPS client trusting the test server CA, changed by
// tweak if given. It presents certs[0], if any, whatever CAs the server
// names: Go's client would otherwise send no certificate that does not
// chain to one of them, and the server's own check would go untested.
func (m *mtlsServer) client(certs []tls.Certificate, tweak func(*tls.Config)) *http.Client {
	cfg := &tls.Config{RootCAs: m.roots}
	if len(certs) > 0 {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &certs[0], nil }
	}
	if tweak != nil {
		tweak(cfg)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
}

// discovery GETs /taxii2/ and returns the status and body, or the error.
func (m *mtlsServer) discovery(t *testing.T, c *http.Client, basicUser, basicPass string) (int, string, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "https://"+m.addr+"/taxii2/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/taxii+json;version=2.1")
	if basicUser != "" {
		req.SetBasicAuth(basicUser, basicPass)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// Ensure that with tls.client_ca_file a client certificate signed by that
// CA and registered to an account authenticates it; one registered to
// nobody, or signed by another CA, does not; Basic works beside it, and
// alone.
func TestServe_MTLS(t *testing.T) {
	m := startMTLS(t)
	tests := []struct {
		name       string
		certs      []tls.Certificate
		user, pass string
		wantStatus int    // 0: the TLS handshake must fail
		wantRoot   string // in the discovery answer
	}{
		{"registered certificate", []tls.Certificate{m.registered}, "", "", 200, `"/officials/"`},
		{"unregistered certificate of the client CA", []tls.Certificate{m.unknown}, "", "", 401, ""},
		{"certificate of another CA with a registered fingerprint", []tls.Certificate{m.foreign}, "", "", 0, ""},
		{"no certificate, no credentials", nil, "", "", 401, ""},
		{"Basic without a certificate", nil, "alice", "alice-password-1", 200, `"/vendors/"`},
		{"Basic beside a registered certificate", []tls.Certificate{m.registered}, "alice", "alice-password-1", 200, `"/vendors/"`},
		{"Basic beside an unregistered certificate", []tls.Certificate{m.unknown}, "alice", "alice-password-1", 200, `"/vendors/"`},
		{"wrong password beside a registered certificate", []tls.Certificate{m.registered}, "alice", "wrong", 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, err := m.discovery(t, m.client(tt.certs, nil), tt.user, tt.pass)
			switch {
			case tt.wantStatus == 0 && err == nil:
				t.Fatalf("status %d %s, want a failed handshake", code, body)
			case tt.wantStatus == 0:
				return
			case err != nil:
				t.Fatalf("request failed: %v", err)
			case code != tt.wantStatus:
				t.Fatalf("status %d, want %d; %s", code, tt.wantStatus, body)
			}
			if !strings.Contains(body, tt.wantRoot) {
				t.Errorf("discovery %s, want it to list %s", body, tt.wantRoot)
			}
			if tt.wantRoot == `"/vendors/"` && strings.Contains(body, "officials") {
				t.Errorf("Basic beside a certificate authenticated the certificate's account too: %s", body)
			}
		})
	}
}

// Ensure that the TLS server accepts TLS 1.2 with an AEAD suite and TLS
// 1.3 (REQ-01, REQ-02) and refuses TLS 1.1 and a TLS 1.2 client offering
// only CBC suites (REQ-04).
func TestServe_TLSVersionsAndSuites(t *testing.T) {
	m := startMTLS(t)
	tests := []struct {
		name string
		cfg  func(*tls.Config)
		ok   bool
	}{
		{"TLS 1.2 AEAD", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
		}, true},
		{"TLS 1.3", func(c *tls.Config) { c.MinVersion = tls.VersionTLS13 }, true},
		{"TLS 1.1 only", func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11 }, false},
		{"TLS 1.2 CBC only", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &tls.Config{RootCAs: m.roots, Certificates: []tls.Certificate{m.registered}}
			tt.cfg(cfg)
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", m.addr, cfg)
			if !tt.ok {
				if err == nil {
					st := conn.ConnectionState()
					conn.Close()
					t.Fatalf("handshake succeeded with %s, %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			conn.Close()
			code, body, err := m.discovery(t, m.client([]tls.Certificate{m.registered}, tt.cfg), "", "")
			if err != nil || code != 200 {
				t.Fatalf("discovery: %d %s %v", code, body, err)
			}
		})
	}
}
