package etf

import (
	"encoding/binary"
	"fmt"
	"math"
)

// appendPid writes NEW_PID_EXT.
func appendPid(buf []byte, p Pid) ([]byte, error) {
	buf = append(buf, tagNewPid)
	buf, err := appendAtom(buf, p.Node)
	if err != nil {
		return nil, err
	}
	buf = binary.BigEndian.AppendUint32(buf, p.ID)
	buf = binary.BigEndian.AppendUint32(buf, p.Serial)
	return binary.BigEndian.AppendUint32(buf, p.Creation), nil
}

// appendPort writes NEW_PORT_EXT, or V4_PORT_EXT for an ID beyond 32 bits.
func appendPort(buf []byte, p Port) ([]byte, error) {
	tag := byte(tagNewPort)
	if p.ID > math.MaxUint32 {
		tag = tagV4Port
	}
	buf, err := appendAtom(append(buf, tag), p.Node)
	if err != nil {
		return nil, err
	}
	if tag == tagV4Port {
		buf = binary.BigEndian.AppendUint64(buf, p.ID)
	} else {
		buf = binary.BigEndian.AppendUint32(buf, uint32(p.ID))
	}
	return binary.BigEndian.AppendUint32(buf, p.Creation), nil
}

// appendRef writes NEWER_REFERENCE_EXT.
func appendRef(buf []byte, r Ref) ([]byte, error) {
	if r.Len < 1 || r.Len > MaxRefWords {
		return nil, fmt.Errorf("etf: encode: reference with %d words", r.Len)
	}
	buf = append(buf, tagNewerReference)
	buf = binary.BigEndian.AppendUint16(buf, uint16(r.Len))
	buf, err := appendAtom(buf, r.Node)
	if err != nil {
		return nil, err
	}
	buf = binary.BigEndian.AppendUint32(buf, r.Creation)
	for _, w := range r.Words() {
		buf = binary.BigEndian.AppendUint32(buf, w)
	}
	return buf, nil
}

// appendExport writes EXPORT_EXT.
func appendExport(buf []byte, e Export) ([]byte, error) {
	buf, err := appendAtom(append(buf, tagExport), e.Module)
	if err != nil {
		return nil, err
	}
	if buf, err = appendAtom(buf, e.Function); err != nil {
		return nil, err
	}
	return append(buf, tagSmallInteger, e.Arity), nil
}

// appendFun writes NEW_FUN_EXT. Its Size field counts the bytes from
// itself to the end of the free variables.
func appendFun(buf []byte, f Fun, depth int) ([]byte, error) {
	buf = append(buf, tagNewFun)
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0) // Size, patched below
	buf = append(buf, f.Arity)
	buf = append(buf, f.Uniq[:]...)
	buf = binary.BigEndian.AppendUint32(buf, f.Index)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(f.FreeVars)))
	var err error
	if buf, err = appendAtom(buf, f.Module); err != nil {
		return nil, err
	}
	buf = appendInt(buf, f.OldIndex)
	buf = appendInt(buf, f.OldUniq)
	if buf, err = appendPid(buf, f.Pid); err != nil {
		return nil, err
	}
	for _, v := range f.FreeVars {
		if buf, err = appendTerm(buf, v, depth+1); err != nil {
			return nil, err
		}
	}
	binary.BigEndian.PutUint32(buf[start:], uint32(len(buf)-start))
	return buf, nil
}
