package cpu

import (
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/janus-desktop/janus/compute"
)

// A Q8 KV cache (compute.Q8 keys and values, [B, S, D] with D a multiple of QBlock) holds each
// row as Q8 weights are held: codes in q, an F16 scale per block of 32 in s, row after row,
// quantized by CopyRows as FromBytes quantizes weights (compute.QuantizeQ8's bits). Attention
// reads it as the F32 cache of its dequantized values (code·scale, rounded once), with the
// same bits: a decoding step's kernels dequantize in registers (scoresRowQ8, accRowsQ8) where
// the F16 cache's widen, every other path dequantizes rows into a buffer first. A token step
// reads 34 bytes a block instead of an F16 cache's 64.

// Q8Cache is true: CopyRows and Attention take Q8 KV caches (compute.Q8Cache).
func (b *Backend) Q8Cache() bool { return true }

// q8Cache returns the codes and scales of the Q8 cache tensor t.
func q8Cache(op, arg string, t *Tensor) (q []byte, s []uint16) {
	bf, ok := t.Buf.(*buffer)
	if !ok {
		fail(op, "%s is %v with buffer %T, want a cpu buffer", arg, t, t.Buf)
	}
	n := t.Len()
	if bf.groupK != 0 {
		fail(op, "%s %v is a Q8 weight stored in row groups, not a KV cache (make caches [B, S, D])", arg, t)
	}
	if t.DType != compute.Q8 || len(t.Shape) == 0 || t.Dim(-1)%qBlock != 0 || len(bf.q) != n || len(bf.s) != n/qBlock {
		fail(op, "%s %v is not a Q8 cache of whole blocks (or was freed)", arg, t)
	}
	return bf.q, bf.s
}

// quantizeRowQ8 quantizes the float32 row x (whole blocks) into Q8 codes q and scales s, with
// compute.QuantizeQ8's bits, except that a block holding magnitudes beyond 65504 is
// quantized with them saturated to ±65504, as an F16 cache saturates them: its scale would
// otherwise overflow F16 from about 8.3e6 on, and the block read back as NaN. A NaN still
// makes its block's scale, and so the block, NaN.
func (b *Backend) quantizeRowQ8(q []byte, s []uint16, x []float32) {
	nb := len(x) / qBlock
	if quantAsm(b.simd) {
		// amax and id share one scratch buffer: a value per block each.
		buf := b.getScratch(2 * nb)
		defer b.putScratch(buf)
		amax := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(buf))), nb)
		quantizeQ8Blocks(q[:nb*qBlock], s[:nb], x, amax, buf[nb:])
		for blk, m := range amax {
			if m > math.Float32bits(maxF16) {
				s[blk] = quantizeSaturatedQ8(q[blk*qBlock:(blk+1)*qBlock], x[blk*qBlock:(blk+1)*qBlock])
			}
		}
		return
	}
	for blk := range nb {
		xb, qb := x[blk*qBlock:(blk+1)*qBlock], q[blk*qBlock:(blk+1)*qBlock]
		if slices.ContainsFunc(xb, func(v float32) bool { return !(abs32(v) <= maxF16) }) {
			s[blk] = quantizeSaturatedQ8(qb, xb)
			continue
		}
		s[blk] = compute.QuantizeQ8(qb, (*[qBlock]float32)(xb))
	}
}

// maxF16 is the largest finite F16 value, where an F16 cache saturates.
const maxF16 = 65504

// quantizeSaturatedQ8 quantizes the block x with its values clamped to ±maxF16 (a NaN kept).
func quantizeSaturatedQ8(q []byte, x []float32) uint16 {
	var sat [qBlock]float32
	for i, v := range x {
		sat[i] = v
		if v > maxF16 {
			sat[i] = maxF16
		} else if v < -maxF16 {
			sat[i] = -maxF16
		}
	}
	return compute.QuantizeQ8(q, &sat)
}

// dequantRowsQ8 writes rows [r0, r1) of a Q8 cache of row width w (codes q, scales s),
// columns [c0, c0+cw), as float32 rows cw apart into dst. Columns that are not whole blocks
// (heads smaller than a block) are dequantized a value at a time, with the same bits.
func dequantRowsQ8(dst []float32, q []byte, s []uint16, w, r0, r1, c0, cw int) {
	for r := r0; r < r1; r++ {
		out := dst[(r-r0)*cw : (r-r0+1)*cw]
		at := r*w + c0
		if at%qBlock == 0 && cw%qBlock == 0 {
			dequantizeRow(out, compute.Q8, q, s, nil, at/qBlock)
			continue
		}
		for i := range out {
			out[i] = f16ToF32(s[(at+i)/qBlock]) * float32(int8(q[at+i]))
		}
	}
}

// checkQ8Geometry panics unless the rows of a Q8 cache, kvw wide, are whole blocks.
func checkQ8Geometry(op string, kvw int) {
	if kvw%qBlock != 0 {
		panic(fmt.Sprintf("cpu: %s: a Q8 KV cache needs rows of whole %d-value blocks, not %d", op, qBlock, kvw))
	}
}
