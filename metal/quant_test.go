package metal

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

func f32Bytes(v []float32) []byte {
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	return raw
}

// TestQuantizedLayout checks the bytes of Q8/Q4 buffers on a block whose values are exact
// codes (scale 1): the codes first, in compute.Q4's nibble order, then the F16 scales; the
// buffer's size and MemoryUsed are dt.Bytes; Read gives the values back.
func TestQuantizedLayout(t *testing.T) {
	// Row 0: −8..7 then 7..−8, exact Q4 codes of scale 1. Row 1: 127·(−1, 1, 0, …), exact Q8
	// codes of scale 1.
	x := make([]float32, 2*qBlock)
	for j := range qBlock / 2 {
		x[j], x[qBlock/2+j] = float32(j-8), float32(7-j)
	}
	x[qBlock], x[qBlock+1] = -127, 127
	for _, tc := range []struct {
		dt       compute.DType
		codes    []byte // of row 0
		scales   []uint16
		exactRow int     // the row Read gives exactly
		tol      float64 // the other row's bound: half a step, a quarter of amax for Q4
	}{
		{compute.Q8, nil, nil, 1, 8.0 / 254 * (1 + 1.0/1024)},
		{compute.Q4, q4Codes(), []uint16{0x3c00}, 0, 127.0 / 4},
	} {
		t.Run(tc.dt.String(), func(t *testing.T) {
			b, _ := newFake(t)
			w, err := b.FromBytes(tc.dt, []int{2, qBlock}, compute.F32, f32Bytes(x))
			if err != nil {
				t.Fatal(err)
			}
			mem := contents(w)
			if len(mem) != tc.dt.Bytes(2*qBlock) || b.MemoryUsed() != int64(tc.dt.Bytes(2*qBlock)) {
				t.Fatalf("%d bytes, MemoryUsed %d, want %d", len(mem), b.MemoryUsed(), tc.dt.Bytes(2*qBlock))
			}
			cb := codeBytes(tc.dt)
			if tc.dt == compute.Q8 {
				// Row 1's codes are −127, 127, 0…; its scale is 1.
				if int8(mem[cb]) != -127 || int8(mem[cb+1]) != 127 || mem[cb+2] != 0 {
					t.Errorf("row 1 codes % x", mem[cb:cb+4])
				}
				if s := binary.LittleEndian.Uint16(mem[2*cb+2:]); s != 0x3c00 {
					t.Errorf("row 1 scale %#x, want 1.0 (0x3c00)", s)
				}
			} else {
				if !slices.Equal(mem[:cb], tc.codes) {
					t.Errorf("row 0 codes % x, want % x", mem[:cb], tc.codes)
				}
				for i, want := range tc.scales {
					if s := binary.LittleEndian.Uint16(mem[2*cb+2*i:]); s != want {
						t.Errorf("scale %d is %#x, want %#x", i, s, want)
					}
				}
			}
			got := make([]float32, 2*qBlock)
			if err := b.Read(w, got); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				e, exact := math.Abs(float64(got[i]-x[i])), i/qBlock == tc.exactRow
				if exact && e != 0 || !exact && !(e <= tc.tol) {
					t.Fatalf("Read value %d: %v, stored %v", i, got[i], x[i])
				}
			}
		})
	}
}

// q4Codes are the Q4 bytes of −8..7, 7..−8 with scale 1: byte j holds code j (low nibble)
// and 15−j (high).
func q4Codes() []byte {
	c := make([]byte, qBlock/2)
	for j := range c {
		c[j] = byte(j) | byte(15-j)<<4
	}
	return c
}

// TestQuantizedKernels checks the pipelines chosen for Q8/Q4 weights (matrix-vector up to 8
// rows, tiles beyond, the quantized Embedding) and that rows that are not whole blocks are
// refused with the dtype named.
func TestQuantizedKernels(t *testing.T) {
	for _, dt := range []compute.DType{compute.Q8, compute.Q4} {
		t.Run(dt.String(), func(t *testing.T) {
			b, d := newFake(t)
			if _, err := b.FromBytes(dt, []int{2, 40}, compute.F32, make([]byte, 4*80)); err == nil || !strings.Contains(err.Error(), dt.String()) {
				t.Errorf("FromBytes %v [2 40]: %v, want an error naming %v", dt, err, dt)
			}
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("New(%v, 2, 40) did not panic", dt)
					}
				}()
				b.New(dt, 2, 40)
			}()
			w := b.New(dt, 10, 64)
			mark := len(d.log)
			b.Linear(b.New(compute.F32, 1, 10), b.New(compute.F32, 1, 64), w, nil)
			b.Linear(b.New(compute.F32, 20, 10), b.New(compute.F32, 20, 64), w, nil)
			b.Embedding(b.New(compute.F32, 2, 64), w, []int32{3, 9})
			var kernels []string
			for _, e := range since(d, mark) {
				if f := strings.Fields(e); len(f) == 2 && strings.HasPrefix(f[0], "cb") {
					kernels = append(kernels, f[1])
				}
			}
			suffix := strings.ToLower(dt.String())
			want := []string{"linear_mv_" + suffix, "linear_mm_" + suffix, "embedding_" + suffix}
			if !slices.Equal(kernels, want) {
				t.Errorf("kernels %v, want %v", kernels, want)
			}
		})
	}
}

// BenchmarkFromBytesQuantized quantizes a Janus-Pro-1B MLP matrix ([5632, 2048], BF16
// source) on the fake device: the host work of loading Q8/Q4 weights on Metal.
func BenchmarkFromBytesQuantized(b *testing.B) {
	const n, k = 5632, 2048
	raw := make([]byte, 2*n*k)
	for i := 0; i < n*k; i++ {
		binary.LittleEndian.PutUint16(raw[2*i:], compute.F32ToBF16(float32(math.Sin(float64(i)))))
	}
	for _, dt := range []compute.DType{compute.Q8, compute.Q4} {
		b.Run(dt.String(), func(b *testing.B) {
			be, err := New("fake", &fakeDevice{})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				w, err := be.FromBytes(dt, []int{n, k}, compute.BF16, raw)
				if err != nil {
					b.Fatal(err)
				}
				be.Free(w)
			}
		})
	}
}
