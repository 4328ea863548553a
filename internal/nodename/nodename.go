// Package nodename parses Erlang node names (alive@host). It is a leaf:
// both the distribution client (internal/dist) and the configuration
// (internal/config) use it, and it imports nothing of beamctl.
package nodename

import (
	"fmt"
	"net"
	"strings"
)

// Name is a parsed node name alive@host.
type Name struct {
	Alive string
	Host  string
}

// Parse splits and validates a node name such as app@host or
// app@host.example.com.
func Parse(s string) (Name, error) {
	alive, host, ok := strings.Cut(s, "@")
	if !ok {
		return Name{}, fmt.Errorf("node name %q has no @host part (expected name@host)", s)
	}
	if alive == "" || host == "" || strings.Contains(host, "@") {
		return Name{}, fmt.Errorf("node name %q is not of the form name@host", s)
	}
	for _, r := range alive {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return Name{}, fmt.Errorf("node name %q: character %q is not allowed in the name part", s, r)
		}
	}
	if len(alive) > 255 {
		return Name{}, fmt.Errorf("node name %q: name part is longer than 255 bytes", s)
	}
	return Name{Alive: alive, Host: host}, nil
}

// String returns alive@host.
func (n Name) String() string { return n.Alive + "@" + n.Host }

// Long reports whether the name uses long-name style (-name): its host is
// fully qualified or an IP address.
func (n Name) Long() bool {
	return strings.Contains(n.Host, ".") || net.ParseIP(n.Host) != nil
}
