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
// length (8 bytes), its bytes and the CRC-32C of both: the stamp, the
// strings, the names' spellings, the records, the ids, the keys. Numbers
// are little-endian; a string is its uvarint length and bytes.

// snapshotMagic opens every snapshot; the byte after it is the format.
const snapshotMagic = "custodian match registry\n"

// snapshotFormat changes whenever the layout does.
const snapshotFormat = 1

// ErrSnapshotStale means that a snapshot was written for another stamp:
// another registry, another generation of it, or another program.
var ErrSnapshotStale = errors.New("the registry snapshot was prepared from another registry or by another program")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// recBytes is the encoded size of a rec.
const recBytes = 7*4 + 2 + 1 + 1 + 1

// WriteSnapshot writes the registry, sealed, with stamp.
func (g *Registry) WriteSnapshot(w io.Writer, stamp string) error {
	g.seal()
	sw := &sectionWriter{w: w}
	sw.put([]byte(snapshotMagic + string(rune(snapshotFormat))))
	sw.section(appendString(nil, stamp))
	// Strings, without index 0 ("").
	b := binary.AppendUvarint(nil, uint64(len(g.strTab)-1))
	for _, s := range g.strTab[1:] {
		b = appendString(b, s)
	}
	sw.section(b)
	// Names, without index 0 (the missing name): the spellings they were
	// prepared from, in the table's order. The reader prepares them again,
	// as nameID does: nothing a prepared name holds is taken on trust from
	// the file, and a few hundred thousand names take a second.
	spellings := make([]string, len(g.nameTab))
	for i := range g.names.shards {
		sh := &g.names.shards[i]
		sh.mu.Lock()
		for k, v := range sh.m {
			spellings[v] = k
		}
		sh.mu.Unlock()
	}
	b = binary.AppendUvarint(b[:0], uint64(len(spellings)-1))
	for _, k := range spellings[1:] {
		if k == "" {
			return fmt.Errorf("write registry snapshot: a prepared name without its spelling")
		}
		b = appendString(b, k)
	}
	sw.section(b)
	// Records, in steps: ten million take 330 MB.
	sw.begin(len(g.ids) * recBytes)
	b = b[:0]
	for _, chunk := range g.recs {
		for i := range chunk {
			r := &chunk[i]
			for _, v := range [7]uint32{r.first, r.middle, r.last, r.num, r.street, r.zip, r.suffix} {
				b = binary.LittleEndian.AppendUint32(b, v)
			}
			b = binary.LittleEndian.AppendUint16(b, uint16(r.dob.y))
			b = append(b, byte(r.dob.m), byte(r.dob.d), r.sex)
		}
		sw.put(b)
		b = b[:0]
	}
	sw.end()
	b = b[:0]
	for _, id := range g.ids {
		b = appendString(b, id)
	}
	sw.section(b)
	// Keys, in steps: a hundred million take 800 MB.
	sw.begin(8 * len(g.keys))
	for at := 0; at < len(g.keys); at += 1 << 16 {
		b = b[:0]
		for _, k := range g.keys[at:min(at+1<<16, len(g.keys))] {
			b = binary.LittleEndian.AppendUint64(b, k)
		}
		sw.put(b)
	}
	sw.end()
	if sw.err != nil {
		return fmt.Errorf("write registry snapshot: %w", sw.err)
	}
	return nil
}

// sectionWriter writes sections; the first error sticks.
type sectionWriter struct {
	w   io.Writer
	crc uint32
	err error
}

func (sw *sectionWriter) put(b []byte) {
	if sw.err == nil {
		sw.crc = crc32.Update(sw.crc, castagnoli, b)
		_, sw.err = sw.w.Write(b)
	}
}

// begin starts a section of n bytes.
func (sw *sectionWriter) begin(n int) {
	sw.crc = 0 // the checksum covers the length too
	sw.put(binary.LittleEndian.AppendUint64(nil, uint64(n)))
}

// end closes a section with its checksum.
func (sw *sectionWriter) end() {
	sw.put(binary.LittleEndian.AppendUint32(nil, sw.crc))
}

func (sw *sectionWriter) section(b []byte) {
	sw.begin(len(b))
	sw.put(b)
	sw.end()
}

// ReadSnapshot reads a registry written by WriteSnapshot with the same
// stamp from r, which holds size bytes: ErrSnapshotStale when the stamp
// differs, another error when the snapshot is damaged or cut short. The
// registry is sealed, with the default block limit.
func ReadSnapshot(r io.Reader, size int64, stamp string) (*Registry, error) {
	in := &sectionReader{r: r, left: size}
	head := make([]byte, len(snapshotMagic)+1)
	if in.read(head) != nil || string(head[:len(snapshotMagic)]) != snapshotMagic {
		return nil, errors.New("read registry snapshot: not a registry snapshot")
	}
	if head[len(snapshotMagic)] != snapshotFormat {
		return nil, ErrSnapshotStale
	}
	sr, err := in.section()
	if err != nil {
		return nil, err
	}
	if s := sr.string(); sr.err != nil || s != stamp {
		return nil, ErrSnapshotStale
	}
	g := NewRegistry()
	// Strings.
	if sr, err = in.section(); err != nil {
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
	for i, s := range g.strTab[1:] {
		id := uint32(i + 1)
		g.strs.get(s, func(string) uint32 { return id })
	}
	// Names, prepared again from their spellings.
	if sr, err = in.section(); err != nil {
		return nil, err
	}
	spellings := make([]string, sr.count(2))
	for i := range spellings {
		if spellings[i] = sr.string(); spellings[i] == "" {
			return nil, in.fail("damaged (an empty name)")
		}
	}
	if err := sr.done(); err != nil {
		return nil, err
	}
	infos := make([]nameInfo, len(spellings))
	parallel(len(spellings), func(i int) { infos[i] = g.prepareName(spellings[i]) })
	g.nameTab = slices.Grow(g.nameTab, len(infos))
	for i := range infos {
		g.nameTab = append(g.nameTab, &infos[i])
		id := uint32(i + 1)
		if g.names.get(spellings[i], func(string) uint32 { return id }) != id {
			return nil, in.fail("damaged (a name twice)")
		}
	}
	// Records, in steps of whole chunks.
	n64, err := in.begin()
	if err != nil {
		return nil, err
	}
	if n64%recBytes != 0 || n64/recBytes > MaxRecords {
		return nil, in.fail("damaged (the records)")
	}
	nrec := int(n64 / recBytes)
	buf := make([]byte, personChunk*recBytes)
	for at := 0; at < nrec; at += personChunk {
		chunk := make([]rec, min(personChunk, nrec-at))
		if err := in.read(buf[:len(chunk)*recBytes]); err != nil {
			return nil, err
		}
		sr := snapReader{b: buf[:len(chunk)*recBytes]}
		for i := range chunk {
			r := &chunk[i]
			r.first, r.middle, r.last = sr.uint32(), sr.uint32(), sr.uint32()
			r.num, r.street, r.zip, r.suffix = sr.uint32(), sr.uint32(), sr.uint32(), sr.uint32()
			r.dob = date{int16(sr.uint16()), int8(sr.byte()), int8(sr.byte())}
			r.sex = sr.byte()
			if r.first >= uint32(len(g.nameTab)) || r.middle >= uint32(len(g.nameTab)) || r.last >= uint32(len(g.nameTab)) ||
				max(r.num, r.street, r.zip, r.suffix) >= uint32(len(g.strTab)) {
				return nil, in.fail("damaged (a record's index)")
			}
		}
		g.recs = append(g.recs, chunk)
	}
	if err := in.end(); err != nil {
		return nil, err
	}
	// Ids, as substrings of one copy of their section.
	if sr, err = in.section(); err != nil {
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
	// Keys, sorted, in steps.
	if n64, err = in.begin(); err != nil {
		return nil, err
	}
	if n64%8 != 0 {
		return nil, in.fail("damaged (the keys)")
	}
	g.keys = make([]uint64, n64/8)
	buf = make([]byte, 8<<16)
	for at := 0; at < len(g.keys); at += 1 << 16 {
		part := g.keys[at:min(at+1<<16, len(g.keys))]
		if err := in.read(buf[:8*len(part)]); err != nil {
			return nil, err
		}
		for i := range part {
			part[i] = binary.LittleEndian.Uint64(buf[8*i:])
		}
	}
	if err := in.end(); err != nil {
		return nil, err
	}
	if in.left != 0 {
		return nil, in.fail("damaged (bytes after the last section)")
	}
	for i, k := range g.keys {
		if int(entryRecord(k)) >= nrec || i > 0 && k < g.keys[i-1] {
			return nil, in.fail("damaged (the keys)")
		}
	}
	g.index()
	return g, nil
}

// sectionReader reads sections, knowing how many bytes are left, so that
// a damaged length is refused before anything is allocated for it.
type sectionReader struct {
	r    io.Reader
	left int64
	crc  uint32
}

func (in *sectionReader) fail(what string) error {
	return fmt.Errorf("read registry snapshot: %s", what)
}

// read fills b, adding it to the section's checksum.
func (in *sectionReader) read(b []byte) error {
	if int64(len(b)) > in.left {
		return in.fail("cut short")
	}
	if _, err := io.ReadFull(in.r, b); err != nil {
		return in.fail("cut short")
	}
	in.left -= int64(len(b))
	in.crc = crc32.Update(in.crc, castagnoli, b)
	return nil
}

// begin reads a section's length.
func (in *sectionReader) begin() (uint64, error) {
	var n [8]byte
	in.crc = 0 // the checksum covers the length too: zeros are no empty section
	if err := in.read(n[:]); err != nil {
		return 0, err
	}
	size := binary.LittleEndian.Uint64(n[:])
	if size > uint64(in.left) {
		return 0, in.fail("cut short, or damaged (a section's length)")
	}
	return size, nil
}

// end reads and checks a section's checksum.
func (in *sectionReader) end() error {
	want := in.crc
	var c [4]byte
	if err := in.read(c[:]); err != nil {
		return err
	}
	if binary.LittleEndian.Uint32(c[:]) != want {
		return in.fail("damaged (a checksum)")
	}
	return nil
}

// section reads a whole section.
func (in *sectionReader) section() (*snapReader, error) {
	size, err := in.begin()
	if err != nil {
		return nil, err
	}
	b := make([]byte, size)
	if err := in.read(b); err != nil {
		return nil, err
	}
	if err := in.end(); err != nil {
		return nil, err
	}
	return &snapReader{b: b}, nil
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
