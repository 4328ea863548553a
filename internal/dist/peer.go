package dist

import "github.com/beamctl/beamctl/internal/etf"

// This file exports the frame codec and the digest for the accepting side
// of a connection, which internal/sim (the node simulator) plays. beamctl's
// own client uses the unexported functions they wrap.

// FrameDecoder decodes the frames one side of a connection receives. It
// holds that direction's atom cache, so use one per connection.
type FrameDecoder struct {
	cache *atomCache
}

// Decode decodes one non-empty frame (without its 4-byte length): the
// control message and, when hasMsg, the message.
func (d *FrameDecoder) Decode(b []byte) (control etf.Tuple, message etf.Term, hasMsg bool, err error) {
	if d.cache == nil {
		d.cache = new(atomCache)
	}
	f, err := decodeFrame(b, d.cache)
	if err != nil {
		return nil, nil, false, err
	}
	return f.control, f.message, f.hasMsg, nil
}

// AppendFrame appends a length-prefixed frame holding control and, when
// hasMsg, message: with the normal distribution header (no atom cache
// references) when useHeader, else in the pass-through form.
func AppendFrame(buf []byte, useHeader bool, control etf.Tuple, message etf.Term, hasMsg bool) ([]byte, error) {
	return appendFrame(buf, useHeader, control, message, hasMsg)
}

// Digest is the handshake's digest of a challenge: MD5 of the cookie
// followed by the challenge in decimal.
func Digest(challenge uint32, cookie string) [16]byte { return genDigest(challenge, cookie) }
