package export

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// stream is a UDP socket or a TCP connection, dialled on first use and
// again after an error.
type stream struct {
	protocol, address string

	mu   sync.Mutex
	conn net.Conn
}

func newStream(protocol, address string) (*stream, error) {
	switch protocol {
	case "udp", "tcp":
	case "":
		protocol = "udp"
	default:
		return nil, fmt.Errorf("export protocol %q is not udp or tcp", protocol)
	}
	if _, _, err := net.SplitHostPort(address); err != nil {
		return nil, fmt.Errorf("export address %q: %w", address, err)
	}
	return &stream{protocol: protocol, address: address}, nil
}

// write sends each message as one write (one datagram for UDP).
func (s *stream) write(ctx context.Context, msgs [][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		var d net.Dialer
		c, err := d.DialContext(ctx, s.protocol, s.address)
		if err != nil {
			return err
		}
		s.conn = c
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = s.conn.SetWriteDeadline(dl)
	}
	for _, m := range msgs {
		if _, err := s.conn.Write(m); err != nil {
			_ = s.conn.Close()
			s.conn = nil
			return err
		}
	}
	return nil
}

func (s *stream) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}
