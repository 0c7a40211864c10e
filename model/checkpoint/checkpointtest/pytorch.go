package checkpointtest

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"strconv"

	"github.com/janus-desktop/janus/model/checkpoint"
)

// storageClasses are the legacy storage classes torch.save names in persistent ids.
var storageClasses = map[checkpoint.DType]string{
	checkpoint.F64: "DoubleStorage", checkpoint.F32: "FloatStorage", checkpoint.F16: "HalfStorage",
	checkpoint.BF16: "BFloat16Storage", checkpoint.I64: "LongStorage", checkpoint.I32: "IntStorage",
	checkpoint.I16: "ShortStorage", checkpoint.I8: "CharStorage", checkpoint.U8: "ByteStorage",
	checkpoint.Bool: "BoolStorage",
}

// WritePyTorchZip writes tensors as torch.save(OrderedDict) does: a zip holding
// <archive>/data.pkl (a protocol-2 pickle of _rebuild_tensor_v2 calls over one storage per
// tensor), <archive>/byteorder, <archive>/data/<i> (stored, 64-byte aligned) and
// <archive>/version. Tensors without data become holes with correct CRC-32s.
func WritePyTorchZip(path string, tensors []Tensor, opts Options) error {
	if err := checkTensors(tensors); err != nil {
		return fmt.Errorf("write PyTorch zip %s: %w", path, err)
	}
	archive := opts.ArchiveName
	if archive == "" {
		archive = "archive"
	}
	z := &zipWriter{out: newSparseFile()}
	z.add(archive+"/data.pkl", statePickle(tensors), 0, false)
	z.add(archive+"/byteorder", []byte("little"), 0, false)
	for i, t := range tensors {
		z.add(archive+"/data/"+strconv.Itoa(i), t.Data, t.NumBytes(), t.Data == nil)
	}
	z.add(archive+"/version", []byte("3\n"), 0, false)
	z.finish()
	if err := z.out.saveAs(path); err != nil {
		return fmt.Errorf("write PyTorch zip %s: %w", path, err)
	}
	return nil
}

// statePickle pickles an OrderedDict of name -> _rebuild_tensor_v2(storage, 0, shape,
// stride, False, OrderedDict()), with storage the persistent id
// ('storage', torch.<Class>Storage, "<i>", "cpu", numel), as torch.save does.
func statePickle(tensors []Tensor) []byte {
	p := &pickler{memo: make(map[string]int)}
	p.b = append(p.b, 0x80, 2) // PROTO 2
	p.global("collections", "OrderedDict")
	p.b = append(p.b, ')', 'R') // EMPTY_TUPLE, REDUCE
	p.put()
	for start := 0; start < len(tensors); start += 1000 { // pickle batches SETITEMS by 1000
		end := min(start+1000, len(tensors))
		if end-start > 1 {
			p.b = append(p.b, '(') // MARK
		}
		for i := start; i < end; i++ {
			t := tensors[i]
			p.str(t.Name)
			p.global("torch._utils", "_rebuild_tensor_v2")
			p.b = append(p.b, '(') // MARK of the argument tuple
			p.b = append(p.b, '(') // MARK of the persistent id
			p.str("storage")
			p.global("torch", storageClasses[t.DType])
			p.str(strconv.Itoa(i))
			p.str("cpu")
			numel := int64(1)
			for _, d := range t.Shape {
				numel *= int64(d)
			}
			p.int(numel)
			p.b = append(p.b, 't', 'Q') // TUPLE, BINPERSID
			p.int(0)                    // storage offset
			stride := make([]int64, len(t.Shape))
			acc := int64(1)
			for k := len(t.Shape) - 1; k >= 0; k-- {
				stride[k] = acc
				acc *= int64(t.Shape[k])
			}
			shape := make([]int64, len(t.Shape))
			for k, d := range t.Shape {
				shape[k] = int64(d)
			}
			p.tuple(shape)
			p.tuple(stride)
			p.b = append(p.b, 0x89) // NEWFALSE: requires_grad
			p.global("collections", "OrderedDict")
			p.b = append(p.b, ')', 'R') // backward_hooks = OrderedDict()
			p.b = append(p.b, 't', 'R') // TUPLE, REDUCE
		}
		if end-start > 1 {
			p.b = append(p.b, 'u') // SETITEMS
		} else {
			p.b = append(p.b, 's') // SETITEM
		}
	}
	p.b = append(p.b, '.') // STOP
	return p.b
}

// pickler emits the protocol-2 opcodes statePickle needs; globals are memoized and fetched
// with BINGET on reuse, as Python's pickler does.
type pickler struct {
	b    []byte
	memo map[string]int
	next int
}

func (p *pickler) put() {
	if p.next < 256 {
		p.b = append(p.b, 'q', byte(p.next)) // BINPUT
	} else {
		p.b = append(p.b, 'r') // LONG_BINPUT
		p.b = binary.LittleEndian.AppendUint32(p.b, uint32(p.next))
	}
	p.next++
}

func (p *pickler) global(module, name string) {
	key := module + "\n" + name
	if i, ok := p.memo[key]; ok {
		if i < 256 {
			p.b = append(p.b, 'h', byte(i)) // BINGET
		} else {
			p.b = append(p.b, 'j') // LONG_BINGET
			p.b = binary.LittleEndian.AppendUint32(p.b, uint32(i))
		}
		return
	}
	p.b = append(p.b, 'c')
	p.b = append(p.b, module+"\n"+name+"\n"...)
	p.memo[key] = p.next
	p.put()
}

func (p *pickler) str(s string) {
	p.b = append(p.b, 'X') // BINUNICODE, as protocol 2 writes every str
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	p.b = append(p.b, s...)
}

func (p *pickler) int(v int64) {
	switch {
	case v >= 0 && v < 256:
		p.b = append(p.b, 'K', byte(v)) // BININT1
	case v >= 0 && v < 65536:
		p.b = append(p.b, 'M', byte(v), byte(v>>8)) // BININT2
	case v >= math.MinInt32 && v <= math.MaxInt32:
		p.b = append(p.b, 'J') // BININT
		p.b = binary.LittleEndian.AppendUint32(p.b, uint32(int32(v)))
	default:
		p.b = append(p.b, 0x8a, 8) // LONG1, 8 bytes two's complement
		p.b = binary.LittleEndian.AppendUint64(p.b, uint64(v))
	}
}

func (p *pickler) tuple(v []int64) {
	switch len(v) {
	case 0:
		p.b = append(p.b, ')') // EMPTY_TUPLE
		return
	case 1, 2, 3:
		for _, x := range v {
			p.int(x)
		}
		p.b = append(p.b, 0x85+byte(len(v)-1)) // TUPLE1..3
		return
	}
	p.b = append(p.b, '(')
	for _, x := range v {
		p.int(x)
	}
	p.b = append(p.b, 't')
}

// zipWriter lays out a zip archive of stored entries, with zip64 records where sizes or
// offsets pass 4 GiB.
type zipWriter struct {
	out     *sparseFile
	central []byte
	count   int
}

const (
	zipAlign   = 64 // torch aligns every entry's data to 64 bytes
	max32      = 0xffffffff
	dosDate    = 1<<5 | 1 // 1980-01-01
	zipVersion = 45       // zip64-capable
)

// add appends one stored entry; data nil with sparse set writes a hole of n zero bytes.
func (z *zipWriter) add(name string, data []byte, n int64, sparse bool) {
	if !sparse {
		n = int64(len(data))
	}
	var crc uint32
	if sparse {
		crc = crc32Zeros(0, n)
	} else {
		crc = crc32.ChecksumIEEE(data)
	}
	off := z.out.size
	big := n >= max32
	var extra []byte
	if big {
		extra = binary.LittleEndian.AppendUint16(extra, 0x0001)
		extra = binary.LittleEndian.AppendUint16(extra, 16)
		extra = binary.LittleEndian.AppendUint64(extra, uint64(n))
		extra = binary.LittleEndian.AppendUint64(extra, uint64(n))
	}
	dataStart := off + 30 + int64(len(name)) + int64(len(extra)) + 4
	pad := (zipAlign - dataStart%zipAlign) % zipAlign
	extra = binary.LittleEndian.AppendUint16(extra, 0x4246) // "FB": torch's padding field
	extra = binary.LittleEndian.AppendUint16(extra, uint16(pad))
	for range pad {
		extra = append(extra, 'Z')
	}
	size32 := uint32(n)
	if big {
		size32 = max32
	}
	var h []byte
	h = binary.LittleEndian.AppendUint32(h, 0x04034b50)
	h = binary.LittleEndian.AppendUint16(h, zipVersion)
	h = binary.LittleEndian.AppendUint16(h, 0) // flags
	h = binary.LittleEndian.AppendUint16(h, 0) // method: stored
	h = binary.LittleEndian.AppendUint16(h, 0) // time
	h = binary.LittleEndian.AppendUint16(h, dosDate)
	h = binary.LittleEndian.AppendUint32(h, crc)
	h = binary.LittleEndian.AppendUint32(h, size32)
	h = binary.LittleEndian.AppendUint32(h, size32)
	h = binary.LittleEndian.AppendUint16(h, uint16(len(name)))
	h = binary.LittleEndian.AppendUint16(h, uint16(len(extra)))
	h = append(append(h, name...), extra...)
	z.out.write(h)
	z.out.data(data, n)

	// The central directory's zip64 field holds only the values whose 32-bit slot is full.
	var cextra []byte
	if big {
		cextra = binary.LittleEndian.AppendUint64(cextra, uint64(n))
		cextra = binary.LittleEndian.AppendUint64(cextra, uint64(n))
	}
	off32 := uint32(off)
	if off >= max32 {
		off32 = max32
		cextra = binary.LittleEndian.AppendUint64(cextra, uint64(off))
	}
	if len(cextra) > 0 {
		cextra = append(binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(nil, 0x0001), uint16(len(cextra))), cextra...)
	}
	c := z.central
	c = binary.LittleEndian.AppendUint32(c, 0x02014b50)
	c = binary.LittleEndian.AppendUint16(c, zipVersion)
	c = binary.LittleEndian.AppendUint16(c, zipVersion)
	c = binary.LittleEndian.AppendUint16(c, 0)
	c = binary.LittleEndian.AppendUint16(c, 0)
	c = binary.LittleEndian.AppendUint16(c, 0)
	c = binary.LittleEndian.AppendUint16(c, dosDate)
	c = binary.LittleEndian.AppendUint32(c, crc)
	c = binary.LittleEndian.AppendUint32(c, size32)
	c = binary.LittleEndian.AppendUint32(c, size32)
	c = binary.LittleEndian.AppendUint16(c, uint16(len(name)))
	c = binary.LittleEndian.AppendUint16(c, uint16(len(cextra)))
	c = binary.LittleEndian.AppendUint16(c, 0) // comment
	c = binary.LittleEndian.AppendUint16(c, 0) // disk
	c = binary.LittleEndian.AppendUint16(c, 0) // internal attributes
	c = binary.LittleEndian.AppendUint32(c, 0) // external attributes
	c = binary.LittleEndian.AppendUint32(c, off32)
	z.central = append(append(c, name...), cextra...)
	z.count++
}

// finish writes the central directory and its end records.
func (z *zipWriter) finish() {
	cdOff := z.out.size
	cdLen := int64(len(z.central))
	z.out.write(z.central)
	zip64 := cdOff >= max32 || cdLen >= max32 || z.count >= 0xffff
	if zip64 {
		eocd64 := z.out.size
		var r []byte
		r = binary.LittleEndian.AppendUint32(r, 0x06064b50)
		r = binary.LittleEndian.AppendUint64(r, 44)
		r = binary.LittleEndian.AppendUint16(r, zipVersion)
		r = binary.LittleEndian.AppendUint16(r, zipVersion)
		r = binary.LittleEndian.AppendUint32(r, 0)
		r = binary.LittleEndian.AppendUint32(r, 0)
		r = binary.LittleEndian.AppendUint64(r, uint64(z.count))
		r = binary.LittleEndian.AppendUint64(r, uint64(z.count))
		r = binary.LittleEndian.AppendUint64(r, uint64(cdLen))
		r = binary.LittleEndian.AppendUint64(r, uint64(cdOff))
		r = binary.LittleEndian.AppendUint32(r, 0x07064b50) // zip64 end locator
		r = binary.LittleEndian.AppendUint32(r, 0)
		r = binary.LittleEndian.AppendUint64(r, uint64(eocd64))
		r = binary.LittleEndian.AppendUint32(r, 1)
		z.out.write(r)
	}
	count16, cdLen32, cdOff32 := uint16(z.count), uint32(cdLen), uint32(cdOff)
	if zip64 {
		count16, cdOff32 = 0xffff, max32
		if cdLen >= max32 {
			cdLen32 = max32
		}
	}
	var e []byte
	e = binary.LittleEndian.AppendUint32(e, 0x06054b50)
	e = binary.LittleEndian.AppendUint16(e, 0)
	e = binary.LittleEndian.AppendUint16(e, 0)
	e = binary.LittleEndian.AppendUint16(e, count16)
	e = binary.LittleEndian.AppendUint16(e, count16)
	e = binary.LittleEndian.AppendUint32(e, cdLen32)
	e = binary.LittleEndian.AppendUint32(e, cdOff32)
	e = binary.LittleEndian.AppendUint16(e, 0)
	z.out.write(e)
}

// crc32Zeros returns crc32.Update(crc, crc32.IEEETable, n zero bytes) in O(log n): appending
// zeros is a linear map of the CRC register, raised to the n-th power by repeated squaring
// (the method of zlib's crc32_combine).
func crc32Zeros(crc uint32, n int64) uint32 {
	if n <= 0 {
		return crc
	}
	var odd, even [32]uint32
	odd[0] = 0xedb88320 // the operator for one zero bit
	row := uint32(1)
	for i := 1; i < 32; i++ {
		odd[i] = row
		row <<= 1
	}
	gf2Square(&even, &odd) // two zero bits
	gf2Square(&odd, &even) // four zero bits
	reg := ^crc
	for {
		gf2Square(&even, &odd) // first pass: one zero byte
		if n&1 != 0 {
			reg = gf2Times(&even, reg)
		}
		n >>= 1
		if n == 0 {
			break
		}
		gf2Square(&odd, &even)
		if n&1 != 0 {
			reg = gf2Times(&odd, reg)
		}
		n >>= 1
		if n == 0 {
			break
		}
	}
	return ^reg
}

func gf2Times(mat *[32]uint32, vec uint32) uint32 {
	var sum uint32
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(square, mat *[32]uint32) {
	for n := range 32 {
		square[n] = gf2Times(mat, mat[n])
	}
}
