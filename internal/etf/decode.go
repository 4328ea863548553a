package etf

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrTruncated is wrapped by a DecodeError when the input ends inside a
// term. Test for it with errors.Is.
var ErrTruncated = errors.New("unexpected end of input")

// DecodeError tells where and why decoding failed. Get it with errors.As.
type DecodeError struct {
	// Offset is where the term that failed starts, counted from the start
	// of the bytes given to Decode or DecodeTerm (or, when Inflated is
	// set, from the start of the inflated bytes of a compressed term).
	Offset int
	// What names the kind of term that failed: "list", "atom", ...
	What string
	// Inflated is set when the error is inside a compressed term.
	Inflated bool
	// Err is the reason. It wraps ErrTruncated when the input was cut short.
	Err error
}

// Error formats the error as "etf: decode <what> at offset <n>: <reason>".
func (e *DecodeError) Error() string {
	where := ""
	if e.Inflated {
		where = " of the inflated term"
	}
	return fmt.Sprintf("etf: decode %s at offset %d%s: %v", e.What, e.Offset, where, e.Err)
}

// Unwrap returns the reason.
func (e *DecodeError) Unwrap() error { return e.Err }

// Decoder decodes terms. The zero value is ready to use and a Decoder may
// be reused, but not by two goroutines at once.
//
// Decoded binaries, strings and atoms never alias the input: the caller may
// reuse the input buffer as soon as a Decode method returns.
type Decoder struct {
	// AtomCache holds the atoms that ATOM_CACHE_REF index i refers to,
	// taken from the distribution header of the message being decoded.
	// When nil, an ATOM_CACHE_REF is an error.
	AtomCache []Atom
	// MaxDepth bounds how deeply terms nest: 1 allows only a term that
	// contains nothing, 2 a tuple of such terms, and so on (0 means
	// DefaultMaxDepth).
	MaxDepth int
	// MaxDecompressed bounds the inflated size of a compressed term
	// (0 means DefaultMaxDecompressed).
	MaxDecompressed int
}

// Decode decodes one whole term_to_binary result: the version byte 131,
// then a term, which may be compressed. Trailing bytes are an error.
func Decode(b []byte) (Term, error) {
	var d Decoder
	t, n, err := d.Decode(b)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, &DecodeError{Offset: n, What: "term", Err: fmt.Errorf("%d trailing bytes after the term", len(b)-n)}
	}
	return t, nil
}

// Decode decodes one term that starts with the version byte 131 and may be
// compressed. It returns the term and the number of bytes it used; bytes
// after the term are left alone.
func (d *Decoder) Decode(b []byte) (Term, int, error) {
	if len(b) == 0 {
		return nil, 0, &DecodeError{What: "term", Err: ErrTruncated}
	}
	if b[0] != tagVersion {
		return nil, 0, &DecodeError{What: "term", Err: fmt.Errorf("expected version byte 131, got %d", b[0])}
	}
	if len(b) > 1 && b[1] == tagCompressed {
		return d.decodeCompressed(b)
	}
	return d.decodeFrom(b, 1)
}

// DecodeTerm decodes one term that has no version byte, as terms follow a
// distribution header on the wire. It returns the term and the number of
// bytes it used; bytes after the term are left alone.
func (d *Decoder) DecodeTerm(b []byte) (Term, int, error) {
	return d.decodeFrom(b, 0)
}

// decodeFrom decodes the term at b[pos:]. Offsets in errors count from the
// start of b.
func (d *Decoder) decodeFrom(b []byte, pos int) (Term, int, error) {
	s := state{b: b, pos: pos, cache: d.AtomCache, maxDepth: d.MaxDepth}
	if s.maxDepth <= 0 {
		s.maxDepth = DefaultMaxDepth
	}
	t, err := s.term(1) // the top-level term is at depth 1
	if err != nil {
		return nil, 0, err
	}
	return t, s.pos, nil
}

// decodeCompressed decodes 131, 80, UncompressedSize (u32), zlib data. The
// declared size is checked against MaxDecompressed and against what
// deflate can produce from the input before anything is allocated, and the
// inflated data must have exactly the declared size.
func (d *Decoder) decodeCompressed(b []byte) (Term, int, error) {
	fail := func(err error) (Term, int, error) {
		return nil, 0, &DecodeError{Offset: 1, What: "compressed term", Err: err}
	}
	if len(b) < 6 {
		return fail(ErrTruncated)
	}
	size := int64(binary.BigEndian.Uint32(b[2:6]))
	limit := int64(d.MaxDecompressed)
	if limit <= 0 {
		limit = DefaultMaxDecompressed
	}
	if size > limit {
		return fail(fmt.Errorf("declared size %d exceeds the limit of %d bytes", size, limit))
	}
	if size > maxDeflateRatio*int64(len(b)-6)+64 {
		return fail(fmt.Errorf("declared size %d cannot come from %d bytes of zlib data", size, len(b)-6))
	}
	src := bytes.NewReader(b[6:]) // a ByteReader: zlib reads no further than its stream
	zr, err := zlib.NewReader(src)
	if err != nil {
		return fail(fmt.Errorf("zlib: %w", err))
	}
	inflated := make([]byte, size)
	if _, err := io.ReadFull(zr, inflated); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fail(fmt.Errorf("inflates to fewer bytes than the declared %d", size))
		}
		return fail(fmt.Errorf("zlib: %w", err))
	}
	// Reading on must find the end of the stream (and check its checksum).
	if n, err := io.Copy(io.Discard, io.LimitReader(zr, 1)); n != 0 || err != nil {
		if err != nil {
			return fail(fmt.Errorf("zlib: %w", err))
		}
		return fail(fmt.Errorf("inflates to more bytes than the declared %d", size))
	}
	if err := zr.Close(); err != nil {
		return fail(fmt.Errorf("zlib: %w", err))
	}
	used := len(b) - src.Len()
	t, n, err := d.DecodeTerm(inflated)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.Inflated = true
		}
		return nil, 0, err
	}
	if n != len(inflated) {
		return nil, 0, &DecodeError{Offset: n, What: "term", Inflated: true,
			Err: fmt.Errorf("%d trailing bytes inside the compressed term", len(inflated)-n)}
	}
	return t, used, nil
}
