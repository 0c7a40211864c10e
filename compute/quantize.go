package compute

// The block quantizers of Q8, Q4 and Q4M weights. Every backend quantizes checkpoint weights
// with these functions, so that they all hold the same codes and scales (and Q4M's offsets)
// for a tensor (and a backend's results differ from another's only by its arithmetic).

import (
	"encoding/binary"
	"math"
)

// RoundHalfAway rounds v to the nearest integer, halves away from zero (C's roundf): v plus
// ½ with v's sign, truncated. Branch-free, since the signs of weights are random and a
// mispredicted branch per value would dominate quantizing. The conversion float32(v) keeps
// a caller's product (RoundHalfAway(x*id), inlined) rounded on its own: the compiler may
// otherwise fuse it with the addition (on arm64, and on amd64 with GOAMD64=v3), and the
// codes would depend on the architecture. That holds for v within int32's range: int32 of a
// NaN or an Inf is platform-defined, so the code of a NaN or infinite weight does depend on
// it (QuantizeQ8's scale is then NaN or Inf, and so is the whole block's; QuantizeQ4's
// scale passes over a NaN, and only the NaN's own code differs).
func RoundHalfAway(v float32) int32 {
	half := math.Float32frombits(0x3f000000 | math.Float32bits(v)&(1<<31))
	return int32(float32(v) + half)
}

// QuantizeQ8 writes the Q8 codes of one block x into q and returns its F16 scale: amax/127,
// rounded to F16 first so that the codes are chosen for the scale that is stored.
func QuantizeQ8(q []byte, x *[QBlock]float32) uint16 {
	q = q[:QBlock]
	amax := absMax(x)
	h := F32ToF16(amax / 127)
	d := F16ToF32(h)
	if d == 0 {
		clear(q)
		return h
	}
	id := 1 / d
	for i, v := range x {
		q[i] = byte(int8(min(127, max(-127, RoundHalfAway(v*id)))))
	}
	return h
}

// absMax is the largest |v| of x, as Go's max over the magnitudes gives it. It compares the
// magnitudes' bits, which order as the magnitudes do, in four independent chains: Go's
// float max (a NaN or −0 in either operand handled) is seven dependent instructions a value
// on amd64, which made it a third of quantizing. A block with a NaN takes the float max, so
// that its NaN is the one the float max would give.
func absMax(x *[QBlock]float32) float32 {
	var m0, m1, m2, m3 uint32
	for i := 0; i < QBlock; i += 4 {
		m0 = max(m0, math.Float32bits(x[i])&^(1<<31))
		m1 = max(m1, math.Float32bits(x[i+1])&^(1<<31))
		m2 = max(m2, math.Float32bits(x[i+2])&^(1<<31))
		m3 = max(m3, math.Float32bits(x[i+3])&^(1<<31))
	}
	if m := max(m0, m1, m2, m3); m <= 0x7f800000 {
		return math.Float32frombits(m)
	}
	var amax float32
	for _, v := range x {
		amax = max(amax, abs32(v))
	}
	return amax
}

// QuantizeQ4 writes the Q4 codes of one block x into q (QBlock/2 bytes) and returns its F16
// scale. ggml's Q4_0 maps the value of largest magnitude m to code 0 (−8 after the offset)
// with the scale m/−8; here that scale's codes also give a least-squares scale (d =
// Σxq/Σq²), and the one of the two with the smaller squared error is kept. On the synthetic
// Pro-1B model (2 layers, BenchmarkQuantizedKL) that lowers the mean KL by 5 % (normal
// weights) and 11 % (heavy-tailed); a search over 19 scales m/−(8±i/10), as llama.cpp's
// make_qx_quants does, was no better and made loading several times slower. The codes are
// then chosen for the F16-rounded scale, as stored.
func QuantizeQ4(q []byte, x *[QBlock]float32) uint16 {
	h := F32ToF16(Q4Scale(x))
	d := F16ToF32(h)
	var id float32
	if d != 0 {
		id = 1 / d
	}
	for j := range QBlock / 2 {
		lo := min(15, max(0, RoundHalfAway(x[j]*id)+8))
		hi := min(15, max(0, RoundHalfAway(x[j+QBlock/2]*id)+8))
		q[j] = byte(lo) | byte(hi)<<4
	}
	return h
}

// QuantizeQ4M writes 4-bit codes of one block x into q (QBlock/2 bytes, as QuantizeQ4 packs
// them) and returns an F16 scale d and an F16 offset o, the block's values being d·(code−8) +
// o: a scale and a minimum per block (ggml's Q4_1) stored as the offset of the middle code,
// so that the integer part of a dot product is Q4's. The first scale and offset span the
// block's range; then up to three least-squares refits of both to the codes, each kept only
// where the block's squared error (with d and o rounded to F16, and the codes chosen again)
// falls. On the synthetic Pro-1B model this lowers the mean KL divergence 22–27 % below Q4's
// (BenchmarkQ4SchemesKL) for two bytes more a block. It is Q4M's quantizer, which every
// backend runs or matches bit for bit; every product is rounded on its own, so the codes of
// a block of finite values within F16's range are the same on every architecture. A block
// with a NaN or an Inf (or beyond F16's range) gets a NaN or Inf scale or offset, so its
// codes do not matter; they are not portable (int32 of a NaN or an Inf is platform-defined).
func QuantizeQ4M(q []byte, x *[QBlock]float32) (scale, offset uint16) {
	lo, hi := x[0], x[0]
	var sx float64 // Σx for every refit, summed in order once
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
		sx += float64(v)
	}
	d := f16Round((hi - lo) / 15)
	o := f16Round(lo + float32(8*d))
	var c, prev [QBlock]int32
	best := q4mCodes(&c, x, d, o)
	for range 3 {
		// x ≈ d·k + o over k = code−8, in float64 with every product rounded on its own. The
		// sums of k and k² are of small integers, exact in any order.
		var ik, ikk int32
		var sxk float64
		for i, v := range x {
			k := c[i] - 8
			ik += k
			ikk += k * k
			sxk += float64(float64(v) * float64(k))
		}
		sk, skk := float64(ik), float64(ikk)
		den := float64(QBlock*skk) - float64(sk*sk)
		if den == 0 {
			break
		}
		nd := f16Round(float32((float64(QBlock*sxk) - float64(sk*sx)) / den))
		no := f16Round(float32((sx - float64(float64(nd)*sk)) / QBlock))
		if nd == d && no == o {
			// The refit came back to the codes' own scale and offset (most blocks do by the
			// third refit): choosing the codes again would give them and their error again.
			break
		}
		prev = c
		if e := q4mCodes(&c, x, nd, no); e < best {
			d, o, best = nd, no, e
			continue
		}
		c = prev
		break
	}
	for j := range QBlock / 2 {
		q[j] = byte(c[j]) | byte(c[j+QBlock/2])<<4
	}
	return F32ToF16(d), F32ToF16(o)
}

// q4mCodes chooses the codes of x for scale d and offset o into c and returns the block's
// squared error with them.
func q4mCodes(c *[QBlock]int32, x *[QBlock]float32, d, o float32) float32 {
	var id float32
	if d != 0 {
		id = 1 / d
	}
	var e float32
	for i, v := range x {
		k := min(15, max(0, RoundHalfAway(float32(v-o)*id)+8))
		c[i] = k
		r := v - (float32(d*float32(k-8)) + o)
		e += float32(r * r)
	}
	return e
}

// f16Round rounds v to the nearest F16 value, as a float32.
func f16Round(v float32) float32 { return F16ToF32(F32ToF16(v)) }

// Q4Scale is the scale QuantizeQ4 chooses for x, before it is rounded to F16: a function of
// its own so that other implementations of the choice (the CPU backend's vector quantizer)
// can be checked against it bit for bit.
func Q4Scale(x *[QBlock]float32) float32 {
	var amax, m float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, m = a, v
		}
	}
	best := m / -8
	if m == 0 {
		return best
	}
	bestErr := q4Error(x, best)
	id := -8 / m
	var sxq, sqq float32
	for _, v := range x {
		c := float32(min(7, max(-8, RoundHalfAway(v*id))))
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
	return best
}

// q4Error is the squared error of a block stored with scale d (codes clamped to −8..7).
func q4Error(x *[QBlock]float32, d float32) float32 {
	id := 1 / d
	var e float32
	for _, v := range x {
		c := float32(min(7, max(-8, RoundHalfAway(v*id))))
		r := v - float32(d*c)
		e += float32(r * r)
	}
	return e
}

// ReadBlock reads elements [at, at+QBlock) of raw little-endian data of dtype src into x,
// one loop per dtype.
func ReadBlock(x *[QBlock]float32, raw []byte, src DType, at int) {
	switch src {
	case F32:
		in := raw[4*at : 4*(at+QBlock)]
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(in[4*i:]))
		}
	case BF16:
		in := raw[2*at : 2*(at+QBlock)]
		for i := range x {
			x[i] = BF16ToF32(binary.LittleEndian.Uint16(in[2*i:]))
		}
	default:
		in := raw[2*at : 2*(at+QBlock)]
		for i := range x {
			x[i] = F16ToF32(binary.LittleEndian.Uint16(in[2*i:]))
		}
	}
}

// abs32 is |v| by clearing the sign bit (no float64 round trip).
func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }
