package sim

import (
	"errors"
	"fmt"

	"github.com/beamctl/beamctl/internal/etf"
)

// Frame tags (erl_ext_dist, "Distribution Header").
const (
	tagPassThrough = 'p'
	tagVersion     = 131
	tagDistHeader  = 'D'
	atomCacheSize  = 2048
)

// frameDecoder decodes the frames a simulated node receives, keeping the
// connection's atom cache. Unlike beamctl's client, it must take the empty
// atom ” as a cache entry: a real node caches it (the unused field of
// REG_SEND) and refers to it in later frames.
type frameDecoder struct {
	cache *[atomCacheSize]etf.Atom
	set   *[atomCacheSize]bool
}

// decode decodes one non-empty frame: control message and message (nil
// when the control message has none).
func (d *frameDecoder) decode(b []byte) (etf.Tuple, etf.Term, error) {
	var dec etf.Decoder
	versioned := false
	pos := 0
	switch {
	case len(b) > 0 && b[0] == tagPassThrough:
		versioned, pos = true, 1
	case len(b) >= 2 && b[0] == tagVersion && b[1] == tagDistHeader:
		atoms, n, err := d.header(b[2:])
		if err != nil {
			return nil, nil, err
		}
		dec.AtomCache, pos = atoms, 2+n
	default:
		return nil, nil, fmt.Errorf("unknown frame type %d", b[0])
	}
	one := func() (etf.Term, error) {
		var t etf.Term
		var n int
		var err error
		if versioned {
			t, n, err = dec.Decode(b[pos:])
		} else {
			t, n, err = dec.DecodeTerm(b[pos:])
		}
		pos += n
		return t, err
	}
	ctl, err := one()
	if err != nil {
		return nil, nil, fmt.Errorf("decode control message: %w", err)
	}
	t, ok := ctl.(etf.Tuple)
	if !ok || len(t) == 0 {
		return nil, nil, errors.New("control message is not a tuple")
	}
	var msg etf.Term
	if pos < len(b) {
		if msg, err = one(); err != nil {
			return nil, nil, fmt.Errorf("decode message: %w", err)
		}
	}
	if pos != len(b) {
		return nil, nil, fmt.Errorf("%d trailing bytes", len(b)-pos)
	}
	return t, msg, nil
}

// header parses a normal distribution header after 131 'D' and returns the
// atoms its references stand for, updating the cache.
func (d *frameDecoder) header(b []byte) ([]etf.Atom, int, error) {
	if len(b) < 1 {
		return nil, 0, errors.New("truncated distribution header")
	}
	n, pos := int(b[0]), 1
	if n == 0 {
		return nil, pos, nil
	}
	if d.cache == nil {
		d.cache, d.set = new([atomCacheSize]etf.Atom), new([atomCacheSize]bool)
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
	long := nibble(n)&1 != 0
	refs := make([]etf.Atom, n)
	for i := range n {
		fl := nibble(i)
		if len(b) < pos+1 {
			return nil, 0, errors.New("truncated atom cache reference")
		}
		idx := int(fl&7)*256 + int(b[pos])
		pos++
		if fl&8 == 0 {
			if !d.set[idx] {
				return nil, 0, fmt.Errorf("atom cache reference to empty entry %d", idx)
			}
			refs[i] = d.cache[idx]
			continue
		}
		l := 0
		if long {
			if len(b) < pos+2 {
				return nil, 0, errors.New("truncated atom cache entry")
			}
			l, pos = int(b[pos])<<8|int(b[pos+1]), pos+2
		} else {
			if len(b) < pos+1 {
				return nil, 0, errors.New("truncated atom cache entry")
			}
			l, pos = int(b[pos]), pos+1
		}
		if len(b) < pos+l {
			return nil, 0, errors.New("truncated atom cache entry text")
		}
		a := etf.Atom(b[pos : pos+l])
		pos += l
		d.cache[idx], d.set[idx], refs[i] = a, true, a
	}
	return refs, pos, nil
}
