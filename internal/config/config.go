// Package config reads beamctl serve's YAML configuration. Parsing is
// strict (unknown keys are errors) and runs in three steps: decoding, where
// every type applies its defaults (its UnmarshalYAML); validation, which
// only checks; and resolution, which reads the files the configuration
// names (cookie files, TLS PEM files). Every error is one exact sentence
// naming the key, which tests assert verbatim.
//
// The types are split by file: global.go, cluster.go (with the cluster's
// notifications in notifications.go), exports.go and alarms.go.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/beamctl/beamctl/internal/redact"
	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration file.
type Config struct {
	Global   Global    `yaml:"global"`
	Clusters []Cluster `yaml:"clusters"`
	// Exports send every notification to external log systems.
	Exports []Export `yaml:"exports"`
	// Alarms configures the alarm engine.
	Alarms Alarms `yaml:"alarms"`
	// Web gives the HTTP API's users their roles.
	Web Web `yaml:"web"`
	// Capture holds server-wide capture settings (capture.go).
	Capture CaptureSettings `yaml:"capture"`

	// Warnings are about a valid configuration that is unsafe, such as a
	// cookie file others can read; serve logs them.
	Warnings []string `yaml:"-"`
}

// UnmarshalYAML decodes the file and gives a missing or empty global or
// alarms block its defaults.
//
// Every UnmarshalYAML of this package decodes through a local type named
// like the package-level one but without its methods (`type X raw` with
// `type raw = X`), so that the strict decoder's errors name the type the
// user knows (config.Cluster, not config.plain). They use the
// unmarshal-function form because yaml.Node.Decode would drop the
// decoder's strictness (unknown keys would pass).
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	type raw = Config
	type Config raw
	if err := unmarshal((*Config)(c)); err != nil {
		return err
	}
	c.setDefaults()
	return nil
}

// setDefaults fills what a missing block leaves unset. Decoding a block
// applies the same defaults; this covers blocks that are absent or null,
// whose UnmarshalYAML never runs.
func (c *Config) setDefaults() {
	c.Global.setDefaults()
	c.Alarms.setDefaults()
}

// Load reads, validates and resolves a configuration file.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(b, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes (applying defaults), validates and resolves configuration
// text; relative file paths (cookie_file, tls) are resolved against dir.
func Parse(b []byte, dir string) (*Config, error) {
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("parse YAML: %w", err)
		}
		c.setDefaults() // An empty file: nothing was decoded.
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	if err := c.resolve(dir); err != nil {
		return nil, err
	}
	return c, nil
}

// validate checks the decoded configuration. It changes nothing and reads
// no file.
func (c *Config) validate() error {
	if err := c.Global.validate(); err != nil {
		return err
	}
	if len(c.Clusters) == 0 {
		return errors.New("clusters must list at least one cluster")
	}
	if err := c.Alarms.validate(); err != nil {
		return err
	}
	if err := c.Web.validate(); err != nil {
		return err
	}
	if err := c.Capture.validate(); err != nil {
		return err
	}
	for i, e := range c.Exports {
		if err := e.validate(); err != nil {
			return fmt.Errorf("exports[%d]: %w", i, err)
		}
	}
	names := map[string]bool{}
	for i := range c.Clusters {
		cl := &c.Clusters[i]
		if cl.Name == "" {
			return fmt.Errorf("clusters[%d].name is required", i)
		}
		if names[cl.Name] {
			return fmt.Errorf("clusters: the name %q is used twice", cl.Name)
		}
		names[cl.Name] = true
		if err := cl.validate(); err != nil {
			return fmt.Errorf("cluster %q: %w", cl.Name, err)
		}
	}
	return nil
}

// resolve reads the files the valid configuration names and fills in what
// is derived from it: cookies from cookie files, absolute TLS paths,
// compiled name patterns.
func (c *Config) resolve(dir string) error {
	c.Capture.resolve()
	for i := range c.Clusters {
		cl := &c.Clusters[i]
		if err := cl.resolve(dir); err != nil {
			return fmt.Errorf("cluster %q: %w", cl.Name, err)
		}
		if cl.CookieFile != "" {
			if w := CookieFileWarning(absPath(dir, cl.CookieFile)); w != "" {
				c.Warnings = append(c.Warnings, fmt.Sprintf("cluster %q: %s", cl.Name, w))
			}
		}
	}
	return nil
}

// Secrets returns the cookies, the notifier and export URLs (and their
// parts that may be tokens), keys, passwords and header values, so that
// callers can keep them out of logs (redact.String).
func (c *Config) Secrets() []string {
	var out []string
	for _, cl := range c.Clusters {
		out = append(out, cl.Cookie)
	}
	for _, u := range c.Alarms.Alertmanager {
		out = append(out, redact.URLSecrets(u)...)
	}
	for _, n := range c.Alarms.Notifiers {
		out = append(out, redact.URLSecrets(n.URL)...)
		out = append(out, n.RoutingKey, n.Password)
	}
	for _, e := range c.Exports {
		out = append(out, redact.URLSecrets(e.URL)...)
		for _, v := range e.Headers {
			out = append(out, v)
		}
	}
	return out
}

// Duration is a time.Duration written as "10s" in YAML.
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: a duration must be a string such as 10s", n.Line)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (e.g. 10s, 1m)", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// absPath resolves a path relative to the configuration's directory.
func absPath(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// readSmallFile reads a regular file of at most max bytes.
func readSmallFile(path string, max int64) ([]byte, error) {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return nil, errors.New("no such file or not readable")
	case !fi.Mode().IsRegular():
		return nil, errors.New("not a regular file")
	case fi.Size() > max:
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.New("not readable")
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max))
}
