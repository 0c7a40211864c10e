package metal

import (
	"encoding/binary"
	"math"

	"github.com/janus-desktop/janus/compute"
)

// Host-side element conversions for FromBytes and Read, with compute's rounding (the CPU
// backend's).

// element reads element i of raw (dtype src) as float32.
func element(raw []byte, src compute.DType, i int) float32 {
	switch src {
	case compute.F32:
		return math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	case compute.F16:
		return compute.F16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	return compute.BF16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
}

// convert fills n elements of dst (dtype dt) from raw (dtype src).
func convert(dst []byte, dt compute.DType, raw []byte, src compute.DType, n int) {
	if dt == src {
		copy(dst, raw)
		return
	}
	for i := range n {
		f := element(raw, src, i)
		switch dt {
		case compute.F32:
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(f))
		case compute.F16:
			binary.LittleEndian.PutUint16(dst[2*i:], compute.F32ToF16(f))
		case compute.BF16:
			binary.LittleEndian.PutUint16(dst[2*i:], compute.F32ToBF16(f))
		}
	}
}

// widenInto copies the elements of src (dtype dt) into dst as float32.
func widenInto(dst []float32, src []byte, dt compute.DType) {
	for i := range dst {
		dst[i] = element(src, dt, i)
	}
}
