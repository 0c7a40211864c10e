package computetest

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// quantDTypes are the block-quantized weight dtypes a backend may offer.
var quantDTypes = []compute.DType{compute.Q8, compute.Q4, compute.Q4M}

// quantTensor uploads w [n, k] as dt through FromBytes from F32 bytes. ok is false when the
// backend refuses the dtype, which it may do only with an error that names it.
func quantTensor(t *testing.T, be compute.Backend, dt compute.DType, w []float32, n, k int) (*compute.Tensor, bool) {
	t.Helper()
	raw := make([]byte, 4*len(w))
	for i, v := range w {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	q, err := be.FromBytes(dt, []int{n, k}, compute.F32, raw)
	if err != nil {
		if !strings.Contains(err.Error(), dt.String()) {
			t.Errorf("FromBytes %v refused with an error that does not name the dtype: %v", dt, err)
		}
		t.Logf("%s does not take %v weights: %v", be.Name(), dt, err)
		return nil, false
	}
	return q, true
}

// quantStep is the largest rounding step a block of dt may have for values of largest
// magnitude amax (the F16 rounding of the scale adds 2⁻¹¹ relative).
func quantStep(dt compute.DType, amax float64) float64 {
	if dt == compute.Q8 {
		return amax / 127 * (1 + 1.0/1024)
	}
	return amax / 8 * (1 + 1.0/1024)
}

// testQuantized checks Q8 and Q4 weights where the backend takes them: Read gives each
// value within half a step of its block's scale (Q8), within a quarter of the block's
// largest magnitude (Q4, whose top code is clamped and whose scale a backend may fit),
// Embedding gives the rows Read gives, Linear is the product with the dequantized weights up
// to the quantization of the input rows (at most half a step of amax/127 per block, the
// CPU's int8 path), and a last dimension that is not a multiple of QBlock is an error.
func testQuantized(t *testing.T, be compute.Backend) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, dt := range quantDTypes {
		t.Run(dt.String(), func(t *testing.T) {
			if _, err := be.FromBytes(dt, []int{3, 40}, compute.F32, make([]byte, 4*3*40)); err == nil {
				t.Errorf("FromBytes %v [3 40]: no error for a row of 40, not a multiple of %d", dt, compute.QBlock)
			}
			const n, k = 37, 96
			wv := randVals(rng, n*k, 1)
			// A zero block, a block with one large value, and tiny values.
			for i := 0; i < compute.QBlock; i++ {
				wv[i] = 0
				wv[compute.QBlock+i] *= 1e-3
			}
			wv[2*compute.QBlock+5] = 40
			w, ok := quantTensor(t, be, dt, wv, n, k)
			if !ok {
				return
			}
			defer be.Free(w)
			deq := read(t, be, w)
			for b := 0; b < n*k/compute.QBlock; b++ {
				var amax float64
				for _, v := range wv[b*compute.QBlock : (b+1)*compute.QBlock] {
					amax = max(amax, math.Abs(float64(v)))
				}
				step := quantStep(dt, amax)
				for i := b * compute.QBlock; i < (b+1)*compute.QBlock; i++ {
					lim := step/2 + 1e-7
					if dt != compute.Q8 {
						// Q4: the code +8 is clamped to +7, and a backend may search for a
						// scale other than amax/8 (fitted to the whole block). Q4M: within
						// 1.5 steps of a block's range/15 (compute.TestQuantizeQ4M).
						lim = amax/4 + 1e-7
					}
					if e := math.Abs(float64(deq[i]) - float64(wv[i])); e > lim || math.IsNaN(e) {
						t.Fatalf("%v value %d: %g read back as %g, beyond %g", dt, i, wv[i], deq[i], lim)
					}
				}
			}

			ids := []int32{0, 36, 5, 5, 1}
			emb := be.New(compute.F32, len(ids), k)
			be.Embedding(emb, w, ids)
			got := read(t, be, emb)
			for r, id := range ids {
				exact(t, "Embedding "+dt.String(), got[r*k:(r+1)*k], deq[int(id)*k:(int(id)+1)*k])
			}
			be.Free(emb)

			for _, m := range []int{1, 2, 7, 70} {
				xv := randVals(rng, m*k, 2)
				x := be.FromFloat32(xv, m, k)
				dst := be.New(compute.F32, m, n)
				bv := randVals(rng, n, 1)
				bias := be.FromFloat32(bv, n)
				be.Linear(dst, x, w, bias)
				got := read(t, be, dst)
				want := linearRef(xv, f64s(deq), bv, m, k, n)
				for i := range m {
					for j := range n {
						// |Σ w'·(x-x')| ≤ Σ_blocks amax_x/254 · Σ|w'|, plus float32 rounding.
						// Q4M's int8 part is Σ (w'−o)·x', o within the block's range (its
						// offsets' part may be exact): Σ|w'−o| ≤ Σ|w'| + QBlock·max|w'|.
						var tol float64
						for b := 0; b < k/compute.QBlock; b++ {
							var amax, wsum, wmax float64
							for l := b * compute.QBlock; l < (b+1)*compute.QBlock; l++ {
								amax = max(amax, math.Abs(float64(xv[i*k+l])))
								wsum += math.Abs(float64(deq[j*k+l]))
								wmax = max(wmax, math.Abs(float64(deq[j*k+l])))
							}
							if dt == compute.Q4M {
								wsum += compute.QBlock * wmax
							}
							tol += amax / 254 * wsum * (1 + 1e-3)
						}
						tol += 1e-5 * (1 + math.Abs(want[i*n+j]))
						if e := math.Abs(float64(got[i*n+j]) - want[i*n+j]); e > tol || math.IsNaN(e) {
							t.Fatalf("Linear %v m=%d [%d,%d] = %g, want %g within %g", dt, m, i, j, got[i*n+j], want[i*n+j], tol)
						}
					}
				}
				be.Free(x)
				be.Free(dst)
				be.Free(bias)
			}
		})
	}
}
