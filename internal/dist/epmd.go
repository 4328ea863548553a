package dist

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// EPMD request and response codes.
const (
	epmdPortPlease2Req = 122
	epmdPort2Resp      = 119
	epmdNamesReq       = 110
	defaultEpmdPortNum = 4369
	maxEpmdNamesReply  = 1 << 20
	epmdNodeTypeHidden = 72
)

// ErrNoEpmd means nothing answered on the EPMD port of a host.
var ErrNoEpmd = errors.New("no epmd on host")

// ErrNotRegistered means EPMD answered but does not know the node.
var ErrNotRegistered = errors.New("node not registered in epmd")

// NodeInfo is what EPMD knows of a registered node.
type NodeInfo struct {
	Name        string
	Port        int
	Hidden      bool
	Protocol    int
	HighestVers int
	LowestVers  int
}

// EpmdName is one line of an EPMD NAMES reply.
type EpmdName struct {
	Name string
	Port int
}

func defaultEpmdPort() int {
	if p, err := strconv.Atoi(os.Getenv("ERL_EPMD_PORT")); err == nil && p > 0 {
		return p
	}
	return defaultEpmdPortNum
}

func dialEpmd(ctx context.Context, host string, port int) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			return nil, fmt.Errorf("resolve host %q: %w", host, err)
		}
		return nil, fmt.Errorf("%w %s (port %d): no node runs there, or epmd listens on another port (set ERL_EPMD_PORT): %w", ErrNoEpmd, host, port, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	return c, nil
}

func epmdRequest(req []byte) []byte {
	b := make([]byte, 2, 2+len(req))
	binary.BigEndian.PutUint16(b, uint16(len(req)))
	return append(b, req...)
}

// LookupPort asks EPMD on host for the distribution port of alive
// (PORT_PLEASE2).
func LookupPort(ctx context.Context, host, alive string, epmdPort int) (NodeInfo, error) {
	if epmdPort <= 0 {
		epmdPort = defaultEpmdPort()
	}
	c, err := dialEpmd(ctx, host, epmdPort)
	if err != nil {
		return NodeInfo{}, err
	}
	defer c.Close()
	if _, err := c.Write(epmdRequest(append([]byte{epmdPortPlease2Req}, alive...))); err != nil {
		return NodeInfo{}, fmt.Errorf("epmd on %s: send PORT_PLEASE2: %w", host, err)
	}
	r := bufio.NewReader(c)
	var head [2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return NodeInfo{}, fmt.Errorf("epmd on %s: read PORT2_RESP: %w", host, err)
	}
	if head[0] != epmdPort2Resp {
		return NodeInfo{}, fmt.Errorf("epmd on %s: unexpected reply code %d to PORT_PLEASE2", host, head[0])
	}
	if head[1] != 0 {
		return NodeInfo{}, fmt.Errorf("%w: %q on host %s%s", ErrNotRegistered, alive, host, registeredHint(ctx, host, epmdPort))
	}
	var fixed [10]byte // port, type, proto, highest, lowest, nlen
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return NodeInfo{}, fmt.Errorf("epmd on %s: read PORT2_RESP body: %w", host, err)
	}
	info := NodeInfo{
		Port:        int(binary.BigEndian.Uint16(fixed[0:2])),
		Hidden:      fixed[2] == epmdNodeTypeHidden,
		Protocol:    int(fixed[3]),
		HighestVers: int(binary.BigEndian.Uint16(fixed[4:6])),
		LowestVers:  int(binary.BigEndian.Uint16(fixed[6:8])),
	}
	name := make([]byte, binary.BigEndian.Uint16(fixed[8:10]))
	if _, err := io.ReadFull(r, name); err != nil {
		return NodeInfo{}, fmt.Errorf("epmd on %s: read node name: %w", host, err)
	}
	info.Name = string(name)
	if info.HighestVers < 6 {
		return info, fmt.Errorf("node %s@%s speaks distribution version %d..%d; beamctl needs 6 (OTP 23 or later)",
			alive, host, info.LowestVers, info.HighestVers)
	}
	return info, nil
}

// registeredHint names the nodes that are registered on host, so that an
// error for a name that is not says what would be (a typo, a node that is
// down): " (registered there: a, b)", or "" when epmd does not answer.
func registeredHint(ctx context.Context, host string, epmdPort int) string {
	names, err := Names(ctx, host, epmdPort)
	if err != nil {
		return ""
	}
	if len(names) == 0 {
		return " (no node is registered there: is the node running?)"
	}
	const maxNames = 10
	list := make([]string, 0, min(len(names), maxNames))
	for _, n := range names[:min(len(names), maxNames)] {
		list = append(list, n.Name)
	}
	more := ""
	if len(names) > maxNames {
		more = fmt.Sprintf(" and %d more", len(names)-maxNames)
	}
	return " (registered there: " + strings.Join(list, ", ") + more + ")"
}

// Names lists the nodes registered in EPMD on host (NAMES).
func Names(ctx context.Context, host string, epmdPort int) ([]EpmdName, error) {
	if epmdPort <= 0 {
		epmdPort = defaultEpmdPort()
	}
	c, err := dialEpmd(ctx, host, epmdPort)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := c.Write(epmdRequest([]byte{epmdNamesReq})); err != nil {
		return nil, fmt.Errorf("epmd on %s: send NAMES: %w", host, err)
	}
	data, err := io.ReadAll(io.LimitReader(c, maxEpmdNamesReply))
	if err != nil {
		return nil, fmt.Errorf("epmd on %s: read NAMES reply: %w", host, err)
	}
	if len(data) < 4 {
		return nil, fmt.Errorf("epmd on %s: NAMES reply too short (%d bytes)", host, len(data))
	}
	var names []EpmdName
	for _, line := range strings.Split(string(data[4:]), "\n") {
		// "name foo at port 12345"
		f := strings.Fields(line)
		if len(f) != 5 || f[0] != "name" || f[2] != "at" || f[3] != "port" {
			continue
		}
		port, err := strconv.Atoi(f[4])
		if err != nil {
			continue
		}
		names = append(names, EpmdName{Name: f[1], Port: port})
	}
	return names, nil
}

// withTimeout returns ctx bounded by d unless it already has an earlier
// deadline.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
