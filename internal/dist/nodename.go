package dist

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
)

// NodeName is a parsed node name alive@host.
type NodeName struct {
	Alive string
	Host  string
}

// ParseNodeName splits and validates a node name such as app@host or
// app@host.example.com.
func ParseNodeName(s string) (NodeName, error) {
	alive, host, ok := strings.Cut(s, "@")
	if !ok {
		return NodeName{}, fmt.Errorf("node name %q has no @host part (expected name@host)", s)
	}
	if alive == "" || host == "" || strings.Contains(host, "@") {
		return NodeName{}, fmt.Errorf("node name %q is not of the form name@host", s)
	}
	for _, r := range alive {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return NodeName{}, fmt.Errorf("node name %q: character %q is not allowed in the name part", s, r)
		}
	}
	if len(alive) > 255 {
		return NodeName{}, fmt.Errorf("node name %q: name part is longer than 255 bytes", s)
	}
	return NodeName{Alive: alive, Host: host}, nil
}

// String returns alive@host.
func (n NodeName) String() string { return n.Alive + "@" + n.Host }

// Long reports whether the name uses long-name style (-name): its host is
// fully qualified or an IP address.
func (n NodeName) Long() bool {
	return strings.Contains(n.Host, ".") || net.ParseIP(n.Host) != nil
}

// LocalName builds a fresh node name for beamctl in the naming style of
// peer, so that short-name and long-name clusters both accept it.
func LocalName(peer NodeName) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	alive := "beamctl_" + hex.EncodeToString(b[:])
	return alive + "@" + localHost(peer.Long())
}

func localHost(long bool) string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	if !long {
		short, _, _ := strings.Cut(h, ".")
		return short
	}
	if strings.Contains(h, ".") {
		return h
	}
	// No domain known: an address is a valid long-name host.
	if addrs, err := net.LookupHost(h); err == nil {
		for _, a := range addrs {
			if ip := net.ParseIP(a); ip != nil && ip.To4() != nil {
				return a
			}
		}
	}
	return "127.0.0.1"
}
