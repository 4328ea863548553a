package dist

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
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

// tlsHandshakeError explains a failed TLS handshake with a node, naming
// the fix: the flag or configuration key to change.
func tlsHandshakeError(err error, cfg *tls.Config) error {
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		op        *net.OpError
	)
	switch {
	case errors.As(err, &unknownCA):
		return fmt.Errorf("the node's certificate is not signed by the CA of --tls.ca (the cluster's tls.ca_file): %w", err)
	case errors.As(err, &hostname):
		return fmt.Errorf("the node's certificate is not for host %s: connect by a host name it holds, or set the cluster's tls.server_name: %w", hostname.Host, err)
	case errors.As(err, &op) && op.Op == "remote error" && len(cfg.Certificates) == 0:
		return fmt.Errorf("the node refused the TLS handshake and beamctl sent no client certificate: pass --tls.cert and --tls.key "+
			"(the cluster's tls.cert_file and tls.key_file): %w", err)
	case errors.As(err, &op) && op.Op == "remote error":
		return fmt.Errorf("the node refused the TLS handshake: is the certificate of --tls.cert (the cluster's tls.cert_file) "+
			"signed by a CA the node trusts? %w", err)
	}
	return fmt.Errorf("is the node started with -proto_dist inet_tls? If not, connect without the --tls flags "+
		"(without the cluster's tls block): %w", err)
}
