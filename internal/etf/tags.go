package etf

// External term format tags, as named in OTP's erts/emulator/beam/external.h
// and the "External Term Format" chapter of the ERTS user's guide.
const (
	tagVersion        = 131 // first byte of every term_to_binary result
	tagCompressed     = 80  // zlib-compressed term: 80, size u32, zlib data
	tagNewFloat       = 70  // IEEE 754 float, 8 bytes big-endian
	tagBitBinary      = 77  // bitstring: len u32, bits u8, bytes
	tagAtomCacheRef   = 82  // index into the distribution header's atom cache
	tagNewPid         = 88  // pid with 32-bit creation
	tagNewPort        = 89  // port with 32-bit id and 32-bit creation
	tagNewerReference = 90  // reference with 32-bit creation
	tagSmallInteger   = 97  // integer 0..255
	tagInteger        = 98  // signed 32-bit integer
	tagFloat          = 99  // float as 31 bytes of "%.20e" text (old)
	tagAtom           = 100 // Latin-1 atom, u16 length (old)
	tagReference      = 101 // reference with one ID word (old)
	tagPort           = 102 // port with 8-bit creation (old)
	tagPid            = 103 // pid with 8-bit creation (old)
	tagSmallTuple     = 104 // tuple, arity u8
	tagLargeTuple     = 105 // tuple, arity u32
	tagNil            = 106 // []
	tagString         = 107 // list of bytes, u16 length
	tagList           = 108 // list, u32 length, elements, tail
	tagBinary         = 109 // binary, u32 length
	tagSmallBig       = 110 // integer, u8 digit count, sign, little-endian digits
	tagLargeBig       = 111 // integer, u32 digit count, sign, little-endian digits
	tagNewFun         = 112 // local fun
	tagExport         = 113 // fun M:F/A
	tagNewReference   = 114 // reference with 8-bit creation (old)
	tagSmallAtom      = 115 // Latin-1 atom, u8 length (old)
	tagMap            = 116 // map, u32 pair count, key/value pairs
	tagAtomUTF8       = 118 // UTF-8 atom, u16 length
	tagSmallAtomUTF8  = 119 // UTF-8 atom, u8 length
	tagV4Port         = 120 // port with 64-bit id
)

// Limits of the format and defaults of the Decoder.
const (
	maxAtomChars = 255 // the VM refuses longer atoms

	// DefaultMaxDepth is the nesting depth a Decoder accepts when its
	// MaxDepth is zero.
	DefaultMaxDepth = 10000

	// DefaultMaxDecompressed is the inflated size of a compressed term a
	// Decoder accepts when its MaxDecompressed is zero.
	DefaultMaxDecompressed = 64 << 20

	// maxDeflateRatio bounds how much deflate can expand its input (about
	// 1032:1), so a declared size beyond it is a lie found before inflating.
	maxDeflateRatio = 1032
)

// tagName names what a tag encodes, for error messages.
func tagName(tag byte) string {
	switch tag {
	case tagNewFloat, tagFloat:
		return "float"
	case tagBitBinary:
		return "bitstring"
	case tagAtomCacheRef, tagAtom, tagSmallAtom, tagAtomUTF8, tagSmallAtomUTF8:
		return "atom"
	case tagNewPid, tagPid:
		return "pid"
	case tagNewPort, tagPort, tagV4Port:
		return "port"
	case tagNewerReference, tagReference, tagNewReference:
		return "reference"
	case tagSmallInteger, tagInteger, tagSmallBig, tagLargeBig:
		return "integer"
	case tagSmallTuple, tagLargeTuple:
		return "tuple"
	case tagNil, tagList:
		return "list"
	case tagString:
		return "string"
	case tagBinary:
		return "binary"
	case tagNewFun:
		return "fun"
	case tagExport:
		return "export"
	case tagMap:
		return "map"
	case tagCompressed:
		return "compressed term"
	}
	return "term"
}
