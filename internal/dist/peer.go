package dist

import "github.com/beamctl/beamctl/internal/etf"

// This file exports the frame encoder and the digest for the accepting side
// of a connection, which internal/sim (the node simulator) plays. beamctl's
// own client uses the unexported functions they wrap.

// AppendFrame appends a length-prefixed frame holding control and, when
// hasMsg, message: with the normal distribution header (no atom cache
// references) when useHeader, else in the pass-through form.
func AppendFrame(buf []byte, useHeader bool, control etf.Tuple, message etf.Term, hasMsg bool) ([]byte, error) {
	return appendFrame(buf, useHeader, control, message, hasMsg)
}

// Digest is the handshake's digest of a challenge: MD5 of the cookie
// followed by the challenge in decimal.
func Digest(challenge uint32, cookie string) [16]byte { return genDigest(challenge, cookie) }
