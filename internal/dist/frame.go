package dist

import (
	"errors"
	"fmt"

	"github.com/beamctl/beamctl/internal/etf"
)

// Frame tags (the first byte of a distribution message after the 4-byte
// length).
const (
	tagPassThrough   = 'p' // control and message each with version 131
	tagVersion       = 131
	tagDistHeader    = 'D' // 131 'D': normal header with atom cache refs
	tagDistFragStart = 'E' // 131 'E': first fragment (we do not negotiate fragments)
	tagDistFragCont  = 'F'
)

// atomCacheSize is the number of entries of a connection's atom cache
// (8 segments of 256).
const atomCacheSize = 2048

// atomCache is the receiving side's atom cache of one connection. Entries
// are set by headers with the NewCacheEntry flag and read by later ones.
type atomCache struct {
	atoms [atomCacheSize]etf.Atom
	// set says an entry was filled: the empty atom '' is a valid entry
	// (a node caches it), so "" cannot mean unset.
	set [atomCacheSize]bool
}

// frame is one decoded distribution message.
type frame struct {
	control etf.Tuple
	message etf.Term // nil when the control message carries no payload
	hasMsg  bool
	// cacheRefs counts the atom cache references the header used.
	cacheRefs int
}

// decodeFrame decodes a non-empty frame (ticks are handled before).
func decodeFrame(b []byte, cache *atomCache) (frame, error) {
	var f frame
	ft, err := termDecoder(b, cache)
	if err != nil {
		return f, err
	}
	f.cacheRefs = len(ft.dec.AtomCache)
	pos := ft.start
	ctrl, n, err := ft.decode(b[pos:])
	if err != nil {
		return f, fmt.Errorf("decode control message: %w", err)
	}
	pos += n
	t, ok := ctrl.(etf.Tuple)
	if !ok || len(t) == 0 {
		return f, fmt.Errorf("control message is not a tuple: %s", formatTerm(ctrl, ""))
	}
	f.control = t
	if pos < len(b) && unreadPayload(t[0]) { // never read: not decoded
		f.hasMsg = true
		return f, nil
	}
	if pos < len(b) {
		msg, n, err := ft.decode(b[pos:])
		if err != nil {
			return f, fmt.Errorf("decode message: %w", err)
		}
		pos += n
		f.message, f.hasMsg = msg, true
	}
	if pos != len(b) {
		return f, fmt.Errorf("%d trailing bytes after message", len(b)-pos)
	}
	return f, nil
}

// unreadPayload reports whether op is an operation whose message dispatch
// ignores: exit(Pid, Reason) sent to beamctl's pids (which do not die)
// and sends to registered names (nothing is registered on beamctl).
func unreadPayload(op etf.Term) bool {
	switch op {
	case int64(opPayloadExit2), int64(opPayloadExit2TT), int64(opRegSend), int64(opRegSendTT):
		return true
	}
	return false
}

// frameTerms is how to decode the terms of one frame.
type frameTerms struct {
	dec       etf.Decoder // holds the atoms of the frame's header
	versioned bool        // pass-through: every term has its own version byte
	start     int         // where the first term begins
}

// decode decodes one term of the frame.
func (ft *frameTerms) decode(b []byte) (etf.Term, int, error) {
	if ft.versioned {
		return ft.dec.Decode(b)
	}
	return ft.dec.DecodeTerm(b)
}

// termDecoder reads a frame's header, updating the atom cache. Pass-through
// terms carry their own version byte; terms after a distribution header do
// not.
func termDecoder(b []byte, cache *atomCache) (*frameTerms, error) {
	switch {
	case len(b) == 0:
		return nil, errors.New("empty frame")
	case b[0] == tagPassThrough:
		return &frameTerms{versioned: true, start: 1}, nil
	case len(b) >= 2 && b[0] == tagVersion && b[1] == tagDistHeader:
		atoms, n, err := parseDistHeader(b[2:], cache)
		if err != nil {
			return nil, err
		}
		return &frameTerms{dec: etf.Decoder{AtomCache: atoms}, start: 2 + n}, nil
	case len(b) >= 2 && b[0] == tagVersion && (b[1] == tagDistFragStart || b[1] == tagDistFragCont):
		return nil, errors.New("received a fragmented message, but fragments were not negotiated")
	}
	return nil, fmt.Errorf("unknown frame type %d", b[0])
}

// parseDistHeader parses the part of a normal distribution header after
// 131 'D' and returns the atoms its references resolve to, updating cache.
// Layout: NumberOfAtomCacheRefs(1), Flags(N/2+1 bytes of nibbles: one per
// ref, then one LongAtoms nibble), then per ref either InternalIndex(1) for
// an old entry or InternalIndex(1) Length(1|2) Text for a new entry.
func parseDistHeader(b []byte, cache *atomCache) ([]etf.Atom, int, error) {
	if len(b) < 1 {
		return nil, 0, errors.New("truncated distribution header")
	}
	n := int(b[0])
	pos := 1
	if n == 0 {
		return nil, pos, nil
	}
	flagBytes := n/2 + 1
	if len(b) < pos+flagBytes {
		return nil, 0, errors.New("truncated distribution header flags")
	}
	flags := b[pos : pos+flagBytes]
	pos += flagBytes
	nibble := func(i int) byte {
		v := flags[i/2]
		if i%2 == 1 {
			v >>= 4
		}
		return v & 0x0f
	}
	longAtoms := nibble(n)&0x1 != 0
	refs := make([]etf.Atom, n)
	for i := range n {
		fl := nibble(i)
		isNew := fl&0x8 != 0
		segment := int(fl & 0x7)
		if len(b) < pos+1 {
			return nil, 0, errors.New("truncated atom cache reference")
		}
		idx := segment*256 + int(b[pos])
		pos++
		if !isNew {
			if !cache.set[idx] {
				return nil, 0, fmt.Errorf("atom cache reference to empty entry %d", idx)
			}
			refs[i] = cache.atoms[idx]
			continue
		}
		var l int
		if longAtoms {
			if len(b) < pos+2 {
				return nil, 0, errors.New("truncated atom cache entry length")
			}
			l = int(b[pos])<<8 | int(b[pos+1])
			pos += 2
		} else {
			if len(b) < pos+1 {
				return nil, 0, errors.New("truncated atom cache entry length")
			}
			l = int(b[pos])
			pos++
		}
		if len(b) < pos+l {
			return nil, 0, errors.New("truncated atom cache entry text")
		}
		a := etf.Atom(b[pos : pos+l])
		pos += l
		cache.atoms[idx], cache.set[idx] = a, true
		refs[i] = a
	}
	return refs, pos, nil
}

// appendFrame appends a length-prefixed frame holding control and, if
// hasMsg, message. With the atom-cache header negotiated it uses a normal
// header with no cache references; otherwise the pass-through form.
func appendFrame(buf []byte, useHeader bool, control etf.Tuple, message etf.Term, hasMsg bool) ([]byte, error) {
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0)
	var err error
	if useHeader {
		buf = append(buf, tagVersion, tagDistHeader, 0)
		if buf, err = etf.AppendTerm(buf, control); err != nil {
			return nil, fmt.Errorf("encode control message: %w", err)
		}
		if hasMsg {
			if buf, err = etf.AppendTerm(buf, message); err != nil {
				return nil, fmt.Errorf("encode message: %w", err)
			}
		}
	} else {
		buf = append(buf, tagPassThrough)
		if buf, err = etf.Append(buf, control); err != nil {
			return nil, fmt.Errorf("encode control message: %w", err)
		}
		if hasMsg {
			if buf, err = etf.Append(buf, message); err != nil {
				return nil, fmt.Errorf("encode message: %w", err)
			}
		}
	}
	size := len(buf) - start - 4
	buf[start] = byte(size >> 24)
	buf[start+1] = byte(size >> 16)
	buf[start+2] = byte(size >> 8)
	buf[start+3] = byte(size)
	return buf, nil
}
