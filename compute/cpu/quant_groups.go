package cpu

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/janus-desktop/janus/compute"
)

// Q8 and Q4 matrices in row groups. Where the VNNI kernels run, a quantized matrix [N, K]
// with N a multiple of 16 and K filling the packed input rows' units (Q4: 8 blocks, 256
// weights; Q8: 2 blocks, 64 weights) is stored in groups of 16 rows instead of row after
// row: in q, per group and block of 32 weights, 64-byte chunks whose 32-bit lane r holds
// four code bytes of row r (chunk c: the block's bytes 4c to 4c+3; four chunks for Q4, its
// weights 4c..4c+3 in the low nibbles and 16+4c..16+4c+3 in the high ones, eight for Q8);
// in s, per group and block, the 16 rows' F16 scales (and a Q4M matrix's offsets in o, as
// its scales in s). The same codes and scales as row after row, in another order.
//
// The products of few rows read it with dotQ{4,8}G{1,2}R{1,2,4}, G4R{1,2} and G1R8, a Q4M
// matrix's with dotQ4MG{1,2}R{1,2,4} (see the generator): one VPDPBUSD adds to 16 rows' block
// sums at once with no lanes shuffled, so each block's sum is exact and is scaled and added as
// dotQ4 and dotQ8 do, bit for bit; they do a fraction of the vector work of the row-major
// kernels and read one stream a group, 1, 2 or 4 groups a pass (Q4M: 1 or 2), which matters
// here even where memory bounds a step (README, "Speed (CPU)").
// Several images' rows run on them four or eight at a time too, so an image's bits do not
// depend on the batch. Eight rows, four images' guided step, take a VPDPBUSD per input row
// and 64 bytes: Q4's are bound by that arithmetic, and Q8's prefetch further ahead so that
// memory keeps up with it (the generator); the AMX int8 tiles, which read a group's codes of
// a block as a B tile, were no faster from memory (README, "Issue 11's targets"). A prompt's
// rows run on them too where the backend takes every row count there (int8AllRows). Everything
// else (the other many-row products, Embedding, Read) dequantizes a row's blocks from the groups
// (dequantQ4G, dequantQ8G). A grouped tensor keeps its [N, K]: a reshape of it can be read and
// written but not multiplied.

// groupPick chooses among grouped kernels that give the same bits, by what the CPU reads
// fastest.
type groupPick struct {
	q4Fours bool // Q4's eight rows go as two passes of four over two groups (q4Fours)
	q4Kicks bool // Q4's and Q4M's of one or two rows kick each page (q4Kicks)
	q8Far   bool // Q8's of eight rows prefetch 4 KB ahead (q8Far)
}

// qGroupRows is the number of weight rows of a group.
const qGroupRows = 16

// groupBlockBytes is the bytes of a block of a group's codes: 16 rows' codes.
func groupBlockBytes(dt compute.DType) int { return qGroupRows * codeBytes(dt) }

// groupsFor reports whether the backend stores a dt tensor of this shape in row groups: the
// VNNI kernels run, and K fills the units the packed input rows hold their blocks in (Q4:
// groups of 8 blocks, Q8: pairs).
func (b *Backend) groupsFor(dt compute.DType, shape []int) bool {
	if !dt.Quantized() || b.qset != qsetVNNI && b.qset != qsetAMX || len(shape) != 2 || shape[0] <= 0 || shape[0]%qGroupRows != 0 || shape[1] <= 0 {
		return false
	}
	if dt == compute.Q8 {
		return shape[1]%(2*qBlock) == 0
	}
	return shape[1]%(8*qBlock) == 0
}

// groupOffsets returns where block b of row j of a grouped matrix of nb blocks a row, cb
// code bytes a block, keeps its first four code bytes (the others follow 64 bytes apart) and
// its scale.
func groupOffsets(j, b, nb, cb int) (code, scale int) {
	blk := (j/qGroupRows)*nb + b
	r := j % qGroupRows
	return blk*qGroupRows*cb + 4*r, blk*qGroupRows + r
}

// putGroupBlocks stores len(scales) consecutive blocks of a grouped matrix of nb blocks a
// row, from block blk (row blk/nb) on: codes holds their cb code bytes each (16 for Q4 and
// Q4M, 32 for Q8), scales their scales, offsets (nil but for Q4M) their offsets, which go
// into o where the scales go into s. Loading puts every block of a model through it, so it walks
// rows and blocks by counting rather than dividing, with a fixed count of chunk stores for
// each code width.
func putGroupBlocks(q []byte, s, o []uint16, nb, blk, cb int, codes []byte, scales, offsets []uint16) {
	j, b := blk/nb, blk%nb
	c, sc := groupOffsets(j, b, nb, cb)
	for i, scale := range scales {
		src := codes[i*cb : (i+1)*cb]
		switch cb {
		case 32:
			dst := q[c : c+7*64+4]
			for ch := range 8 {
				binary.LittleEndian.PutUint32(dst[64*ch:], binary.LittleEndian.Uint32(src[4*ch:]))
			}
		case 16:
			dst := q[c : c+3*64+4]
			for ch := range 4 {
				binary.LittleEndian.PutUint32(dst[64*ch:], binary.LittleEndian.Uint32(src[4*ch:]))
			}
		default:
			panic(fmt.Sprintf("cpu: putGroupBlocks: %d code bytes a block", cb))
		}
		s[sc] = scale
		if offsets != nil {
			o[sc] = offsets[i]
		}
		// The next block of the row is the group's next block, qGroupRows·cb bytes on; after
		// the row's last, the next row starts at its group's first block (four bytes and one
		// scale past this row's), or at the next group's when this row was its group's last.
		if b++; b < nb {
			c += qGroupRows * cb
			sc += qGroupRows
			continue
		}
		b, j = 0, j+1
		c, sc = groupOffsets(j, 0, nb, cb)
	}
}

// group returns the codes and scales of groups [g, g+span) of the grouped matrix w.
func (w *qweight) group(g, span int) ([]byte, []uint16) {
	nb, bb := w.k/qBlock, groupBlockBytes(w.dt)
	return w.q[g*nb*bb : (g+span)*nb*bb], w.s[g*nb*qGroupRows : (g+span)*nb*qGroupRows]
}

// groupQ4MOffsets returns the offsets of groups [g, g+span) of the grouped Q4M matrix w.
func (w *qweight) groupQ4MOffsets(g, span int) []uint16 {
	nb := w.k / qBlock
	return w.o[g*nb*qGroupRows : (g+span)*nb*qGroupRows]
}

// dequant writes the values of blocks [b0, b0+len(dst)/qBlock) of weight row j into dst.
func (w *qweight) dequant(dst []float32, j, b0 int) {
	nb := w.k / qBlock
	// A grouped row runs on into row j+16, not j+1: keep to the row.
	check(b0 >= 0 && b0+len(dst)/qBlock <= nb, "dequant", "blocks [%d, %d) of a row of %d", b0, b0+len(dst)/qBlock, nb)
	if !w.groups {
		dequantizeRow(dst, w.dt, w.q, w.s, w.o, j*nb+b0)
		return
	}
	c, sc := groupOffsets(j, b0, nb, codeBytes(w.dt))
	dequantGroupRow(dst, w.dt, w.q, w.s, c, sc)
	if w.o != nil {
		addBlockOffsets(dst, w.o[sc:], qGroupRows)
	}
}

// blockCorrections writes each block's correction for the grouped kernels, the offset of
// the weights' codes (8 for Q4, 128 for Q8) times minus the sum of the block's codes, from
// the VNNI set's packed row xp (whole units): the sum of the lane corrections packQZ gives
// the block, four per block in a Q4 quad, eight in a Q8 pair.
func blockCorrections(xc []int32, xp []byte, q4 bool) {
	// Blocks and bytes per unit, lanes per block, and where a unit's corrections start.
	unit, size, lanes, corrAt := 2, 128, 8, 64
	if q4 {
		unit, size, lanes, corrAt = 4, 256, 4, 128
	}
	for u := range len(xc) / unit {
		corr := xp[u*size+corrAt:]
		for kk := range unit {
			var sum int32
			for l := range lanes {
				sum += int32(binary.LittleEndian.Uint32(corr[4*(lanes*kk+l):]))
			}
			xc[unit*u+kk] = sum
		}
	}
}

// groupProduct is one grouped matrix of a linearQGroups call and where its results go.
type groupProduct struct {
	d    []float32 // [m, w.n]
	w    qweight
	bias []float32 // nil, or w.n
}

// groupsCall is the state of a linearQGroups call: one per Backend, reused (its ops run one at
// a time), with the call's two parallel loops bound to it once. A token step makes about a
// hundred of these calls, and the closures and slices each used to make were garbage that
// the collector seldom reclaims with a model's weights on the Go heap, so they took fresh
// pages, each a page fault (see pool.run).
type groupsCall struct {
	b    *Backend
	x    []float32 // [m, k]
	m, k int
	dt   compute.DType
	ps   []groupProduct
	ends []int // ends[p] is one past product p's last group in the loop
	// packed holds per input row its packed codes (2k bytes), then nb corrections and nb
	// scales, and for Q4M nb block sums (blockSums): per floats a row. It keeps the largest
	// call's size: with int8AllRows a prompt chunk's rows, a few MB (315 rows of the FFN's
	// 5632 take 4 MB); taking the tiled ops' scratch for those instead raised a prompt's
	// peak memory.
	packed     []float32
	per        int
	q4m        bool             // the matrices are Q4M
	pack, each func(lo, hi int) // packRows and runGroups, bound once
}

// groupsCall returns the Backend's call state with room for n products, which the caller
// fills before linearQGroups.
func (b *Backend) groupsCall(n int) *groupsCall {
	c := b.qcall
	if c == nil {
		c = &groupsCall{b: b}
		c.pack, c.each = c.packRows, c.runGroups
		b.qcall = c
	}
	if cap(c.ps) < n {
		c.ps, c.ends = make([]groupProduct, n), make([]int, n)
	}
	c.ps, c.ends = c.ps[:n], c.ends[:n]
	return c
}

// bytes returns the packed rows' storage as bytes.
func (c *groupsCall) bytes() []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(c.packed))), 4*len(c.packed))
}

// packRows quantizes and packs input rows [lo, hi), with their blocks' corrections and scales
// (and Q4M's block sums).
func (c *groupsCall) packRows(lo, hi int) {
	k, nb, all := c.k, c.k/qBlock, c.bytes()
	xc := unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(c.packed))), len(c.packed))
	for i := lo; i < hi; i++ {
		row := i * c.per
		quantizeQZ(all[4*row:4*row+2*k], c.packed[row+k/2+nb:row+k/2+2*nb], c.x[i*k:(i+1)*k], c.dt == compute.Q4)
		blockCorrections(xc[row+k/2:row+k/2+nb], all[4*row:4*row+2*k], c.dt == compute.Q4)
		if c.q4m {
			blockSums(c.packed[row+k/2+2*nb:row+k/2+3*nb], c.x[i*k:(i+1)*k])
		}
	}
}

// runGroups runs groups [lo, hi) of the call's matrices, taken one after another.
func (c *groupsCall) runGroups(lo, hi int) {
	m, k, dt, nb, all := c.m, c.k, c.dt, c.k/qBlock, c.bytes()
	p := 0
	for g := lo; g < hi; {
		for g >= c.ends[p] {
			p++
		}
		d, w, n := c.ps[p].d, c.ps[p].w, c.ps[p].w.n
		gl := g - (c.ends[p] - n/qGroupRows) // the group within its matrix
		// The next groups too where the chunk and the matrix have them: four a pass for up
		// to two input rows a pass, two for four, one for eight (registers), except Q4's
		// eight rows where q4Fours (two passes of four over two groups) and Q4M's (no
		// eight-row kernel). Q4M's one and two rows go two groups a pass: its products of
		// Pro-1B's layers read 10 % nearer the probe's rate so than four (README, "Q4M
		// against Q4").
		span, most := 4, 2
		switch {
		case m >= 8 && (dt == compute.Q8 || !c.b.groupPick.q4Fours) && !c.q4m:
			span, most = 1, 8
		case m >= 4:
			span, most = 2, 4
		case c.q4m:
			span = 2
		}
		for g+span > min(hi, c.ends[p]) {
			span /= 2
		}
		wq, ws := w.group(gl, span)
		var wo []uint16
		if c.q4m {
			wo = w.groupQ4MOffsets(gl, span)
		}
		j0 := gl * qGroupRows
		for i := 0; i < m; {
			rows := most // a row's bits do not depend on its neighbours
			for rows > m-i {
				rows /= 2
			}
			tileG(dt, c.b.groupPick, d[i*n+j0:], n, rows, span, all[4*i*c.per:], 4*c.per, 2*k, 2*k+4*nb, 2*k+8*nb, wq, ws, wo, nb)
			i += rows
		}
		if bias := c.ps[p].bias; bias != nil {
			for i := range m {
				addBias(d[i*n+j0:i*n+j0+span*qGroupRows], bias, j0)
			}
		}
		g += span
	}
}

// linearQGroups is linearQuantized for grouped matrices of one dtype and K (one for Linear,
// several for Linears), the products c.ps of b.groupsCall: each input row is quantized and
// packed once, with its blocks' corrections and scales after it, then each task runs four,
// two or one groups of 16 weight rows (fewer where its chunk or matrix has fewer left)
// against up to two, four or eight rows at a time (a row's bits do not depend on the
// others': they are dotQ4's or dotQ8's). From nine rows the rows after the first eight also
// go a group at a time (with q4Fours, Q4's eight rows and more two groups four rows at a
// time), which was measured only with eight. The groups of all the matrices are one parallel
// loop, so several small products end once, not each with its own tail and wait.
func (b *Backend) linearQGroups(x []float32, m int, c *groupsCall) {
	c.x, c.m, c.k, c.dt, c.q4m = x, m, c.ps[0].w.k, c.ps[0].w.dt, c.ps[0].w.o != nil
	nb := c.k / qBlock
	c.per = c.k/2 + 2*nb
	if c.q4m {
		c.per += nb
	}
	if cap(c.packed) < m*c.per {
		c.packed = make([]float32, m*c.per)
	}
	c.packed = c.packed[:m*c.per]
	b.pool.run(m, b.pool.grain(m, 2*c.k), c.pack)
	groups := 0
	for p := range c.ps {
		groups += c.ps[p].w.n / qGroupRows
		c.ends[p] = groups
	}
	b.pool.run(groups, fewRowsChunk(groups, c.k, b.pool.threads), c.each)
	// Keep nothing of the call but the buffers.
	c.x = nil
	clear(c.ps)
}

// Linears computes every product of x (compute.MultiLinear). Grouped matrices of one
// dtype and K, taken with rows linearQ takes on the int8 kernels, run as one linearQGroups
// (the input packed once for all); anything else runs as one Linear each.
func (b *Backend) Linears(x *Tensor, ps []compute.Product) {
	const op = "Linears"
	if len(ps) == 0 {
		return
	}
	xs := f32(op, "x", x)
	call := b.groupsCall(len(ps))
	gs := call.ps
	for i, p := range ps {
		d := f32(op, "dst", p.Dst)
		for _, other := range ps[:i] {
			check(!overlaps(d, f32(op, "dst", other.Dst)), op, "dst %d overlaps another", i)
		}
		if p.W == nil || !p.W.DType.Quantized() {
			gs = nil
			continue
		}
		w := quantized(op, "w", p.W)
		m, _ := linearArgs(op, d, xs, p.Dst, x, p.W, nil, w.n, w.k)
		if gs != nil && w.groups && p.W.DType == ps[0].W.DType && b.int8Rows(m) {
			gs[i] = groupProduct{d: d, w: w}
		} else {
			gs = nil
		}
	}
	if gs == nil || x.Rows() == 0 {
		clear(call.ps) // what the loop above put there before it gave up
		for _, p := range ps {
			b.Linear(p.Dst, x, p.W, nil)
		}
		return
	}
	b.linearQGroups(xs, x.Rows(), call)
}
