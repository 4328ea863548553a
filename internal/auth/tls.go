package auth

import (
	"crypto/tls"
	"fmt"

	"github.com/prometheus/exporter-toolkit/web"
)

// ServerTLS returns the TLS configuration of the web configuration file
// path, or nil when it has no tls_server_config (plain HTTP). As the
// exporter-toolkit does, every handshake reads the file and its
// certificates again (GetConfigForClient), so that a renewed certificate
// is used without a restart; a handshake while the file is broken fails.
func ServerTLS(path string, http2 bool) (*tls.Config, error) {
	c, err := LoadWebConfig(path)
	if err != nil {
		return nil, err
	}
	if !c.TLSConfig.IsEnabled() {
		return nil, nil
	}
	first, err := web.ConfigToTLSConfig(&c.TLSConfig)
	if err != nil {
		return nil, fmt.Errorf("web config %s: %w", path, err)
	}
	protos := []string{"http/1.1"}
	if http2 && c.HTTPConfig.HTTP2 {
		protos = []string{"h2", "http/1.1"}
	}
	first.NextProtos = protos
	first.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c, err := LoadWebConfig(path)
		if err != nil {
			return nil, err
		}
		cfg, err := web.ConfigToTLSConfig(&c.TLSConfig)
		if err != nil {
			return nil, fmt.Errorf("web config %s: %w", path, err)
		}
		cfg.NextProtos = protos
		return cfg, nil
	}
	return first, nil
}
