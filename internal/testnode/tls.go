package testnode

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TLSFiles are PEM files made for one test: a CA, a certificate for the
// nodes (valid for the short host name, localhost and 127.0.0.1) and a
// client certificate for beamctl, both signed by the CA.
type TLSFiles struct {
	Dir        string
	CACert     string
	NodeCert   string
	NodeKey    string
	ClientCert string
	ClientKey  string
}

// MakeTLS generates a throwaway CA and certificates in the test's temp dir.
func MakeTLS(t testing.TB) TLSFiles {
	t.Helper()
	dir := t.TempDir()
	f := TLSFiles{
		Dir:        dir,
		CACert:     filepath.Join(dir, "ca.pem"),
		NodeCert:   filepath.Join(dir, "node.pem"),
		NodeKey:    filepath.Join(dir, "node-key.pem"),
		ClientCert: filepath.Join(dir, "client.pem"),
		ClientKey:  filepath.Join(dir, "client-key.pem"),
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "beamctl test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, f.CACert, "CERTIFICATE", caDER)
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(serial int64, cn, certPath, keyPath string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			DNSNames:     []string{ShortHost(), "localhost"},
			IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, certPath, "CERTIFICATE", der)
		kb, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, keyPath, "PRIVATE KEY", kb)
	}
	issue(2, "node", f.NodeCert, f.NodeKey)
	issue(3, "beamctl", f.ClientCert, f.ClientKey)
	return f
}

// TLSDistArgs returns erl arguments for TLS-only distribution that
// verifies peers against the test CA (both directions).
func TLSDistArgs(t testing.TB, f TLSFiles) []string {
	t.Helper()
	opts := func(side string) string {
		extra := ""
		if side == "server" {
			extra = ", {fail_if_no_peer_cert, true}"
		}
		return fmt.Sprintf("{%s, [{certfile, %q}, {keyfile, %q}, {cacertfile, %q}, {verify, verify_peer}%s]}",
			side, f.NodeCert, f.NodeKey, f.CACert, extra)
	}
	optfile := filepath.Join(f.Dir, "ssl_dist.conf")
	conf := "[" + opts("server") + ",\n " + opts("client") + "].\n"
	if err := os.WriteFile(optfile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"-proto_dist", "inet_tls", "-ssl_dist_optfile", optfile}
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	b := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
