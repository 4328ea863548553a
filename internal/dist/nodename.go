package dist

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strings"

	"github.com/beamctl/beamctl/internal/nodename"
)

// NodeName is a parsed node name alive@host (see package nodename).
type NodeName = nodename.Name

// ParseNodeName splits and validates a node name such as app@host or
// app@host.example.com.
func ParseNodeName(s string) (NodeName, error) { return nodename.Parse(s) }

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
