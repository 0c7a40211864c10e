package metal

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/janus-desktop/janus/compute"
)

// Block-quantized weights (compute.Q8, compute.Q4, compute.Q4M) in one buffer: the codes of
// every block, rows back to back (QBlock bytes per block for Q8, QBlock/2 for Q4 and Q4M),
// then one F16 scale per block in the same order, then (Q4M) one F16 offset per block. A
// kernel finds the scales after n·rowBytes bytes of codes, an offset that is a multiple of
// 16, and the offsets after the scales, so one binding serves all three. The codes are chosen on the
// host exactly as compute/cpu chooses them (its helpers are unexported, so they are mirrored
// here), so both backends hold the same weights and differ only in how they multiply.

const qBlock = compute.QBlock

// codeBytes is the bytes of codes of one block of dt.
func codeBytes(dt compute.DType) int {
	if dt == compute.Q8 {
		return qBlock
	}
	return qBlock / 2
}

// quantShapeErr reports why shape cannot hold dt (nil when it can): the last dimension must
// be a whole number of blocks.
func quantShapeErr(dt compute.DType, shape []int) error {
	if len(shape) == 0 || shape[len(shape)-1]%qBlock != 0 {
		return fmt.Errorf("metal: %v tensor of shape %v: the last dimension must be a multiple of %d", dt, shape, qBlock)
	}
	return nil
}

// quantize fills blocks [first, first+len(raw)/(QBlock·size of src)) of the quantized buffer
// mem (n elements of dt in all) from raw elements of dtype src, the blocks split over
// GOMAXPROCS goroutines: quantizing is most of the load time of a Q8/Q4 model (Q4's scale
// refit especially), and every block is independent.
func quantize(mem []byte, dt compute.DType, n, first int, raw []byte, src compute.DType) {
	blocks, count := n/qBlock, len(raw)/(qBlock*src.Size())
	workers := min(runtime.GOMAXPROCS(0), (count+quantGrain-1)/quantGrain)
	if workers <= 1 {
		quantizeBlocks(mem, dt, blocks, first, raw, src, 0, count)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { quantizeBlocks(mem, dt, blocks, first, raw, src, count*w/workers, count*(w+1)/workers) })
	}
	wg.Wait()
}

// quantGrain is the fewest blocks worth a goroutine of their own.
const quantGrain = 4096

// quantizeBlocks quantizes the blocks [lo, hi) of raw into blocks first+lo.. of the buffer mem
// of blocks blocks.
func quantizeBlocks(mem []byte, dt compute.DType, blocks, first int, raw []byte, src compute.DType, lo, hi int) {
	cb := codeBytes(dt)
	scales := mem[blocks*cb:]
	offsets := scales[2*blocks:] // Q4M
	var x [qBlock]float32
	for i := lo; i < hi; i++ {
		compute.ReadBlock(&x, raw, src, i*qBlock)
		blk := first + i
		q := mem[blk*cb : (blk+1)*cb]
		var h, o uint16
		switch dt {
		case compute.Q8:
			h = compute.QuantizeQ8(q, &x)
		case compute.Q4:
			h = compute.QuantizeQ4(q, &x)
		default:
			h, o = compute.QuantizeQ4M(q, &x)
			offsets[2*blk], offsets[2*blk+1] = byte(o), byte(o>>8)
		}
		scales[2*blk], scales[2*blk+1] = byte(h), byte(h>>8)
	}
}

// dequantize writes the values of the quantized buffer mem (len(dst) elements of dt) into
// dst, as the kernels compute them: one float32 multiply of scale and code (exact: an F16
// scale times a 4- or 8-bit code fits a float32), plus Q4M's offset.
func dequantize(dst []float32, mem []byte, dt compute.DType) {
	cb := codeBytes(dt)
	blocks := len(dst) / qBlock
	scales := mem[blocks*cb:]
	for blk := range blocks {
		d := compute.F16ToF32(uint16(scales[2*blk]) | uint16(scales[2*blk+1])<<8)
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
		if dt == compute.Q4M {
			off := mem[blocks*(cb+2)+2*blk:]
			o := compute.F16ToF32(uint16(off[0]) | uint16(off[1])<<8)
			for i := range out {
				out[i] += o
			}
		}
	}
}
