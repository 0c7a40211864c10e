package computetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

func testEmbedding(t *testing.T, be compute.Backend) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, dt := range dtypes {
		const v, d = 11, 13
		table, tv := weightTensor(t, be, dt, randVals(rng, v*d, 3), v, d)
		ids := []int32{0, 10, 3, 3, 7}
		dst := be.New(compute.F32, 1, len(ids), d)
		be.Embedding(dst, table, ids)
		var want []float64
		for _, id := range ids {
			want = append(want, tv[int(id)*d:(int(id)+1)*d]...)
		}
		closeTo(t, "Embedding "+dt.String(), read(t, be, dst), want, 0)
	}
}

func testElementwise(t *testing.T, be compute.Backend) {
	rng := rand.New(rand.NewPCG(7, 8))
	erfGELU := func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	for _, n := range []int{1, 7, 64, 1000, 70001} {
		av, bv := randVals(rng, n, 8), randVals(rng, n, 8)
		a, bb := be.FromFloat32(av, n), be.FromFloat32(bv, n)
		dst := be.New(compute.F32, n)
		type unary struct {
			name string
			run  func()
			ref  func(x, y float64) float64
		}
		for _, u := range []unary{
			{"Scale", func() { be.Scale(dst, a, -1.5) }, func(x, _ float64) float64 { return -1.5 * x }},
			{"GELU", func() { be.GELU(dst, a) }, func(x, _ float64) float64 { return erfGELU(x) }},
			{"SiLU", func() { be.SiLU(dst, a) }, func(x, _ float64) float64 { return x * sig(x) }},
			{"SwiGLU", func() { be.SwiGLU(dst, a, bb) }, func(x, y float64) float64 { return x * sig(x) * y }},
			{"Add", func() { be.Add(dst, a, bb) }, func(x, y float64) float64 { return x + y }},
			{"Mul", func() { be.Mul(dst, a, bb) }, func(x, y float64) float64 { return x * y }},
		} {
			u.run()
			want := make([]float64, n)
			for i := range want {
				want[i] = u.ref(float64(av[i]), float64(bv[i]))
			}
			closeTo(t, fmt.Sprintf("%s n=%d", u.name, n), read(t, be, dst), want, 1.5e-7)
		}
	}
}

// testElementwiseRepeat checks Add and Mul with b repeated over a, written in place.
func testElementwiseRepeat(t *testing.T, be compute.Backend) {
	rng := rand.New(rand.NewPCG(7, 9))
	for _, c := range []struct{ n, m int }{{12, 1}, {12, 4}, {1000, 250}, {6 * 577, 577}} {
		av, bv := randVals(rng, c.n, 1), randVals(rng, c.m, 1)
		a, bb := be.FromFloat32(av, c.n), be.FromFloat32(bv, c.m)
		be.Add(a, a, bb)
		sum := read(t, be, a)
		be.Mul(a, a, bb)
		got := read(t, be, a)
		for i := range c.n {
			s := av[i] + bv[i%c.m]
			if sum[i] != s || got[i] != s*bv[i%c.m] {
				t.Fatalf("Add/Mul repeat %d over %d at %d: got %v, %v", c.m, c.n, i, sum[i], got[i])
			}
		}
	}
}

func testNorms(t *testing.T, be compute.Backend) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, c := range []struct{ rows, dim int }{{1, 1}, {1, 8}, {3, 37}, {17, 1024}, {5, 2048}} {
		xv := make([]float32, c.rows*c.dim)
		for i := range xv {
			xv[i] = float32(rng.NormFloat64()*3 + 2)
		}
		wv, bv := randVals(rng, c.dim, 2), randVals(rng, c.dim, 1)
		x := be.FromFloat32(xv, c.rows, c.dim)
		w, b := be.FromFloat32(wv, c.dim), be.FromFloat32(bv, c.dim)
		dst := be.New(compute.F32, c.rows, c.dim)
		be.LayerNorm(dst, x, w, b, 1e-6)
		ln := make([]float64, len(xv))
		rms := make([]float64, len(xv))
		// A device may fuse torch's x·rstd + (−mean·rstd) into one FMA (Apple's compiler may;
		// Go does on arm64), keeping x·rstd unrounded: the result then moves by up to an ulp
		// of that product times w, which is noise unless the row is nearly constant and rstd
		// huge (the one-element row).
		lnTol := 1e-6
		for r := range c.rows {
			row := f64s(xv[r*c.dim : (r+1)*c.dim])
			var mean, sq, ms float64
			for _, v := range row {
				mean += v
				ms += v * v
			}
			mean /= float64(c.dim)
			ms /= float64(c.dim)
			for _, v := range row {
				sq += (v - mean) * (v - mean)
			}
			vr := sq / float64(c.dim)
			for i, v := range row {
				lnTol = max(lnTol, math.Abs(v/math.Sqrt(vr+1e-6)*float64(wv[i]))*0x1p-23)
				ln[r*c.dim+i] = (v-mean)/math.Sqrt(vr+1e-6)*float64(wv[i]) + float64(bv[i])
				rms[r*c.dim+i] = v / math.Sqrt(ms+1e-6) * float64(wv[i])
			}
		}
		closeTo(t, fmt.Sprintf("LayerNorm %v", c), read(t, be, dst), ln, lnTol)
		be.RMSNorm(dst, x, w, 1e-6)
		closeTo(t, fmt.Sprintf("RMSNorm %v", c), read(t, be, dst), rms, 1e-6)
		be.RMSNorm(x, x, w, 1e-6) // in place
		closeTo(t, fmt.Sprintf("RMSNorm in place %v", c), read(t, be, x), rms, 1e-6)
	}
}

func testGroupNorm(t *testing.T, be compute.Backend) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct{ n, c, h, w, groups int }{
		{1, 4, 3, 5, 2}, {2, 6, 4, 4, 3}, {1, 64, 8, 7, 32}, {2, 32, 1, 1, 16}, {1, 8, 5, 5, 1},
	} {
		xv := make([]float32, c.n*c.c*c.h*c.w)
		for i := range xv {
			xv[i] = float32(rng.NormFloat64()*2 - 1)
		}
		wv, bv := randVals(rng, c.c, 2), randVals(rng, c.c, 1)
		x := be.FromFloat32(xv, c.n, c.c, c.h, c.w)
		dst := be.New(compute.F32, x.Shape...)
		be.GroupNorm(dst, x, be.FromFloat32(wv, c.c), be.FromFloat32(bv, c.c), c.groups, 1e-6)
		want := make([]float64, len(xv))
		cg, plane := c.c/c.groups, c.h*c.w
		for ni := range c.n {
			for g := range c.groups {
				base := (ni*c.c + g*cg) * plane
				vals := f64s(xv[base : base+cg*plane])
				var mean, sq float64
				for _, v := range vals {
					mean += v
				}
				mean /= float64(len(vals))
				for _, v := range vals {
					sq += (v - mean) * (v - mean)
				}
				sd := math.Sqrt(sq/float64(len(vals)) + 1e-6)
				for i, v := range vals {
					ch := g*cg + i/plane
					want[base+i] = (v-mean)/sd*float64(wv[ch]) + float64(bv[ch])
				}
			}
		}
		closeTo(t, fmt.Sprintf("GroupNorm %+v", c), read(t, be, dst), want, 1e-5)
	}
}

func testRoPE(t *testing.T, be compute.Backend) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, c := range []struct{ b, t, heads, hd, pos0 int }{
		{1, 1, 1, 2, 0}, {1, 5, 2, 8, 0}, {2, 3, 3, 16, 7}, {1, 4, 2, 128, 600}, {1, 1, 4, 64, 2047},
	} {
		xv := randVals(rng, c.b*c.t*c.heads*c.hd, 2)
		x := be.FromFloat32(xv, c.b, c.t, c.heads*c.hd)
		be.RoPE(x, c.heads, c.hd, c.pos0, 10000)
		want := make([]float64, len(xv))
		half := c.hd / 2
		for r := range c.b * c.t {
			pos := float64(c.pos0 + r%c.t)
			for h := range c.heads {
				base := (r*c.heads + h) * c.hd
				for i := range half {
					ang := pos * math.Pow(10000, -float64(2*i)/float64(c.hd))
					a, b := float64(xv[base+i]), float64(xv[base+half+i])
					want[base+i] = a*math.Cos(ang) - b*math.Sin(ang)
					want[base+half+i] = b*math.Cos(ang) + a*math.Sin(ang)
				}
			}
		}
		// Angles up to 2047 rad are float32 products, as in torch: their rounding
		// (~1e-4 rad at 2047) dominates the tolerance.
		tol := 2e-7 * float64(c.pos0+c.t+4)
		closeTo(t, fmt.Sprintf("RoPE %+v", c), read(t, be, x), want, tol)
	}
}

func testAttention(t *testing.T, be compute.Backend) {
	rng := rand.New(rand.NewPCG(15, 16))
	cases := []struct {
		b, t, s, heads, kvHeads, hd, kvLen, qPos0 int
		causal                                    bool
	}{
		{1, 1, 1, 1, 1, 4, 1, 0, true},
		{1, 5, 5, 2, 2, 8, 5, 0, true},
		{2, 4, 9, 4, 2, 8, 6, 2, true},     // GQA, KVLen < S, QPos0 > 0
		{1, 1, 16, 4, 1, 16, 11, 10, true}, // decode step, one kv head
		{2, 6, 6, 3, 3, 10, 6, 0, false},   // bidirectional (ViT)
		{1, 7, 12, 2, 1, 5, 9, 0, false},   // non-causal with unused cache rows
		{1, 3, 40, 2, 2, 128, 37, 34, true},
		{1, 20, 20, 1, 1, 64, 20, 0, false},
		{1, 70, 80, 4, 2, 16, 75, 5, true}, // several query blocks, causal, GQA
		{2, 33, 40, 2, 2, 6, 35, 0, false},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			qv := randVals(rng, c.b*c.t*c.heads*c.hd, 2)
			kv := randVals(rng, c.b*c.s*c.kvHeads*c.hd, 2)
			vv := randVals(rng, c.b*c.s*c.kvHeads*c.hd, 2)
			q := be.FromFloat32(qv, c.b, c.t, c.heads*c.hd)
			k := be.FromFloat32(kv, c.b, c.s, c.kvHeads*c.hd)
			v := be.FromFloat32(vv, c.b, c.s, c.kvHeads*c.hd)
			dst := be.New(compute.F32, q.Shape...)
			scale := float32(1 / math.Sqrt(float64(c.hd)))
			be.Attention(dst, q, k, v, compute.AttentionParams{Heads: c.heads, KVHeads: c.kvHeads, HeadDim: c.hd,
				KVLen: c.kvLen, QPos0: c.qPos0, Causal: c.causal, Scale: scale})
			want := make([]float64, len(qv))
			qw, kw := c.heads*c.hd, c.kvHeads*c.hd
			for bi := range c.b {
				for h := range c.heads {
					kh := h / (c.heads / c.kvHeads)
					for ti := range c.t {
						n := c.kvLen
						if c.causal {
							n = c.qPos0 + ti + 1
						}
						sc := make([]float64, n)
						mx := math.Inf(-1)
						for j := range n {
							var s float64
							for i := range c.hd {
								s += float64(qv[(bi*c.t+ti)*qw+h*c.hd+i]) * float64(kv[(bi*c.s+j)*kw+kh*c.hd+i])
							}
							sc[j] = s * float64(scale)
							mx = max(mx, sc[j])
						}
						var sum float64
						for j := range sc {
							sc[j] = math.Exp(sc[j] - mx)
							sum += sc[j]
						}
						for i := range c.hd {
							var o float64
							for j := range n {
								o += sc[j] / sum * float64(vv[(bi*c.s+j)*kw+kh*c.hd+i])
							}
							want[(bi*c.t+ti)*qw+h*c.hd+i] = o
						}
					}
				}
			}
			closeTo(t, "Attention", read(t, be, dst), want, 3e-6)
		})
	}
}

func testCopyRows(t *testing.T, be compute.Backend) {
	rng := rand.New(rand.NewPCG(17, 18))
	// CopyRows: [2,3,4] rows 1..2 into [2,5,4] at 2.
	sv := randVals(rng, 2*3*4, 1)
	src := be.FromFloat32(sv, 2, 3, 4)
	dst := be.New(compute.F32, 2, 5, 4)
	be.CopyRows(dst, 2, src, 1, 2)
	got := read(t, be, dst)
	want := make([]float32, 2*5*4)
	for b := range 2 {
		for r := range 2 {
			copy(want[(b*5+2+r)*4:(b*5+3+r)*4], sv[(b*3+1+r)*4:(b*3+2+r)*4])
		}
	}
	exact(t, "CopyRows", got, want)
}

func testTranspose(t *testing.T, be compute.Backend) {
	rng := rand.New(rand.NewPCG(17, 19))
	for _, sh := range [][]int{{1, 1}, {3, 5}, {2, 33, 70}, {2, 2, 64, 31}} {
		xv := randVals(rng, prod(sh), 1)
		x := be.FromFloat32(xv, sh...)
		r, c := sh[len(sh)-2], sh[len(sh)-1]
		dsh := append(slices.Clone(sh[:len(sh)-2]), c, r)
		d := be.New(compute.F32, dsh...)
		be.Transpose(d, x)
		want := make([]float32, len(xv))
		for m := range len(xv) / (r * c) {
			for i := range r {
				for j := range c {
					want[m*r*c+j*r+i] = xv[m*r*c+i*c+j]
				}
			}
		}
		exact(t, fmt.Sprintf("Transpose %v", sh), read(t, be, d), want)
	}
}

func testUpsample(t *testing.T, be compute.Backend) {
	rng := rand.New(rand.NewPCG(17, 20))
	for _, sh := range [][]int{{1, 1, 1, 1}, {2, 3, 4, 5}, {1, 2, 7, 3}} {
		xv := randVals(rng, prod(sh), 1)
		x := be.FromFloat32(xv, sh...)
		n, c, h, w := sh[0], sh[1], sh[2], sh[3]
		d := be.New(compute.F32, n, c, 2*h, 2*w)
		be.Upsample2x(d, x)
		want := make([]float32, d.Len())
		for p := range n * c {
			for y := range 2 * h {
				for xx := range 2 * w {
					want[(p*2*h+y)*2*w+xx] = xv[(p*h+y/2)*w+xx/2]
				}
			}
		}
		exact(t, fmt.Sprintf("Upsample2x %v", sh), read(t, be, d), want)
	}
}

func testConv2D(t *testing.T, be compute.Backend) {
	rng := rand.New(rand.NewPCG(19, 20))
	cases := []struct {
		n, cin, h, w, cout, k, stride, pad int
		bias                               bool
	}{
		{1, 3, 5, 5, 2, 3, 1, 1, true},
		{2, 4, 7, 6, 5, 3, 1, 1, true},
		{1, 3, 9, 9, 4, 3, 2, 0, true},     // stride 2, pad 0 (downsample)
		{1, 5, 8, 8, 3, 3, 2, 1, false},    // stride 2, pad 1
		{2, 8, 6, 5, 7, 1, 1, 0, true},     // 1×1
		{1, 3, 32, 48, 8, 16, 16, 0, true}, // patch embedding
		{1, 16, 12, 12, 16, 3, 1, 1, true},
		{1, 2, 3, 3, 3, 3, 1, 0, true}, // output 1×1
		{1, 1, 4, 4, 1, 3, 1, 2, false},
		{1, 64, 9, 10, 6, 3, 1, 1, true}, // K = 576 spans two K blocks
		{2, 6, 7, 9, 6, 5, 1, 2, true},   // in place (as every case that keeps the shape)
		{1, 5, 4, 6, 5, 1, 1, 0, false},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			xv := randVals(rng, c.n*c.cin*c.h*c.w, 1)
			wv := randVals(rng, c.cout*c.cin*c.k*c.k, 1)
			bv := randVals(rng, c.cout, 1)
			x := be.FromFloat32(xv, c.n, c.cin, c.h, c.w)
			w := be.FromFloat32(wv, c.cout, c.cin, c.k, c.k)
			var b *compute.Tensor
			if c.bias {
				b = be.FromFloat32(bv, c.cout)
			}
			ho, wo := (c.h+2*c.pad-c.k)/c.stride+1, (c.w+2*c.pad-c.k)/c.stride+1
			dst := be.New(compute.F32, c.n, c.cout, ho, wo)
			be.Conv2D(dst, x, w, b, compute.Conv2DParams{Stride: c.stride, Pad: c.pad})
			want := make([]float64, dst.Len())
			for ni := range c.n {
				for co := range c.cout {
					for oy := range ho {
						for ox := range wo {
							var s float64
							if c.bias {
								s = float64(bv[co])
							}
							for ci := range c.cin {
								for ky := range c.k {
									for kx := range c.k {
										iy, ix := oy*c.stride-c.pad+ky, ox*c.stride-c.pad+kx
										if iy < 0 || iy >= c.h || ix < 0 || ix >= c.w {
											continue
										}
										s += float64(xv[((ni*c.cin+ci)*c.h+iy)*c.w+ix]) * float64(wv[((co*c.cin+ci)*c.k+ky)*c.k+kx])
									}
								}
							}
							want[((ni*c.cout+co)*ho+oy)*wo+ox] = s
						}
					}
				}
			}
			closeTo(t, "Conv2D", read(t, be, dst), want, 2e-6*math.Sqrt(float64(c.cin*c.k*c.k)))
			if c.stride == 1 && c.cout == c.cin && ho == c.h && wo == c.w {
				be.Conv2D(x, x, w, b, compute.Conv2DParams{Stride: 1, Pad: c.pad})
				exact(t, "Conv2D in place", read(t, be, x), read(t, be, dst))
			}
		})
	}
}

// linearRef is x[m,k]·w[n,k]ᵀ (+ bias) in float64.
func linearRef(xv []float32, wv []float64, bv []float32, m, k, n int) []float64 {
	want := make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s float64
			for l := range k {
				s += float64(xv[i*k+l]) * wv[j*k+l]
			}
			if bv != nil {
				s += float64(bv[j])
			}
			want[i*n+j] = s
		}
	}
	return want
}

// checkLinear runs one Linear of x shape (last dimension K) with n outputs and weights of dt.
func checkLinear(t *testing.T, be compute.Backend, rng *rand.Rand, shape []int, n int, dt compute.DType, hasBias bool) {
	t.Helper()
	k := shape[len(shape)-1]
	xv := randVals(rng, prod(shape), 1)
	x := be.FromFloat32(xv, shape...)
	m := x.Rows()
	w, wv := weightTensor(t, be, dt, randVals(rng, n*k, 1), n, k)
	var bias *compute.Tensor
	var bv []float32
	if hasBias {
		bv = randVals(rng, n, 1)
		bias = be.FromFloat32(bv, n)
	}
	dst := be.New(compute.F32, withShape(shape, n)...)
	be.Linear(dst, x, w, bias)
	closeTo(t, "Linear", read(t, be, dst), linearRef(xv, wv, bv, m, k, n), 2e-6*math.Sqrt(float64(k)))
	for _, tt := range []*compute.Tensor{x, w, bias, dst} {
		if tt != nil {
			be.Free(tt)
		}
	}
}

func testLinear(t *testing.T, be compute.Backend) {
	cases := []struct {
		shape   []int // x shape; the last dim is K
		n       int
		dt      compute.DType
		hasBias bool
	}{
		{[]int{1, 7}, 5, compute.F32, true},
		{[]int{1, 64}, 33, compute.BF16, false},
		{[]int{3, 64}, 33, compute.F16, true},
		{[]int{2, 3, 130}, 17, compute.F32, true},
		{[]int{5, 257}, 9, compute.BF16, true},
		{[]int{8, 96}, 40, compute.BF16, false},
		{[]int{9, 100}, 31, compute.F32, true},
		{[]int{37, 300}, 70, compute.F32, true},
		{[]int{67, 520}, 45, compute.BF16, true},
		{[]int{130, 40}, 129, compute.F16, false},
		{[]int{2, 4}, 1, compute.F32, true},
		{[]int{1, 1}, 3, compute.F16, true},
		{[]int{4, 1030}, 7, compute.F16, false}, // K spans several 512-long blocks
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range cases {
		t.Run(shapeName(c.shape, c.n, c.dt, c.hasBias), func(t *testing.T) {
			checkLinear(t, be, rng, c.shape, c.n, c.dt, c.hasBias)
		})
	}
}

// testLinearRandomShapes runs Linear on seeded random shapes, mostly odd, in every weight
// dtype, so that no tile, vector width or threadgroup size divides them all.
func testLinearRandomShapes(t *testing.T, be compute.Backend) {
	rng := rand.New(rand.NewPCG(31, 32))
	for i := range 6 {
		m, k, n := 1+rng.IntN(40), 1+rng.IntN(700), 1+rng.IntN(90)
		if i == 0 {
			m = 1 // the decode step's GEMV
		}
		for _, dt := range dtypes {
			t.Run(shapeName([]int{m, k}, n, dt), func(t *testing.T) {
				checkLinear(t, be, rng, []int{m, k}, n, dt, i%2 == 0)
			})
		}
	}
}

// testTwoDimensionalForms checks that [T, D] tensors act as one batch row of [1, T, D] in
// Attention, CopyRows and RoPE.
func testTwoDimensionalForms(t *testing.T, be compute.Backend) {
	rng := rand.New(rand.NewPCG(23, 24))
	qv, kv, vv := randVals(rng, 5*16, 1), randVals(rng, 7*8, 1), randVals(rng, 7*8, 1)
	p := compute.AttentionParams{Heads: 2, KVHeads: 1, HeadDim: 8, KVLen: 6, QPos0: 1, Causal: true, Scale: 0.3}
	d3, d2 := be.New(compute.F32, 1, 5, 16), be.New(compute.F32, 5, 16)
	be.Attention(d3, be.FromFloat32(qv, 1, 5, 16), be.FromFloat32(kv, 1, 7, 8), be.FromFloat32(vv, 1, 7, 8), p)
	be.Attention(d2, be.FromFloat32(qv, 5, 16), be.FromFloat32(kv, 7, 8), be.FromFloat32(vv, 7, 8), p)
	exact(t, "Attention [T, D]", read(t, be, d2), read(t, be, d3))

	c3, c2 := be.New(compute.F32, 1, 7, 8), be.New(compute.F32, 7, 8)
	be.CopyRows(c3, 2, be.FromFloat32(kv, 1, 7, 8), 3, 4)
	be.CopyRows(c2, 2, be.FromFloat32(kv, 7, 8), 3, 4)
	exact(t, "CopyRows [T, D]", read(t, be, c2), read(t, be, c3))

	r3, r2 := be.FromFloat32(qv, 1, 5, 16), be.FromFloat32(qv, 5, 16)
	be.RoPE(r3, 2, 8, 4, 10000)
	be.RoPE(r2, 2, 8, 4, 10000)
	exact(t, "RoPE [T, D]", read(t, be, r2), read(t, be, r3))
}

// testShapeMismatchPanics checks that a shape error panics with a message naming the op.
func testShapeMismatchPanics(t *testing.T, be compute.Backend) {
	x := be.New(compute.F32, 2, 8)
	cases := []struct {
		name, want string
		run        func()
	}{
		{"Linear K", "Linear", func() { be.Linear(be.New(compute.F32, 2, 3), x, be.New(compute.BF16, 3, 7), nil) }},
		{"Linear dst", "Linear", func() { be.Linear(be.New(compute.F32, 2, 4), x, be.New(compute.F32, 3, 8), nil) }},
		{"Add tiling", "Add", func() { be.Add(x, x, be.New(compute.F32, 3)) }},
		{"Reshape length", "Reshape", func() { be.Reshape(x, 3, 5) }},
		{"Embedding id", "Embedding", func() { be.Embedding(be.New(compute.F32, 1, 8), x, []int32{2}) }},
		{"RMSNorm w", "RMSNorm", func() { be.RMSNorm(x, x, be.New(compute.F32, 7), 1e-6) }},
		{"Attention heads", "Attention", func() {
			be.Attention(x, x, x, x, compute.AttentionParams{Heads: 3, KVHeads: 2, HeadDim: 8, KVLen: 1})
		}},
		{"Conv2D channels", "Conv2D", func() {
			be.Conv2D(be.New(compute.F32, 1, 1, 1, 1), be.New(compute.F32, 1, 2, 3, 3), be.New(compute.F32, 1, 3, 3, 3), nil, compute.Conv2DParams{Stride: 1})
		}},
		{"Write dtype", "Write", func() { be.Write(be.New(compute.BF16, 2), []float32{1, 2}) }},
		{"CopyRows rank", "CopyRows", func() { be.CopyRows(be.New(compute.F32, 4), 0, be.New(compute.F32, 4), 0, 1) }},
		{"CopyRows range", "CopyRows", func() { be.CopyRows(x, 1, x, 0, 2) }},
		{"Attention causal keys", "Attention", func() {
			be.Attention(x, x, x, x, compute.AttentionParams{Heads: 1, KVHeads: 1, HeadDim: 8, KVLen: 1, Causal: true})
		}},
		{"GroupNorm groups", "GroupNorm", func() {
			g := be.New(compute.F32, 1, 6, 2, 2)
			be.GroupNorm(g, g, be.New(compute.F32, 6), be.New(compute.F32, 6), 4, 1e-6)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("no panic")
				}
				if msg := fmt.Sprint(r); !strings.Contains(msg, c.want) {
					t.Errorf("panic %q does not name %s", msg, c.want)
				}
			}()
			c.run()
		})
	}
}
