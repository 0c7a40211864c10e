package metal

import (
	"encoding/binary"
	"math"

	"github.com/janus-desktop/janus/compute"
)

// Host-side element conversions for FromBytes and Read. They mirror compute/cpu's (whose
// helpers are unexported): widening is exact, narrowing rounds to nearest even.

func bf16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

func f32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 0x0040 // NaN stays a quiet NaN
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

func f16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	}
	e := uint32(113) // subnormal: normalise the mantissa
	for man&0x400 == 0 {
		man <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (man&0x3ff)<<13)
}

func f32ToF16(f float32) uint16 {
	u := math.Float32bits(f)
	sign := uint16(u>>16) & 0x8000
	exp := int32(u>>23) & 0xff
	man := u & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00 | uint16(man>>13)
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		m := man | 0x800000
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		r := m >> shift
		rem := m & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++
	}
	return sign | uint16(r)
}

// element reads element i of raw (dtype src) as float32.
func element(raw []byte, src compute.DType, i int) float32 {
	switch src {
	case compute.F32:
		return math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	case compute.F16:
		return f16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	return bf16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
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
			binary.LittleEndian.PutUint16(dst[2*i:], f32ToF16(f))
		case compute.BF16:
			binary.LittleEndian.PutUint16(dst[2*i:], f32ToBF16(f))
		}
	}
}

// widenInto copies the elements of src (dtype dt) into dst as float32.
func widenInto(dst []float32, src []byte, dt compute.DType) {
	for i := range dst {
		dst[i] = element(src, dt, i)
	}
}
