package dist

import (
	"crypto/md5" //nolint:gosec // the distribution protocol defines the digest as MD5.
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Handshake errors. Each names a distinct cause so that callers (and users)
// can tell a wrong cookie from a refused flag set.
var (
	// ErrBadCookie: the peer closed the connection after our challenge
	// reply, which it does when the digest (made from the cookie) is wrong.
	ErrBadCookie = errors.New("the peer rejected our challenge reply: the cookie is wrong " +
		"(pass the node's cookie with --cookie, --cookie-file or $ERLANG_COOKIE; in beamctl serve's configuration, the cluster's cookie or cookie_file)")
	// ErrNotAllowed: the peer refused the connection, usually because a
	// flag it requires is missing (OTP 25+ requires every flag of its
	// mandatory set) or because net_kernel:allow/1 excludes us.
	ErrNotAllowed = errors.New("the peer refused the connection (status not_allowed): it requires a distribution flag we did not offer, or does not allow our node name")
	// ErrNameInUse: the peer already has a connection from a node with our
	// name.
	ErrNameInUse = errors.New("the peer already has a connection from a node with our name (status alive)")
	// ErrSimultaneous: the peer is connecting to us at the same time.
	ErrSimultaneous = errors.New("the peer is already connecting to us (status nok)")
	// ErrWrongNode: the node behind the port is not the one we asked for.
	ErrWrongNode = errors.New("the node answering is not the node asked for")
	// ErrTLSRequired means the node answered the plain handshake with a
	// TLS record: it runs TLS distribution and beamctl connected without
	// TLS.
	ErrTLSRequired = errors.New("the node speaks TLS distribution (-proto_dist inet_tls) and beamctl connected without TLS: " +
		"pass --tls.ca, --tls.cert and --tls.key (in beamctl serve's configuration, the cluster's tls block: ca_file, cert_file, key_file)")
)

// HandshakeError wraps a handshake failure with the node it concerns.
type HandshakeError struct {
	Node string
	Err  error
}

func (e *HandshakeError) Error() string { return "handshake with " + e.Node + ": " + e.Err.Error() }
func (e *HandshakeError) Unwrap() error { return e.Err }

// peerInfo is what the handshake learned about the peer.
type peerInfo struct {
	Name     string
	Flags    uint64
	Creation uint32
}

// maxHandshakeMessage bounds one handshake message (2-byte length framing).
const maxHandshakeMessage = 1024

// handshake runs the initiating side of the version 6 handshake (OTP 23+
// message set) on rw: send_name 'N', recv_status, recv_challenge 'N',
// send_challenge_reply, recv_challenge_ack. Messages have a 2-byte length
// over TCP; TLS distribution (inet_tls_dist) uses {packet, 4} from the
// start, so there lenSize is 4.
//
// The peer answers alive when it still has a connection from a node named
// self. With takeOver (self is a name this process holds and none of its
// connections to peer uses), that connection is a dead process's, and we
// answer true: the peer drops it and goes on.
func handshake(rw io.ReadWriter, lenSize int, self string, creation uint32, flags uint64, cookie, peer string, takeOver bool) (peerInfo, error) {
	hs := hsConn{rw: rw, lenSize: lenSize}
	// send_name: 'N' Flags(8) Creation(4) Nlen(2) Name
	msg := make([]byte, 0, 15+len(self))
	msg = append(msg, 'N')
	msg = binary.BigEndian.AppendUint64(msg, flags)
	msg = binary.BigEndian.AppendUint32(msg, creation)
	msg = binary.BigEndian.AppendUint16(msg, uint16(len(self)))
	msg = append(msg, self...)
	if err := hs.write(msg); err != nil {
		return peerInfo{}, fmt.Errorf("send name: %w", err)
	}

	status, err := hs.read()
	if err != nil {
		return peerInfo{}, fmt.Errorf("read status: %w", err)
	}
	if len(status) < 1 || status[0] != 's' {
		return peerInfo{}, fmt.Errorf("expected status message, got tag %q", firstByte(status))
	}
	switch s := string(status[1:]); s {
	case "ok", "ok_simultaneous":
	case "nok":
		return peerInfo{}, ErrSimultaneous
	case "not_allowed":
		return peerInfo{}, ErrNotAllowed
	case "alive":
		if !takeOver {
			_ = hs.write([]byte("sfalse"))
			return peerInfo{}, ErrNameInUse
		}
		if err := hs.write([]byte("strue")); err != nil {
			return peerInfo{}, fmt.Errorf("send status: %w", err)
		}
	default:
		return peerInfo{}, fmt.Errorf("unexpected handshake status %q", s)
	}

	// recv_challenge: 'N' Flags(8) Challenge(4) Creation(4) Nlen(2) Name
	ch, err := hs.read()
	if err != nil {
		return peerInfo{}, fmt.Errorf("read challenge: %w", err)
	}
	if len(ch) > 0 && ch[0] == 'n' {
		return peerInfo{}, errors.New("the peer uses the version 5 handshake (OTP 22 or older), which beamctl does not support")
	}
	if len(ch) < 19 || ch[0] != 'N' {
		return peerInfo{}, fmt.Errorf("malformed challenge message (%d bytes, tag %q)", len(ch), firstByte(ch))
	}
	info := peerInfo{
		Flags:    binary.BigEndian.Uint64(ch[1:9]),
		Creation: binary.BigEndian.Uint32(ch[13:17]),
	}
	challenge := binary.BigEndian.Uint32(ch[9:13])
	nlen := int(binary.BigEndian.Uint16(ch[17:19]))
	if len(ch) < 19+nlen {
		return peerInfo{}, fmt.Errorf("malformed challenge message: name length %d exceeds message", nlen)
	}
	info.Name = string(ch[19 : 19+nlen])
	if peer != "" && info.Name != peer {
		return info, fmt.Errorf("%w: asked for %s, %s answered", ErrWrongNode, peer, info.Name)
	}
	if missing := Mandatory25 &^ info.Flags; missing != 0 {
		return info, fmt.Errorf("the peer lacks mandatory distribution flags %#x", missing)
	}

	// send_challenge_reply: 'r' Challenge(4) Digest(16)
	var ours [4]byte
	if _, err := rand.Read(ours[:]); err != nil {
		return info, fmt.Errorf("make challenge: %w", err)
	}
	ourChallenge := binary.BigEndian.Uint32(ours[:])
	reply := make([]byte, 0, 21)
	reply = append(reply, 'r')
	reply = binary.BigEndian.AppendUint32(reply, ourChallenge)
	digest := genDigest(challenge, cookie)
	reply = append(reply, digest[:]...)
	if err := hs.write(reply); err != nil {
		return info, fmt.Errorf("send challenge reply: %w", err)
	}

	// recv_challenge_ack: 'a' Digest(16)
	ack, err := hs.read()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return info, ErrBadCookie
		}
		return info, fmt.Errorf("read challenge ack: %w", err)
	}
	if len(ack) != 17 || ack[0] != 'a' {
		return info, fmt.Errorf("malformed challenge ack (%d bytes, tag %q)", len(ack), firstByte(ack))
	}
	want := genDigest(ourChallenge, cookie)
	if string(ack[1:]) != string(want[:]) {
		return info, errors.New("the peer's digest does not match our cookie: the peer is not who it claims to be, or the cookies differ")
	}
	return info, nil
}

// genDigest is MD5(cookie ++ integer_to_list(challenge)).
func genDigest(challenge uint32, cookie string) [16]byte {
	return md5.Sum([]byte(cookie + strconv.FormatUint(uint64(challenge), 10))) //nolint:gosec // protocol-defined.
}

// hsConn frames handshake messages with a 2- or 4-byte length.
type hsConn struct {
	rw      io.ReadWriter
	lenSize int
}

func (h hsConn) write(msg []byte) error {
	b := make([]byte, h.lenSize, h.lenSize+len(msg))
	if h.lenSize == 4 {
		binary.BigEndian.PutUint32(b, uint32(len(msg)))
	} else {
		binary.BigEndian.PutUint16(b, uint16(len(msg)))
	}
	_, err := h.rw.Write(append(b, msg...))
	return err
}

func (h hsConn) read() ([]byte, error) {
	var l [4]byte
	if _, err := io.ReadFull(h.rw, l[:h.lenSize]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(l[:2]))
	if h.lenSize == 4 {
		n = int(binary.BigEndian.Uint32(l[:]))
	} else if l[0] >= 0x14 && l[0] <= 0x17 && l[1] == 0x03 {
		// A TLS record (alert, handshake, ...) of version 3.x, not a
		// handshake message: no message is that long (0x14xx to 0x17xx
		// bytes exceed maxHandshakeMessage).
		return nil, ErrTLSRequired
	}
	if n > maxHandshakeMessage {
		return nil, fmt.Errorf("handshake message of %d bytes exceeds %d", n, maxHandshakeMessage)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(h.rw, b); err != nil {
		return nil, err
	}
	return b, nil
}

func firstByte(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return string(b[:1])
}
