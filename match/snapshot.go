package match

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
)

// A snapshot is a prepared Registry written out, so that the next dry run
// or training over an unchanged registry reads it back in seconds instead
// of reading and preparing every record again (ten million records take
// most of a minute). It is a cache: the caller keeps it beside the store,
// names in the stamp what it was prepared from (the store, the registry's
// generation, the program), and throws it away when anything differs.
//
// The layout: a magic string and a format number, then sections, each its
// length (8 bytes), its bytes and their CRC-32C: the stamp, the strings,
// the names, the names' spellings, the records, the ids, the keys. Numbers
// are little-endian; a string is its uvarint length and bytes.

// snapshotMagic opens every snapshot; the byte after it is the format.
const snapshotMagic = "custodian match registry\n"

// snapshotFormat changes whenever the layout does.
const snapshotFormat = 1

// ErrSnapshotStale means that a snapshot was written for another stamp:
// another registry, another generation of it, or another program.
var ErrSnapshotStale = errors.New("the registry snapshot was prepared from another registry or by another program")

// maxSnapshotSection bounds a section's length, so a damaged length cannot
// ask for more memory than any registry needs.
const maxSnapshotSection = 1 << 36

// snapshotStep is how much of a section is read at a time.
const snapshotStep = 64 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// recBytes is the encoded size of a rec.
const recBytes = 7*4 + 2 + 1 + 1 + 1

// WriteSnapshot writes the registry, sealed, with stamp.
func (g *Registry) WriteSnapshot(w io.Writer, stamp string) error {
	g.seal()
	if _, err := io.WriteString(w, snapshotMagic+string(rune(snapshotFormat))); err != nil {
		return fmt.Errorf("write registry snapshot: %w", err)
	}
	section := func(b []byte) error {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
		b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
		if _, err := w.Write(n[:]); err != nil {
			return fmt.Errorf("write registry snapshot: %w", err)
		}
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("write registry snapshot: %w", err)
		}
		return nil
	}
	if err := section(appendString(nil, stamp)); err != nil {
		return err
	}
	// Strings, without index 0 ("").
	b := binary.AppendUvarint(nil, uint64(len(g.strTab)-1))
	strIndex := make(map[string]uint32, len(g.strTab))
	for i, s := range g.strTab[1:] {
		b = appendString(b, s)
		strIndex[s] = uint32(i + 1)
	}
	if err := section(b); err != nil {
		return err
	}
	// Names, without index 0 (the missing name); their strings are in the
	// string table, since nameID interns them.
	b = binary.AppendUvarint(b[:0], uint64(len(g.nameTab)-1))
	for _, n := range g.nameTab[1:] {
		for _, s := range [3]string{n.norm, n.core, n.phonetic} {
			i, ok := strIndex[s]
			if !ok && s != "" {
				return fmt.Errorf("write registry snapshot: a name's string is not interned")
			}
			b = binary.LittleEndian.AppendUint32(b, i)
		}
		b = binary.LittleEndian.AppendUint32(b, n.gset)
		b = binary.LittleEndian.AppendUint32(b, n.mask)
		flags := byte(0)
		for bit, set := range [4]bool{n.multi, n.initials, n.vset, n.syl != nil} {
			if set {
				flags |= 1 << bit
			}
		}
		b = append(b, n.runes, n.initial, flags)
		if n.syl != nil {
			for _, r := range n.syl {
				b = binary.LittleEndian.AppendUint64(b, r)
			}
		}
	}
	if err := section(b); err != nil {
		return err
	}
	// The names as written, for queries that bear them.
	b = b[:0]
	count := 0
	for i := range g.names.shards {
		sh := &g.names.shards[i]
		sh.mu.Lock()
		for k, v := range sh.m {
			b = binary.AppendUvarint(appendString(b, k), uint64(v))
			count++
		}
		sh.mu.Unlock()
	}
	if err := section(append(binary.AppendUvarint(nil, uint64(count)), b...)); err != nil {
		return err
	}
	// Records and their ids.
	b = make([]byte, 0, len(g.ids)*recBytes+4)
	for _, chunk := range g.recs {
		for i := range chunk {
			r := &chunk[i]
			for _, v := range [7]uint32{r.first, r.middle, r.last, r.num, r.street, r.zip, r.suffix} {
				b = binary.LittleEndian.AppendUint32(b, v)
			}
			b = binary.LittleEndian.AppendUint16(b, uint16(r.dob.y))
			b = append(b, byte(r.dob.m), byte(r.dob.d), r.sex)
		}
	}
	if err := section(b); err != nil {
		return err
	}
	b = b[:0]
	for _, id := range g.ids {
		b = appendString(b, id)
	}
	if err := section(b); err != nil {
		return err
	}
	b = slices.Grow(b[:0], 8*len(g.keys)+4)
	for _, k := range g.keys {
		b = binary.LittleEndian.AppendUint64(b, k)
	}
	return section(b)
}

// ReadSnapshot reads a registry written by WriteSnapshot with the same
// stamp: ErrSnapshotStale when the stamp differs, another error when the
// snapshot is damaged or cut short. The registry is sealed, with the
// default block limit.
func ReadSnapshot(r io.Reader, stamp string) (*Registry, error) {
	fail := func(what string) error { return fmt.Errorf("read registry snapshot: %s", what) }
	head := make([]byte, len(snapshotMagic)+1)
	if _, err := io.ReadFull(r, head); err != nil || string(head[:len(snapshotMagic)]) != snapshotMagic {
		return nil, fail("not a registry snapshot")
	}
	if head[len(snapshotMagic)] != snapshotFormat {
		return nil, ErrSnapshotStale
	}
	section := func() (*snapReader, error) {
		var n [8]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return nil, fail("cut short")
		}
		size := binary.LittleEndian.Uint64(n[:])
		if size > maxSnapshotSection {
			return nil, fail("damaged (a section's length)")
		}
		// Read in steps, so a damaged length runs out of input before
		// it takes much memory.
		b := make([]byte, 0, min(size+4, snapshotStep))
		for uint64(len(b)) < size+4 {
			n := int(min(size+4-uint64(len(b)), snapshotStep))
			b = slices.Grow(b, n)
			if _, err := io.ReadFull(r, b[len(b):len(b)+n]); err != nil {
				return nil, fail("cut short")
			}
			b = b[:len(b)+n]
		}
		if crc32.Checksum(b[:size], castagnoli) != binary.LittleEndian.Uint32(b[size:]) {
			return nil, fail("damaged (a checksum)")
		}
		return &snapReader{b: b[:size]}, nil
	}
	sr, err := section()
	if err != nil {
		return nil, err
	}
	if s := sr.string(); sr.err != nil || s != stamp {
		return nil, ErrSnapshotStale
	}
	g := NewRegistry()
	// Strings.
	if sr, err = section(); err != nil {
		return nil, err
	}
	n := sr.count(1)
	g.strTab = slices.Grow(g.strTab, n)
	for range n {
		g.strTab = append(g.strTab, sr.string())
	}
	if err := sr.done(); err != nil {
		return nil, err
	}
	// Names.
	if sr, err = section(); err != nil {
		return nil, err
	}
	n = sr.count(4*5 + 3)
	infos := make([]nameInfo, n)
	g.nameTab = slices.Grow(g.nameTab, n)
	for i := range infos {
		ni := &infos[i]
		ni.norm, ni.core, ni.phonetic = sr.str(g), sr.str(g), sr.str(g)
		ni.gset, ni.mask = sr.uint32(), sr.uint32()
		ni.runes, ni.initial = sr.byte(), sr.byte()
		flags := sr.byte()
		ni.multi, ni.initials, ni.vset = flags&1 != 0, flags&2 != 0, flags&4 != 0
		if flags&8 != 0 {
			var rd readings
			for j := range rd {
				rd[j] = sr.uint64()
			}
			ni.syl = &rd
		}
		g.nameTab = append(g.nameTab, ni)
	}
	if err := sr.done(); err != nil {
		return nil, err
	}
	// The names as written.
	if sr, err = section(); err != nil {
		return nil, err
	}
	for range sr.count(2) {
		k, v := sr.string(), sr.uvarint()
		if sr.err != nil || v == 0 || v >= uint64(len(g.nameTab)) {
			return nil, fail("damaged (a name's index)")
		}
		g.names.get(k, func(string) uint32 { return uint32(v) })
	}
	if err := sr.done(); err != nil {
		return nil, err
	}
	// Records.
	if sr, err = section(); err != nil {
		return nil, err
	}
	if len(sr.b)%recBytes != 0 || len(sr.b)/recBytes > MaxRecords {
		return nil, fail("damaged (the records)")
	}
	nrec := len(sr.b) / recBytes
	for at := 0; at < nrec; at += personChunk {
		chunk := make([]rec, min(personChunk, nrec-at))
		for i := range chunk {
			r := &chunk[i]
			r.first, r.middle, r.last = sr.uint32(), sr.uint32(), sr.uint32()
			r.num, r.street, r.zip, r.suffix = sr.uint32(), sr.uint32(), sr.uint32(), sr.uint32()
			r.dob = date{int16(sr.uint16()), int8(sr.byte()), int8(sr.byte())}
			r.sex = sr.byte()
			if r.first >= uint32(len(g.nameTab)) || r.middle >= uint32(len(g.nameTab)) || r.last >= uint32(len(g.nameTab)) ||
				max(r.num, r.street, r.zip, r.suffix) >= uint32(len(g.strTab)) {
				return nil, fail("damaged (a record's index)")
			}
		}
		g.recs = append(g.recs, chunk)
	}
	if err := sr.done(); err != nil {
		return nil, err
	}
	// Ids, as substrings of one copy of their section.
	if sr, err = section(); err != nil {
		return nil, err
	}
	joined := string(sr.b)
	g.ids = make([]string, 0, nrec)
	for range nrec {
		id := sr.bytes()
		if sr.err != nil {
			break
		}
		end := len(joined) - len(sr.b)
		g.ids = append(g.ids, joined[end-len(id):end])
	}
	if err := sr.done(); err != nil {
		return nil, err
	}
	// Keys, sorted.
	if sr, err = section(); err != nil {
		return nil, err
	}
	if len(sr.b)%8 != 0 {
		return nil, fail("damaged (the keys)")
	}
	g.keys = make([]uint64, len(sr.b)/8)
	for i := range g.keys {
		g.keys[i] = sr.uint64()
		if int(entryRecord(g.keys[i])) >= nrec || i > 0 && g.keys[i] < g.keys[i-1] {
			return nil, fail("damaged (the keys)")
		}
	}
	if err := sr.done(); err != nil {
		return nil, err
	}
	g.index()
	return g, nil
}

// snapReader decodes one section; the first error sticks.
type snapReader struct {
	b   []byte
	err error
}

func (s *snapReader) need(n int) []byte {
	if s.err != nil || len(s.b) < n {
		s.err = errors.New("read registry snapshot: damaged (a section ends early)")
		return make([]byte, n)
	}
	b := s.b[:n]
	s.b = s.b[n:]
	return b
}

func (s *snapReader) byte() byte     { return s.need(1)[0] }
func (s *snapReader) uint16() uint16 { return binary.LittleEndian.Uint16(s.need(2)) }
func (s *snapReader) uint32() uint32 { return binary.LittleEndian.Uint32(s.need(4)) }
func (s *snapReader) uint64() uint64 { return binary.LittleEndian.Uint64(s.need(8)) }
func (s *snapReader) string() string { return string(s.bytes()) }

// bytes reads a string's bytes, without copying them.
func (s *snapReader) bytes() []byte {
	n := s.uvarint()
	if n > uint64(len(s.b)) {
		s.err = errors.New("read registry snapshot: damaged (a string's length)")
		return nil
	}
	return s.need(int(n))
}
func (s *snapReader) str(g *Registry) string {
	i := s.uint32()
	if i >= uint32(len(g.strTab)) {
		s.err = errors.New("read registry snapshot: damaged (a string's index)")
		return ""
	}
	return g.strTab[i]
}

func (s *snapReader) uvarint() uint64 {
	if s.err != nil {
		return 0
	}
	v, n := binary.Uvarint(s.b)
	if n <= 0 {
		s.err = errors.New("read registry snapshot: damaged (a number)")
		return 0
	}
	s.b = s.b[n:]
	return v
}

// count reads a count of items of at least min bytes each, refusing one
// the section cannot hold.
func (s *snapReader) count(min int) int {
	n := s.uvarint()
	if n > uint64(len(s.b)/min) {
		s.err = errors.New("read registry snapshot: damaged (a count)")
		return 0
	}
	return int(n)
}

// done reports the section's error, or an error when bytes are left over.
func (s *snapReader) done() error {
	if s.err == nil && len(s.b) != 0 {
		s.err = errors.New("read registry snapshot: damaged (a section is longer than its contents)")
	}
	return s.err
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}
