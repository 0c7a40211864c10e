package computetest

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// le32 encodes vals as little-endian float32 bytes.
func le32(vals []float32) []byte {
	out := make([]byte, 0, 4*len(vals))
	for _, v := range vals {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
	}
	return out
}

// le16 encodes 16-bit patterns as little-endian bytes.
func le16(bits []uint16) []byte {
	out := make([]byte, 0, 2*len(bits))
	for _, b := range bits {
		out = binary.LittleEndian.AppendUint16(out, b)
	}
	return out
}

// F16Value is the binary16 definition evaluated in float64: a reference for backends'
// conversions, independent of compute's.
func F16Value(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>10)&0x1f, float64(h&0x3ff)
	switch {
	case e == 0x1f && m == 0:
		return sign * math.Inf(1)
	case e == 0x1f:
		return math.NaN()
	case e == 0:
		return sign * m * math.Pow(2, -24)
	}
	return sign * (1 + m/1024) * math.Pow(2, float64(e-15))
}

// BF16Value widens a bfloat16 pattern: its bits are the top half of a float32.
func BF16Value(h uint16) float64 { return float64(math.Float32frombits(uint32(h) << 16)) }

// nearest rounds x to the nearest value of a 16-bit format whose finite non-negative
// patterns 0..maxBits are ordered like their values (both F16 and BF16 are), ties to the
// even pattern, overflowing to infinity (inf) beyond half an ulp past the largest.
func nearest(x float64, value func(uint16) float64, maxBits, inf uint16) uint16 {
	var sign uint16
	if x < 0 || (x == 0 && math.Signbit(x)) {
		sign, x = 0x8000, -x
	}
	top := value(maxBits)
	if x > top {
		ulp := top - value(maxBits-1)
		if x >= top+ulp/2 {
			return sign | inf
		}
		return sign | maxBits
	}
	lo, hi := uint16(0), maxBits // value(lo) <= x <= value(hi)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if value(mid) <= x {
			lo = mid
		} else {
			hi = mid
		}
	}
	dLo, dHi := x-value(lo), value(hi)-x
	switch {
	case dLo < dHi, dLo == dHi && lo&1 == 0:
		return sign | lo
	}
	return sign | hi
}

// NearestF16 is the binary16 nearest to x, ties to even, by search: a slow reference for
// compute.F32ToF16.
func NearestF16(x float64) uint16 { return nearest(x, F16Value, 0x7bff, 0x7c00) }

// NearestBF16 is the bfloat16 nearest to x, ties to even, by search: a slow reference for
// compute.F32ToBF16.
func NearestBF16(x float64) uint16 { return nearest(x, BF16Value, 0x7f7f, 0x7f80) }

// roundTo is what a value of dtype src holds after conversion to dt: exact widening, or
// rounding to nearest even (F16, BF16).
func roundTo(dt compute.DType, v float64) float64 {
	switch dt {
	case compute.F16:
		return F16Value(NearestF16(v))
	case compute.BF16:
		return BF16Value(NearestBF16(v))
	}
	return float64(float32(v))
}

// testFromBytes converts between every pair of dtypes, from random values and from the
// edge cases of each format (subnormals, overflow to infinity, ties).
func testFromBytes(t *testing.T, be compute.Backend) {
	rng := rand.New(rand.NewPCG(51, 52))
	f32s := []float32{1, -2.5, 3.1415927, 1e-6, 70000, -0.1, 0, 1e-8, 65504, 65520, -65519,
		6e-8, 3e-5, 1.00048828125, 1.0009765625 + 1.0/4096, 3.4e38, -1e-40}
	f32s = append(f32s, randVals(rng, 61, 100)...)
	n := len(f32s)
	sources := map[compute.DType][]byte{compute.F32: le32(f32s)}
	values := map[compute.DType][]float64{compute.F32: f64s(f32s)}
	for _, dt := range []compute.DType{compute.F16, compute.BF16} {
		bits := make([]uint16, n)
		vals := make([]float64, n)
		for i := range bits {
			bits[i] = uint16(rng.Uint32())
			if bits[i]&0x7f80 == 0x7f80 && dt == compute.BF16 || bits[i]&0x7c00 == 0x7c00 && dt == compute.F16 {
				bits[i] &^= 0x4000 // no infinities or NaNs among the random patterns
			}
			if dt == compute.F16 {
				vals[i] = F16Value(bits[i])
			} else {
				vals[i] = BF16Value(bits[i])
			}
		}
		sources[dt], values[dt] = le16(bits), vals
	}
	for _, src := range dtypes {
		for _, dt := range dtypes {
			tt, err := be.FromBytes(dt, []int{1, n}, src, sources[src])
			if err != nil {
				t.Fatalf("%v->%v: %v", src, dt, err)
			}
			if tt.DType != dt || !slices.Equal(tt.Shape, []int{1, n}) {
				t.Fatalf("%v->%v: got %v", src, dt, tt)
			}
			got := read(t, be, tt)
			for i, v := range values[src] {
				want := roundTo(dt, v)
				if float64(got[i]) != want || math.Signbit(float64(got[i])) != math.Signbit(want) {
					t.Errorf("%v->%v [%d] %v: got %v, want %v", src, dt, i, v, got[i], want)
				}
			}
			be.Free(tt)
		}
	}
}

func testFromBytesErrors(t *testing.T, be compute.Backend) {
	for _, c := range []struct {
		name     string
		dt, src  compute.DType
		shape    []int
		raw      []byte
		wantFail bool
	}{
		{"short", compute.F32, compute.F32, []int{3}, make([]byte, 8), true},
		{"long", compute.BF16, compute.F16, []int{3}, make([]byte, 8), true},
		{"negative dimension", compute.F32, compute.F32, []int{-1}, nil, true},
		{"unknown source dtype", compute.F32, compute.DType(9), []int{1}, make([]byte, 4), true},
		{"unknown tensor dtype", compute.DType(9), compute.F32, []int{1}, make([]byte, 4), true},
		{"empty", compute.F32, compute.F32, []int{0, 4}, nil, false},
	} {
		tt, err := be.FromBytes(c.dt, c.shape, c.src, c.raw)
		if (err != nil) != c.wantFail {
			t.Errorf("%s: FromBytes = %v, %v", c.name, tt, err)
		}
	}
}

func testReshapeReadFree(t *testing.T, be compute.Backend) {
	a := be.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	r := be.Reshape(a, 3, 2)
	be.Write(r, []float32{6, 5, 4, 3, 2, 1})
	exact(t, "Reshape shares the buffer", read(t, be, a), []float32{6, 5, 4, 3, 2, 1})
	if !slices.Equal(r.Shape, []int{3, 2}) || !slices.Equal(a.Shape, []int{2, 3}) {
		t.Errorf("shapes after Reshape: %v and %v", a.Shape, r.Shape)
	}
	if err := be.Read(a, make([]float32, 5)); err == nil {
		t.Error("Read into 5 values of a 6-value tensor did not fail")
	}
	be.Free(r)
	if err := be.Read(r, make([]float32, 6)); err == nil {
		t.Error("Read of a freed tensor did not fail")
	}
	if err := be.Sync(); err != nil {
		t.Error(err)
	}
}

// testMemoryUsed checks that MemoryUsed counts what tensors hold, once per buffer, and gives
// it back when the buffer is freed through any handle.
func testMemoryUsed(t *testing.T, be compute.Backend) {
	base := be.MemoryUsed()
	if base < 0 {
		t.Fatalf("MemoryUsed = %d before any tensor", base)
	}
	type alloc struct {
		name  string
		make  func() *compute.Tensor
		bytes int64
	}
	allocs := []alloc{
		{"New F32", func() *compute.Tensor { return be.New(compute.F32, 3, 5) }, 60},
		{"New BF16", func() *compute.Tensor { return be.New(compute.BF16, 7) }, 14},
		{"FromFloat32", func() *compute.Tensor { return be.FromFloat32(make([]float32, 1000), 10, 100) }, 4000},
		{"FromBytes F16 from F32", func() *compute.Tensor {
			tt, err := be.FromBytes(compute.F16, []int{9, 9}, compute.F32, make([]byte, 4*81))
			if err != nil {
				t.Fatal(err)
			}
			return tt
		}, 162},
	}
	var held []*compute.Tensor
	want := base
	for _, a := range allocs {
		before := be.MemoryUsed()
		tt := a.make()
		held = append(held, tt)
		want += a.bytes
		// A device may round a buffer up (pages, alignment), never down.
		if got := be.MemoryUsed() - before; got < a.bytes {
			t.Errorf("%s: MemoryUsed grew by %d, want at least %d", a.name, got, a.bytes)
		}
	}
	if got := be.MemoryUsed(); got < want {
		t.Errorf("MemoryUsed %d with all held, want at least %d", got, want)
	}
	// A view costs nothing and freeing through it releases the buffer, once.
	before := be.MemoryUsed()
	view := be.Reshape(held[2], 1000)
	if got := be.MemoryUsed(); got != before {
		t.Errorf("Reshape changed MemoryUsed from %d to %d", before, got)
	}
	be.Free(view)
	be.Free(held[2])
	held[2] = nil
	if err := be.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := be.MemoryUsed(); got > before-4000 {
		t.Errorf("freeing a 4000-byte tensor through its view and itself took MemoryUsed from %d to %d", before, got)
	}
	for _, tt := range held {
		if tt != nil {
			be.Free(tt)
		}
	}
	if err := be.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := be.MemoryUsed(); got != base {
		t.Errorf("MemoryUsed %d after freeing everything, want %d as before", got, base)
	}
}

// testHostSlicesCopied checks the contract that host memory passed to a call may be reused
// as soon as the call returns, even while the ops that read it are still queued.
func testHostSlicesCopied(t *testing.T, be compute.Backend) {
	data := []float32{1, 2, 3, 4}
	x := be.FromFloat32(data, 2, 2)
	raw := le32([]float32{5, 6, 7, 8})
	w, err := be.FromBytes(compute.F32, []int{2, 2}, compute.F32, raw)
	if err != nil {
		t.Fatal(err)
	}
	y := be.New(compute.F32, 2, 2)
	upd := []float32{10, 20, 30, 40}
	be.Write(y, upd)
	ids := []int32{1, 0}
	e := be.New(compute.F32, 2, 2)
	be.Embedding(e, w, ids)
	sum := be.New(compute.F32, 2, 2)
	be.Add(sum, x, y)
	// Scribble over every host slice before anything is read back.
	for i := range data {
		data[i], upd[i] = -1, -1
	}
	clear(raw)
	ids[0], ids[1] = 0, 0
	exact(t, "FromFloat32 copy", read(t, be, x), []float32{1, 2, 3, 4})
	exact(t, "FromBytes copy", read(t, be, w), []float32{5, 6, 7, 8})
	exact(t, "Write copy", read(t, be, y), []float32{10, 20, 30, 40})
	exact(t, "Embedding ids copy", read(t, be, e), []float32{7, 8, 5, 6})
	exact(t, "Add of copied inputs", read(t, be, sum), []float32{11, 22, 33, 44})
}

// testOrdering checks that ops take effect in issue order however a backend queues them:
// a Write after an op that reads the tensor does not change that op's result, an op after
// the Write sees the new values, and a tensor freed while an op that reads it is queued
// still gives that op its values.
func testOrdering(t *testing.T, be compute.Backend) {
	x := be.FromFloat32([]float32{1, 2, 3}, 3)
	before, after := be.New(compute.F32, 3), be.New(compute.F32, 3)
	be.Scale(before, x, 2)
	be.Write(x, []float32{10, 20, 30})
	be.Scale(after, x, 2)
	y := be.FromFloat32([]float32{-1, -2, -3}, 3)
	freed := be.New(compute.F32, 3)
	be.Add(freed, x, y)
	be.Free(y)
	chain := be.New(compute.F32, 3)
	be.Scale(chain, before, 0.5) // reads an op's output while it may still be queued
	exact(t, "op before Write", read(t, be, before), []float32{2, 4, 6})
	exact(t, "op after Write", read(t, be, after), []float32{20, 40, 60})
	exact(t, "op on a tensor freed after it", read(t, be, freed), []float32{9, 18, 27})
	exact(t, "op on a queued op's output", read(t, be, chain), []float32{1, 2, 3})
}

// testInPlace checks that the ops the contract lets write in place (the elementwise ops and
// the normalisations) give the same bits with dst the same tensor as their input.
func testInPlace(t *testing.T, be compute.Backend) {
	rng := rand.New(rand.NewPCG(61, 62))
	const rows, dim = 3, 37
	xv, yv := randVals(rng, rows*dim, 4), randVals(rng, rows*dim, 4)
	wv, bv := randVals(rng, dim, 1), randVals(rng, dim, 1)
	w, b := be.FromFloat32(wv, dim), be.FromFloat32(bv, dim)
	gw, gb := be.FromFloat32(wv[:rows], rows), be.FromFloat32(bv[:rows], rows)
	y := be.FromFloat32(yv, rows, dim)
	ops := []struct {
		name string
		run  func(dst, x *compute.Tensor)
	}{
		{"Add", func(dst, x *compute.Tensor) { be.Add(dst, x, y) }},
		{"Mul", func(dst, x *compute.Tensor) { be.Mul(dst, x, w) }},
		{"Scale", func(dst, x *compute.Tensor) { be.Scale(dst, x, 0.3) }},
		{"GELU", func(dst, x *compute.Tensor) { be.GELU(dst, x) }},
		{"SiLU", func(dst, x *compute.Tensor) { be.SiLU(dst, x) }},
		{"SwiGLU", func(dst, x *compute.Tensor) { be.SwiGLU(dst, x, y) }},
		{"LayerNorm", func(dst, x *compute.Tensor) { be.LayerNorm(dst, x, w, b, 1e-6) }},
		{"RMSNorm", func(dst, x *compute.Tensor) { be.RMSNorm(dst, x, w, 1e-6) }},
		{"GroupNorm", func(dst, x *compute.Tensor) {
			be.GroupNorm(be.Reshape(dst, 1, rows, 1, dim), be.Reshape(x, 1, rows, 1, dim), gw, gb, 3, 1e-6)
		}},
	}
	for _, op := range ops {
		x := be.FromFloat32(xv, rows, dim)
		dst := be.New(compute.F32, rows, dim)
		op.run(dst, x)
		op.run(x, x)
		exact(t, op.name+" in place", read(t, be, x), read(t, be, dst))
		be.Free(x)
		be.Free(dst)
	}
}

// testView checks compute.Viewer where the backend has it: views read and write their range
// of the parent's elements, ops on disjoint views of one buffer act as on distinct tensors,
// and freeing a view leaves the parent and MemoryUsed alone.
func testView(t *testing.T, be compute.Backend) {
	vb, ok := be.(compute.Viewer)
	if !ok {
		t.Skipf("backend %s has no views", be.Name())
	}
	const al = compute.ViewAlign
	p := be.New(compute.F32, 2*al+4)
	want := make([]float32, 2*al+4)
	copy(want[al:], []float32{1, 2, 3, 4})
	copy(want[2*al:], []float32{2, 4, 6, 8})
	held := be.MemoryUsed()
	a := vb.View(p, al, 2, 2)
	be.Write(a, []float32{1, 2, 3, 4})
	b := vb.View(p, 2*al, 4)
	be.Add(b, be.Reshape(a, 4), be.Reshape(a, 4))
	exact(t, "parent after writes through views", read(t, be, p), want)
	be.Free(a)
	if got := be.MemoryUsed(); got != held {
		t.Errorf("MemoryUsed %d after freeing a view, %d before", got, held)
	}
	if err := be.Read(a, make([]float32, 4)); err == nil {
		t.Error("Read of a freed view did not fail")
	}
	exact(t, "parent after freeing a view", read(t, be, p), want)
	exact(t, "the other view", read(t, be, b), []float32{2, 4, 6, 8})
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("a view at element %d (not a multiple of %d) did not panic", al/2, al)
			}
		}()
		vb.View(p, al/2, 4)
	}()
	be.Free(b)
	be.Free(p)
}
