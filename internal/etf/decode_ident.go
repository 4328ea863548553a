package etf

import (
	"encoding/binary"
	"fmt"
)

// pidAfterTag decodes NEW_PID_EXT and PID_EXT (8-bit creation).
func (s *state) pidAfterTag(tag byte) (Pid, error) {
	var p Pid
	var err error
	if p.Node, err = s.atom(); err != nil {
		return p, err
	}
	if p.ID, err = s.u32(); err != nil {
		return p, err
	}
	if p.Serial, err = s.u32(); err != nil {
		return p, err
	}
	if tag == tagPid {
		c, err := s.u8()
		p.Creation = uint32(c)
		return p, err
	}
	p.Creation, err = s.u32()
	return p, err
}

// port decodes V4_PORT_EXT (64-bit ID), NEW_PORT_EXT and PORT_EXT (8-bit
// creation).
func (s *state) port(tag byte) (Term, error) {
	node, err := s.atom()
	if err != nil {
		return nil, err
	}
	p := Port{Node: node}
	if tag == tagV4Port {
		b, err := s.bytes(8)
		if err != nil {
			return nil, err
		}
		p.ID = binary.BigEndian.Uint64(b)
	} else {
		id, err := s.u32()
		if err != nil {
			return nil, err
		}
		p.ID = uint64(id)
	}
	if tag == tagPort {
		c, err := s.u8()
		p.Creation = uint32(c)
		return p, err
	}
	p.Creation, err = s.u32()
	return p, err
}

// ref decodes NEWER_REFERENCE_EXT, NEW_REFERENCE_EXT (8-bit creation) and
// the old one-word REFERENCE_EXT.
func (s *state) ref(tag byte) (Term, error) {
	n := 1
	if tag != tagReference {
		var err error
		if n, err = s.u16(); err != nil {
			return nil, err
		}
		if n < 1 || n > MaxRefWords {
			return nil, fmt.Errorf("%d ID words, not 1..%d", n, MaxRefWords)
		}
	}
	node, err := s.atom()
	if err != nil {
		return nil, err
	}
	r := Ref{Node: node, Len: uint8(n)}
	if tag == tagReference { // Node, ID, Creation
		if r.ID[0], err = s.u32(); err != nil {
			return nil, err
		}
		c, err := s.u8()
		r.Creation = uint32(c)
		return r, err
	}
	if tag == tagNewerReference {
		r.Creation, err = s.u32()
	} else {
		var c byte
		c, err = s.u8()
		r.Creation = uint32(c)
	}
	if err != nil {
		return nil, err
	}
	for i := range n {
		if r.ID[i], err = s.u32(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// export decodes EXPORT_EXT: Module, Function, Arity (a small integer).
func (s *state) export() (Term, error) {
	mod, err := s.atom()
	if err != nil {
		return nil, err
	}
	fun, err := s.atom()
	if err != nil {
		return nil, err
	}
	tag, err := s.u8()
	if err != nil {
		return nil, err
	}
	if tag != tagSmallInteger {
		return nil, fmt.Errorf("arity: expected a small integer, got tag %d", tag)
	}
	arity, err := s.u8()
	return Export{Module: mod, Function: fun, Arity: arity}, err
}

// fun decodes NEW_FUN_EXT: Size (u32, counting itself), Arity, Uniq (16
// bytes), Index, NumFree, Module, OldIndex, OldUniq, Pid, free variables.
func (s *state) fun(depth int) (Term, error) {
	start := s.pos
	size, err := s.u32()
	if err != nil {
		return nil, err
	}
	if uint64(size) > uint64(len(s.b)-start) {
		return nil, fmt.Errorf("size %d exceeds remaining %d bytes", size, len(s.b)-start)
	}
	var f Fun
	if f.Arity, err = s.u8(); err != nil {
		return nil, err
	}
	uniq, err := s.bytes(16)
	if err != nil {
		return nil, err
	}
	copy(f.Uniq[:], uniq)
	if f.Index, err = s.u32(); err != nil {
		return nil, err
	}
	numFree, err := s.count(1)
	if err != nil {
		return nil, err
	}
	if f.Module, err = s.atom(); err != nil {
		return nil, err
	}
	if f.OldIndex, err = s.int64Term(depth); err != nil {
		return nil, err
	}
	if f.OldUniq, err = s.int64Term(depth); err != nil {
		return nil, err
	}
	pidTag, err := s.u8()
	if err != nil {
		return nil, err
	}
	if pidTag != tagNewPid && pidTag != tagPid {
		return nil, fmt.Errorf("expected a pid, got tag %d", pidTag)
	}
	if f.Pid, err = s.pidAfterTag(pidTag); err != nil {
		return nil, err
	}
	if numFree > 0 {
		f.FreeVars = make([]Term, numFree)
	}
	for i := range f.FreeVars {
		if f.FreeVars[i], err = s.term(depth + 1); err != nil {
			return nil, err
		}
	}
	if s.pos-start != int(size) {
		return nil, fmt.Errorf("size field says %d bytes, the fun has %d", size, s.pos-start)
	}
	return f, nil
}

// int64Term decodes an integer that must fit in int64.
func (s *state) int64Term(depth int) (int64, error) {
	t, err := s.term(depth + 1)
	if err != nil {
		return 0, err
	}
	v, ok := t.(int64)
	if !ok {
		return 0, fmt.Errorf("expected an integer, got %s", Typename(t))
	}
	return v, nil
}
