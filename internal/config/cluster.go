package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/beamctl/beamctl/internal/nodename"
)

// Cluster is one set of nodes sharing a cookie.
type Cluster struct {
	Name       string `yaml:"name"`
	Cookie     string `yaml:"cookie"`
	CookieFile string `yaml:"cookie_file"`
	// Nodes is the static list of node names; in YAML an entry is a name
	// or {name, labels}.
	Nodes      []string                   `yaml:"-"`
	NodeSpecs  []NodeSpec                 `yaml:"nodes"`
	Seeds      []string                   `yaml:"seeds"` // crawled: every node they are connected to
	Epmd       *EpmdScan                  `yaml:"epmd"`  // names registered in these hosts' epmd
	DNS        *DNSScan                   `yaml:"dns"`   // hosts from DNS, then their epmd
	Collectors map[string]CollectorConfig `yaml:"collectors"`
	// Agent lets beamctl load its helper module beamctl_agent on the
	// nodes for the collectors that scan processes or allocators on the
	// node (default true). Without it those collectors report nothing.
	Agent *bool `yaml:"agent"`
	// Family, when set, is the node family of every node of the cluster;
	// by default a node's family is its release name and version.
	Family string `yaml:"family"`
	// TLS connects with TLS distribution (nodes run -proto_dist inet_tls).
	TLS *TLS `yaml:"tls"`
	// Notifications sets what is captured from the nodes as
	// notifications besides their lifecycle.
	Notifications Capture `yaml:"notifications"`
	// Labels are every node's labels (e.g. dc, zone, rack); a node entry's
	// own labels override them. Deploys cut their waves by them.
	Labels map[string]string `yaml:"labels"`
	// NodeLabels are the labels of the nodes listed with them.
	NodeLabels map[string]map[string]string `yaml:"-"`
}

// NodeSpec is one entry of a cluster's nodes: a name, or a name with labels.
type NodeSpec struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

// UnmarshalYAML reads a plain name or a {name, labels} mapping.
func (n *NodeSpec) UnmarshalYAML(unmarshal func(any) error) error {
	var name string
	if err := unmarshal(&name); err == nil {
		n.Name = name
		return nil
	}
	type raw = NodeSpec
	type NodeSpec raw
	return unmarshal((*NodeSpec)(n))
}

// NodeLabelsOf is a node's labels: the cluster's, then the node's own.
func (c *Cluster) NodeLabelsOf(node string) map[string]string {
	out := make(map[string]string, len(c.Labels)+2)
	maps.Copy(out, c.Labels)
	maps.Copy(out, c.NodeLabels[node])
	return out
}

// UnmarshalYAML decodes a cluster and applies its defaults, those of its
// notifications block included.
func (c *Cluster) UnmarshalYAML(unmarshal func(any) error) error {
	type raw = Cluster
	type Cluster raw
	if err := unmarshal((*Cluster)(c)); err != nil {
		return err
	}
	c.Notifications.setDefaults()
	for _, n := range c.NodeSpecs {
		c.Nodes = append(c.Nodes, n.Name)
		if len(n.Labels) > 0 {
			if c.NodeLabels == nil {
				c.NodeLabels = map[string]map[string]string{}
			}
			c.NodeLabels[n.Name] = n.Labels
		}
	}
	if c.DNS != nil && c.DNS.Type == "" {
		c.DNS.Type = "A"
	}
	return nil
}

// labelName is what a label name may be (Prometheus' rule).
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// AgentEnabled reports whether beamctl may load its agent on the nodes.
func (c *Cluster) AgentEnabled() bool { return c.Agent == nil || *c.Agent }

// validate checks the cluster; errors do not name the cluster (the caller
// does).
func (c *Cluster) validate() error {
	switch {
	case c.Cookie != "" && c.CookieFile != "":
		return errors.New("give cookie or cookie_file, not both")
	case c.Cookie == "" && c.CookieFile == "":
		return errors.New("cookie or cookie_file is required")
	}
	if c.Epmd != nil {
		if len(c.Epmd.Hosts) == 0 {
			return errors.New("epmd.hosts must list at least one host")
		}
		if _, err := regexp.Compile(c.Epmd.NamePattern); err != nil {
			return fmt.Errorf("epmd.name_pattern %q is not a regular expression", c.Epmd.NamePattern)
		}
	}
	if c.DNS != nil {
		if len(c.DNS.Names) == 0 {
			return errors.New("dns.names must list at least one name")
		}
		switch c.DNS.Type {
		case "A", "SRV":
		default:
			return fmt.Errorf("dns.type must be A or SRV, not %q", c.DNS.Type)
		}
		if _, err := regexp.Compile(c.DNS.NamePattern); err != nil {
			return fmt.Errorf("dns.name_pattern %q is not a regular expression", c.DNS.NamePattern)
		}
	}
	if len(c.Nodes) == 0 && len(c.Seeds) == 0 && c.Epmd == nil && c.DNS == nil {
		return errors.New("nodes, seeds, epmd or dns must name at least one node")
	}
	if err := c.Notifications.validate(); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(c.Collectors)) {
		if cc := c.Collectors[name]; cc.Interval != 0 && cc.Interval < Duration(100*time.Millisecond) {
			return fmt.Errorf("collectors.%s.interval must be at least 100ms", name)
		}
	}
	if t := c.TLS; t != nil {
		if (t.CertFile == "") != (t.KeyFile == "") {
			return errors.New("tls needs both cert_file and key_file, or neither")
		}
		if t.CAFile == "" && !t.InsecureSkipVerify {
			return errors.New("tls needs ca_file (or insecure_skip_verify: true, for tests)")
		}
	}
	for _, n := range append(append([]string{}, c.Nodes...), c.Seeds...) {
		if _, err := nodename.Parse(n); err != nil {
			return fmt.Errorf("%q is not a node name (name@host)", n)
		}
	}
	for _, ls := range append([]map[string]string{c.Labels}, slices.Collect(maps.Values(c.NodeLabels))...) {
		for k := range ls {
			if !labelName.MatchString(k) {
				return fmt.Errorf("label %q is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)", k)
			}
		}
	}
	return nil
}

// resolve reads the cookie file, makes the TLS paths absolute (relative to
// dir) and checks that those files hold PEM certificates and keys, and
// compiles the name patterns.
func (c *Cluster) resolve(dir string) error {
	if c.CookieFile != "" {
		p := absPath(dir, c.CookieFile)
		b, err := readSmallFile(p, 4096) // not /dev/zero, a FIFO or a log file by mistake
		if err != nil {
			return fmt.Errorf("cannot read cookie_file %s: %s", p, err.Error())
		}
		c.Cookie = strings.TrimSpace(string(b))
		if c.Cookie == "" {
			return fmt.Errorf("cookie_file %s is empty", p)
		}
	}
	if t := c.TLS; t != nil {
		for _, f := range []*string{&t.CertFile, &t.KeyFile, &t.CAFile} {
			if *f == "" {
				continue
			}
			*f = absPath(dir, *f)
			if fi, err := os.Stat(*f); err != nil || !fi.Mode().IsRegular() {
				return fmt.Errorf("cannot read tls file %s", *f)
			}
		}
		// The PEM files are read here too, so that check config finds a
		// wrong file, not the first connection.
		pem := map[string][]byte{}
		for _, f := range []string{t.CertFile, t.KeyFile, t.CAFile} {
			if f == "" {
				continue
			}
			b, err := readSmallFile(f, maxPEMFile)
			if err != nil {
				return fmt.Errorf("cannot read tls file %s: %s", f, err.Error())
			}
			pem[f] = b
		}
		if t.CertFile != "" {
			if _, err := tls.X509KeyPair(pem[t.CertFile], pem[t.KeyFile]); err != nil {
				return fmt.Errorf("tls cert_file %s and key_file %s are not a PEM certificate and its key: %w", t.CertFile, t.KeyFile, err)
			}
		}
		if t.CAFile != "" {
			if !x509.NewCertPool().AppendCertsFromPEM(pem[t.CAFile]) {
				return fmt.Errorf("tls ca_file %s holds no PEM certificate", t.CAFile)
			}
		}
	}
	// The patterns compiled in validate.
	if c.Epmd != nil {
		c.Epmd.Pattern = regexp.MustCompile(c.Epmd.NamePattern)
	}
	if c.DNS != nil {
		c.DNS.Pattern = regexp.MustCompile(c.DNS.NamePattern)
	}
	return nil
}

// maxPEMFile bounds the TLS files read (a CA bundle is some hundred kB).
const maxPEMFile = 4 << 20

// TLS names the PEM files for TLS distribution; relative paths are
// resolved against the configuration file's directory.
type TLS struct {
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	CAFile             string `yaml:"ca_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// CollectorConfig turns a collector on or off and may set its interval.
// In YAML it is a boolean (`os: false`) or a mapping
// (`allocators: {interval: 30s}`, `ets: {enabled: true, interval: 1m}`).
type CollectorConfig struct {
	Enabled  *bool    `yaml:"enabled"`
	Interval Duration `yaml:"interval"`
}

// UnmarshalYAML accepts a boolean or a mapping.
func (cc *CollectorConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var b bool
		if err := n.Decode(&b); err != nil {
			return fmt.Errorf("line %d: a collector is true, false or a mapping with enabled and interval", n.Line)
		}
		cc.Enabled = &b
		return nil
	}
	// Node.Decode is not strict: check the keys here.
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Value != "enabled" && k.Value != "interval" {
				return fmt.Errorf("line %d: a collector's mapping has enabled and interval, not %s", k.Line, k.Value)
			}
		}
	}
	type plain CollectorConfig // without this method
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*cc = CollectorConfig(p)
	return nil
}

// String is the setting as YAML would show it (for comparing configs).
func (cc CollectorConfig) String() string {
	e := "default"
	if cc.Enabled != nil {
		e = fmt.Sprint(*cc.Enabled)
	}
	return e + "/" + time.Duration(cc.Interval).String()
}

// DNSScan discovers hosts from DNS (A/AAAA records, e.g. a Kubernetes
// headless service, or SRV records) and then their nodes through epmd.
// With A records the nodes are name@IP, as nodes started with
// -name name@$POD_IP are; with SRV records they are name@target.
type DNSScan struct {
	Names       []string `yaml:"names"`
	Type        string   `yaml:"type"` // A (default) or SRV
	NamePattern string   `yaml:"name_pattern"`
	// Pattern is NamePattern compiled.
	Pattern *regexp.Regexp `yaml:"-"`
}

// EpmdScan discovers nodes by asking each host's epmd for its names.
type EpmdScan struct {
	Hosts []string `yaml:"hosts"`
	// NamePattern keeps the names it matches (a Go regular expression;
	// default: every name).
	NamePattern string `yaml:"name_pattern"`
	// Pattern is NamePattern compiled.
	Pattern *regexp.Regexp `yaml:"-"`
}
