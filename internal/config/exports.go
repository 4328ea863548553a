package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
)

// Export is one destination for notifications: syslog, gelf or otlp.
type Export struct {
	Format      string            `yaml:"format"`
	Protocol    string            `yaml:"protocol"` // udp (default) or tcp
	Address     string            `yaml:"address"`  // host:port, for syslog and gelf
	URL         string            `yaml:"url"`      // for otlp
	Headers     map[string]string `yaml:"headers"`  // for otlp, e.g. an Authorization header
	Facility    string            `yaml:"facility"`
	MinSeverity string            `yaml:"min_severity"` // info (default), warning, error or critical
	Hostname    string            `yaml:"hostname"`
}

// validate checks an export's settings (package export checks them again
// when it builds the target; config stays free of its dependencies).
func (e Export) validate() error {
	switch e.MinSeverity {
	case "", "info", "warning", "error", "critical":
	default:
		return fmt.Errorf("min_severity must be info, warning, error or critical, not %q", e.MinSeverity)
	}
	switch e.Format {
	case "syslog", "gelf":
		switch e.Protocol {
		case "", "udp", "tcp":
		default:
			return fmt.Errorf("protocol %q is not udp or tcp", e.Protocol)
		}
		if _, _, err := net.SplitHostPort(e.Address); err != nil {
			return fmt.Errorf("address %q is not host:port", e.Address)
		}
		if e.Format == "syslog" && e.Facility != "" && !slices.Contains(syslogFacilities, e.Facility) {
			return fmt.Errorf("syslog facility %q is not one of kern … local7", e.Facility)
		}
	case "otlp":
		if u, err := url.Parse(e.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("otlp url %q is not an http(s) URL such as http://localhost:4318/v1/logs", shownURL(e.URL))
		}
	default:
		return fmt.Errorf("format %q is not syslog, gelf or otlp", e.Format)
	}
	return nil
}

var syslogFacilities = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}
