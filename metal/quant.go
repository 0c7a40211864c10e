package metal

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/janus-desktop/janus/compute"
)

// Block-quantized weights (compute.Q8, compute.Q4) in one buffer: the codes of every block,
// rows back to back (QBlock bytes per block for Q8, QBlock/2 for Q4), then one F16 scale per
// block in the same order. A kernel finds the scales after n·rowBytes bytes of codes, an
// offset that is a multiple of 16, so one binding serves both. The codes are chosen on the
// host exactly as compute/cpu chooses them (its helpers are unexported, so they are mirrored
// here), so both backends hold the same weights and differ only in how they multiply.

const qBlock = compute.QBlock

// codeBytes is the bytes of codes of one block of dt.
func codeBytes(dt compute.DType) int {
	if dt == compute.Q4 {
		return qBlock / 2
	}
	return qBlock
}

// quantShapeErr reports why shape cannot hold dt (nil when it can): the last dimension must
// be a whole number of blocks.
func quantShapeErr(dt compute.DType, shape []int) error {
	if len(shape) == 0 || shape[len(shape)-1]%qBlock != 0 {
		return fmt.Errorf("metal: %v tensor of shape %v: the last dimension must be a multiple of %d", dt, shape, qBlock)
	}
	return nil
}

// quantize fills the quantized buffer mem (n elements of dt) from raw elements of dtype src,
// the blocks split over GOMAXPROCS goroutines: quantizing is most of the load time of a
// Q8/Q4 model (Q4's scale refit especially), and every block is independent.
func quantize(mem []byte, dt compute.DType, raw []byte, src compute.DType, n int) {
	blocks := n / qBlock
	workers := min(runtime.GOMAXPROCS(0), (blocks+quantGrain-1)/quantGrain)
	if workers <= 1 {
		quantizeBlocks(mem, dt, raw, src, blocks, 0, blocks)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { quantizeBlocks(mem, dt, raw, src, blocks, blocks*w/workers, blocks*(w+1)/workers) })
	}
	wg.Wait()
}

// quantGrain is the fewest blocks worth a goroutine of their own.
const quantGrain = 4096

// quantizeBlocks quantizes blocks [lo, hi) of the buffer mem of blocks blocks.
func quantizeBlocks(mem []byte, dt compute.DType, raw []byte, src compute.DType, blocks, lo, hi int) {
	cb := codeBytes(dt)
	scales := mem[blocks*cb:]
	var x [qBlock]float32
	for blk := lo; blk < hi; blk++ {
		readBlock(&x, raw, src, blk*qBlock)
		q := mem[blk*cb : (blk+1)*cb]
		var h uint16
		if dt == compute.Q8 {
			h = quantizeQ8(q, &x)
		} else {
			h = quantizeQ4(q, &x)
		}
		scales[2*blk], scales[2*blk+1] = byte(h), byte(h>>8)
	}
}

// readBlock reads elements [at, at+qBlock) of raw (dtype src) into x, one loop per dtype.
func readBlock(x *[qBlock]float32, raw []byte, src compute.DType, at int) {
	switch src {
	case compute.F32:
		in := raw[4*at : 4*(at+qBlock)]
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(in[4*i:]))
		}
	case compute.BF16:
		in := raw[2*at : 2*(at+qBlock)]
		for i := range x {
			x[i] = bf16ToF32(binary.LittleEndian.Uint16(in[2*i:]))
		}
	default:
		in := raw[2*at : 2*(at+qBlock)]
		for i := range x {
			x[i] = f16ToF32(binary.LittleEndian.Uint16(in[2*i:]))
		}
	}
}

// dequantize writes the values of the quantized buffer mem (len(dst) elements of dt) into
// dst, as the kernels compute them: one float32 multiply of scale and code.
func dequantize(dst []float32, mem []byte, dt compute.DType) {
	cb := codeBytes(dt)
	blocks := len(dst) / qBlock
	scales := mem[blocks*cb:]
	for blk := range blocks {
		d := f16ToF32(uint16(scales[2*blk]) | uint16(scales[2*blk+1])<<8)
		codes := mem[blk*cb : (blk+1)*cb]
		out := dst[blk*qBlock : (blk+1)*qBlock]
		if dt == compute.Q8 {
			for i, c := range codes {
				out[i] = d * float32(int8(c))
			}
			continue
		}
		for j, c := range codes {
			out[j] = d * float32(int32(c&15)-8)
			out[j+qBlock/2] = d * float32(int32(c>>4)-8)
		}
	}
}

// roundHalfAway rounds v to the nearest integer, halves away from zero (C's roundf).
func roundHalfAway(v float32) int32 {
	half := math.Float32frombits(0x3f000000 | math.Float32bits(v)&(1<<31))
	return int32(v + half)
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// quantizeQ8 writes the Q8 codes of block x into q and returns its F16 scale, amax/127
// rounded to F16 before the codes are chosen for it (compute/cpu's quantizeQ8).
func quantizeQ8(q []byte, x *[qBlock]float32) uint16 {
	var amax float32
	for _, v := range x {
		amax = max(amax, abs32(v))
	}
	h := f32ToF16(amax / 127)
	d := f16ToF32(h)
	if d == 0 {
		clear(q[:qBlock])
		return h
	}
	id := 1 / d
	for i, v := range x {
		q[i] = byte(int8(min(127, max(-127, roundHalfAway(v*id)))))
	}
	return h
}

// quantizeQ4 writes the Q4 codes of block x into q and returns its F16 scale: ggml's m/−8
// (m the value of largest magnitude) or the least-squares refit of its codes, whichever errs
// less (compute/cpu's quantizeQ4).
func quantizeQ4(q []byte, x *[qBlock]float32) uint16 {
	var amax, m float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, m = a, v
		}
	}
	best := m / -8
	if m != 0 {
		bestErr := q4Error(x, best)
		id := -8 / m
		var sxq, sqq float32
		for _, v := range x {
			c := float32(min(7, max(-8, roundHalfAway(v*id))))
			sxq += float32(v * c)
			sqq += float32(c * c)
		}
		if sqq != 0 {
			if d := sxq / sqq; d != 0 {
				if e := q4Error(x, d); e < bestErr {
					best = d
				}
			}
		}
	}
	h := f32ToF16(best)
	d := f16ToF32(h)
	var id float32
	if d != 0 {
		id = 1 / d
	}
	for j := range qBlock / 2 {
		lo := min(15, max(0, roundHalfAway(x[j]*id)+8))
		hi := min(15, max(0, roundHalfAway(x[j+qBlock/2]*id)+8))
		q[j] = byte(lo) | byte(hi)<<4
	}
	return h
}

// q4Error is the squared error of block x stored with scale d (codes clamped to −8..7).
func q4Error(x *[qBlock]float32, d float32) float32 {
	id := 1 / d
	var e float32
	for _, v := range x {
		c := float32(min(7, max(-8, roundHalfAway(v*id))))
		r := v - float32(d*c)
		e += float32(r * r)
	}
	return e
}
