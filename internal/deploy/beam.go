package deploy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/beamctl/beamctl/internal/etf"
)

// maxBeam bounds one .beam file (OTP's largest modules are under 2 MiB).
const maxBeam = 16 << 20

// BeamInfo is what beamctl reads from a .beam file itself, before any node
// sees it.
type BeamInfo struct {
	Module string `json:"module"`
	// Compiler is the version of the compiler that made it ("" if the
	// file has no compile information).
	Compiler string `json:"compiler,omitempty"`
	// MinOTP is the oldest OTP release that can load it (0: unknown).
	MinOTP int `json:"min_otp,omitempty"`
}

// ParseBeam reads a .beam file's module name (its first atom) and the
// compiler version of its compile information. It is bounded and safe on
// any bytes (fuzzed).
func ParseBeam(b []byte) (BeamInfo, error) {
	var info BeamInfo
	if len(b) > maxBeam {
		return info, fmt.Errorf("the file is over %d MiB: not a module", maxBeam>>20)
	}
	if len(b) < 12 || string(b[0:4]) != "FOR1" || string(b[8:12]) != "BEAM" {
		return info, errors.New("not a .beam file (no FOR1/BEAM header)")
	}
	size := int(binary.BigEndian.Uint32(b[4:8]))
	if size+8 < 12 || size+8 > len(b) {
		return info, errors.New("not a .beam file (its size does not match its header)")
	}
	body := b[12 : size+8]
	for len(body) >= 8 {
		id := string(body[0:4])
		n := int(binary.BigEndian.Uint32(body[4:8]))
		if n < 0 || n > len(body)-8 {
			return info, fmt.Errorf("not a .beam file (chunk %q runs past the end)", id)
		}
		data := body[8 : 8+n]
		switch id {
		case "AtU8", "Atom":
			mod, err := firstAtom(data)
			if err != nil {
				return info, err
			}
			info.Module = mod
		case "CInf":
			if t, err := etf.Decode(data); err == nil {
				if v, ok := etf.PropGet(t, etf.Atom("version")); ok {
					info.Compiler, _ = etf.ToString(v)
				}
			}
		}
		step := 8 + (n+3)&^3
		if step > len(body) {
			break
		}
		body = body[step:]
	}
	if info.Module == "" {
		return info, errors.New("not a .beam file (no atom table)")
	}
	info.MinOTP = minOTP(info.Compiler)
	return info, nil
}

// firstAtom reads the first entry of an atom chunk: the module's name. The
// count is negative when lengths use the compact encoding (OTP 28).
func firstAtom(data []byte) (string, error) {
	if len(data) < 5 {
		return "", errors.New("not a .beam file (empty atom table)")
	}
	count := int32(binary.BigEndian.Uint32(data[0:4]))
	p, n := 4, 0
	if count >= 0 {
		n = int(data[p])
		p++
	} else {
		tag := data[p]
		switch {
		case tag&0x08 == 0:
			n, p = int(tag>>4), p+1
		case tag&0x10 == 0 && len(data) > p+1:
			n, p = int(tag>>5)<<8|int(data[p+1]), p+2
		default:
			return "", errors.New("not a .beam file (bad atom length)")
		}
	}
	if n == 0 || p+n > len(data) {
		return "", errors.New("not a .beam file (atom table too short)")
	}
	return string(data[p : p+n]), nil
}

// compilerOTP maps the first compiler version of each OTP release to it:
// code from compiler X.Y may use instructions only releases from there on
// load.
var compilerOTP = []struct {
	major, minor, otp int
}{
	{7, 4, 22}, {7, 6, 23}, {8, 0, 24}, {8, 2, 25}, {8, 3, 26}, {8, 5, 27}, {9, 0, 28}, {9, 1, 29},
}

// minOTP is the oldest OTP release whose compiler is not older than v (0:
// unknown or older than OTP 22).
func minOTP(v string) int {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return 0
	}
	otp := 0
	for _, c := range compilerOTP {
		if major > c.major || (major == c.major && minor >= c.minor) {
			otp = c.otp
		}
	}
	return otp
}
