package dist

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSFiles name the PEM files for TLS distribution.
type TLSFiles struct {
	CertFile   string // client certificate (optional unless the node verifies peers)
	KeyFile    string
	CAFile     string // CA that signed the nodes' certificates
	ServerName string // expected name in the node's certificate; default: the node's host
	// InsecureSkipVerify accepts any node certificate. For tests only.
	InsecureSkipVerify bool
}

// LoadTLS builds the client TLS configuration for -proto_dist inet_tls.
func LoadTLS(f TLSFiles) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         f.ServerName,
		InsecureSkipVerify: f.InsecureSkipVerify, //nolint:gosec // opt-in, documented as test-only.
	}
	if (f.CertFile == "") != (f.KeyFile == "") {
		return nil, errors.New("tls: give both a certificate file and a key file, or neither")
	}
	if f.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: load certificate %s and key %s: %w", f.CertFile, f.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: CA file %s holds no PEM certificate", f.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
