package sim

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sort"
	"time"
)

// EPMD request and response codes (erl_dist_protocol, "EPMD Protocol").
const (
	epmdAlive2Req     = 120
	epmdAlive2XResp   = 118
	epmdPortPlease2   = 122
	epmdPort2Resp     = 119
	epmdNamesReq      = 110
	epmdNodeTypeErl   = 77
	epmdHighestVers   = 6
	epmdLowestVers    = 5
	epmdRequestMaxLen = 1024
)

func (s *Server) serveEpmd() {
	for {
		c, err := s.epmd.Accept()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			s.log.Debug("EPMD accept failed", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go s.epmdRequest(c)
	}
}

// epmdRequest answers one request. ALIVE2 keeps the connection: the name is
// registered while it is open, as with epmd.
func (s *Server) epmdRequest(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return
	}
	n := int(binary.BigEndian.Uint16(l[:]))
	if n == 0 || n > epmdRequestMaxLen {
		return
	}
	req := make([]byte, n)
	if _, err := io.ReadFull(r, req); err != nil {
		return
	}
	switch req[0] {
	case epmdPortPlease2:
		_, _ = c.Write(s.port2Resp(string(req[1:])))
	case epmdNamesReq:
		_, _ = c.Write(s.namesResp())
	case epmdAlive2Req:
		s.alive2(c, r, req[1:])
	default:
		s.log.Debug("Unknown EPMD request", "code", req[0])
	}
}

func (s *Server) port2Resp(alive string) []byte {
	s.mu.Lock()
	port := 0
	if n := s.nodes[alive]; n != nil {
		port = n.Port()
	} else if p, ok := s.names[alive]; ok {
		port = p
	}
	s.mu.Unlock()
	if port == 0 {
		return []byte{epmdPort2Resp, 1}
	}
	b := []byte{epmdPort2Resp, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(port))
	b = append(b, epmdNodeTypeErl, 0)
	b = binary.BigEndian.AppendUint16(b, epmdHighestVers)
	b = binary.BigEndian.AppendUint16(b, epmdLowestVers)
	b = binary.BigEndian.AppendUint16(b, uint16(len(alive)))
	b = append(b, alive...)
	return binary.BigEndian.AppendUint16(b, 0) // no extra
}

func (s *Server) namesResp() []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(s.EpmdPort()))
	s.mu.Lock()
	lines := make([]string, 0, len(s.nodes)+len(s.names))
	for alive, n := range s.nodes {
		lines = append(lines, fmt.Sprintf("name %s at port %d\n", alive, n.Port()))
	}
	for alive, p := range s.names {
		lines = append(lines, fmt.Sprintf("name %s at port %d\n", alive, p))
	}
	s.mu.Unlock()
	sort.Strings(lines)
	for _, l := range lines {
		b = append(b, l...)
	}
	return b
}

// alive2 registers a node that is not simulated here (a real node pointed at
// this EPMD) until its connection closes.
func (s *Server) alive2(c net.Conn, r io.Reader, body []byte) {
	// PortNo(2) NodeType(1) Protocol(1) HighestVersion(2) LowestVersion(2) Nlen(2) Name Elen(2) Extra
	if len(body) < 10 {
		return
	}
	port := int(binary.BigEndian.Uint16(body[0:2]))
	nlen := int(binary.BigEndian.Uint16(body[8:10]))
	if len(body) < 10+nlen {
		return
	}
	alive := string(body[10 : 10+nlen])
	s.mu.Lock()
	_, taken := s.nodes[alive]
	if _, ok := s.names[alive]; ok {
		taken = true
	}
	if !taken {
		s.names[alive] = port
	}
	s.mu.Unlock()
	resp := []byte{epmdAlive2XResp, 0}
	if taken {
		resp[1] = 1
	}
	resp = binary.BigEndian.AppendUint32(resp, 1)
	if _, err := c.Write(resp); err != nil || taken {
		if !taken {
			s.unregister(alive)
		}
		return
	}
	_ = c.SetDeadline(time.Time{})
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		s.unregister(alive)
		return
	default:
	}
	s.held[c] = struct{}{}
	s.mu.Unlock()
	_, _ = io.Copy(io.Discard, r)
	s.mu.Lock()
	delete(s.held, c)
	s.mu.Unlock()
	s.unregister(alive)
}

func (s *Server) unregister(alive string) {
	s.mu.Lock()
	delete(s.names, alive)
	s.mu.Unlock()
}

// Register registers a node that runs elsewhere (a real node, found in
// another EPMD) under alive at port, so that a client pointed at this EPMD
// reaches both it and the simulated nodes.
func (s *Server) Register(alive string, port int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.nodes[alive]; ok {
		return fmt.Errorf("%s is registered already", alive)
	}
	if _, ok := s.names[alive]; ok {
		return fmt.Errorf("%s is registered already", alive)
	}
	s.names[alive] = port
	return nil
}
