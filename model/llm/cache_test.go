package llm

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
	"github.com/janus-desktop/janus/internal/ctxtest"
	"github.com/janus-desktop/janus/internal/fixtures"
	_ "github.com/janus-desktop/janus/internal/testbackends"
)

func bytesOf(ts ...*compute.Tensor) int64 {
	var n int64
	for _, t := range ts {
		n += int64(t.DType.Bytes(t.Len()))
	}
	return n
}

// TestCacheBytes checks the memory estimates against what NewCache and Forward allocate.
func TestCacheBytes(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, be compute.Backend) {
		defer be.Close()
		tests := []struct {
			name           string
			heads, kvHeads int
			rows, capacity int
			t              int
			dt             compute.DType
		}{
			{"one row", 4, 4, 1, 10, 3, compute.F32},
			{"GQA, CFG rows", 6, 2, 4, 7, 1, compute.F32},
			{"capacity beyond max positions", 4, 2, 2, 1000, 2, compute.F32},
			{"F16 cache, GQA, CFG rows", 6, 2, 4, 7, 1, compute.F16},
			{"F16 cache beyond max positions", 4, 2, 2, 1000, 2, compute.F16},
			{"Q8 cache, CFG rows", 8, 8, 4, 7, 1, compute.Q8},
			{"Q8 cache beyond max positions", 8, 8, 2, 1000, 2, compute.Q8},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				cfg := smallConfig(tt.heads, tt.kvHeads)
				m, err := Load(be, &memWeights{be: be, tensors: randomWeights(cfg, 1), matrixDT: compute.F32}, cfg, true)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Free()
				if tt.dt == compute.Q8 && CheckQ8Cache(be, cfg) != nil {
					t.Skip(CheckQ8Cache(be, cfg))
				}
				m.KVDType = tt.dt
				c, err := m.NewCache(tt.rows, tt.capacity)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Free()
				got := append(append([]*compute.Tensor(nil), c.K...), c.V...)
				if got[0].DType != tt.dt {
					t.Errorf("cache of %v, want %v", got[0].DType, tt.dt)
				}
				if want := bytesOf(got...); m.CacheBytes(tt.rows, tt.capacity) != want || CacheBytes(cfg, tt.dt, tt.rows, tt.capacity) != want {
					t.Errorf("CacheBytes = %d, NewCache allocated %d", m.CacheBytes(tt.rows, tt.capacity), want)
				}
				x := be.New(compute.F32, tt.rows, tt.t, cfg.Hidden)
				defer be.Free(x)
				h, err := m.Forward(x, c)
				if err != nil {
					t.Fatal(err)
				}
				defer be.Free(h)
				if want := bytesOf(append(c.scratch.tensors(), h)...); ScratchBytes(cfg, tt.rows, tt.t) != want {
					t.Errorf("ScratchBytes = %d, Forward used %d", ScratchBytes(cfg, tt.rows, tt.t), want)
				}
			})
		}
	})
}

// TestScratchReuse feeds a sequence in chunks of changing lengths through one cache, whose
// scratch is reused for equal lengths and replaced otherwise, and compares every position's
// logits with one prefill of the whole sequence on a fresh cache, with F32, F16 and Q8 caches.
func TestScratchReuse(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 2}, func(t *testing.T, be compute.Backend) {
		defer be.Close()
		cfg := smallConfig(16, 8) // grouped heads, and rows of whole Q8 blocks
		m, err := Load(be, &memWeights{be: be, tensors: randomWeights(cfg, 7), matrixDT: compute.BF16}, cfg, true)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Free()
		// Every cache dtype; the F16 and Q8 ones also copy their rows each time the cache grows.
		for _, dt := range []compute.DType{compute.F32, compute.F16, compute.Q8} {
			if dt == compute.Q8 && CheckQ8Cache(be, cfg) != nil {
				t.Log(CheckQ8Cache(be, cfg))
				continue
			}
			m.KVDType = dt
			const rows = 2
			chunks := []int{5, 5, 1, 1, 3, 1}
			total := 0
			for _, n := range chunks {
				total += n
			}
			ids := randomIDs(rows*total, cfg.Vocab, 4)
			logits := func(c *Cache, from, n int) []float32 {
				var part []int32
				for r := range rows {
					part = append(part, ids[r*total+from:r*total+from+n]...)
				}
				x, err := m.Embed(part, rows)
				if err != nil {
					t.Fatal(err)
				}
				defer be.Free(x)
				h, err := m.Forward(x, c)
				if err != nil {
					t.Fatal(err)
				}
				defer be.Free(h)
				lt := m.Logits(h)
				defer be.Free(lt)
				out := make([]float32, lt.Len())
				if err := be.Read(lt, out); err != nil {
					t.Fatal(err)
				}
				return out
			}
			whole, err := m.NewCache(rows, total)
			if err != nil {
				t.Fatal(err)
			}
			want := logits(whole, 0, total)
			whole.Free()

			c, err := m.NewCache(rows, 2)
			if err != nil {
				t.Fatal(err)
			}
			at := 0
			var prev *compute.Tensor
			for i, n := range chunks {
				got := logits(c, at, n)
				for r := range rows {
					g := got[r*n*cfg.Vocab : (r+1)*n*cfg.Vocab]
					w := want[(r*total+at)*cfg.Vocab : (r*total+at+n)*cfg.Vocab]
					if ok, diff, bound := fixtures.Close(g, w, 1e-5); !ok {
						t.Errorf("chunk %d (%d positions) row %d: max |diff| %.3g > %.3g", i, n, r, diff, bound)
					}
				}
				if reused := c.scratch.res == prev; reused != (i > 0 && chunks[i-1] == n) {
					t.Errorf("chunk %d of %d positions after %v: scratch reused %v", i, n, chunks[:i], reused)
				}
				prev = c.scratch.res
				at += n
			}
			c.Free()
			for _, s := range c.scratch.tensors() {
				if s != nil {
					t.Fatal("Free left scratch tensors")
				}
			}
			if prev.Buf != nil {
				t.Error("Free did not release the scratch buffers")
			}
		}
	})
}

// TestCacheDType: the BF16 precision keeps the cache in F16, every other value in F32.
func TestCacheDType(t *testing.T) {
	for _, c := range []struct {
		precision string
		want      compute.DType
	}{
		{"", compute.F32},
		{compute.PrecisionExact, compute.F32},
		{compute.PrecisionBF16, compute.F16},
	} {
		if got := CacheDType(c.precision); got != c.want {
			t.Errorf("CacheDType(%q) = %v, want %v", c.precision, got, c.want)
		}
	}
}

// TestForwardStopsBetweenLayers: a forward whose context ends partway stops before the next
// layer with the context's error and leaves the cache's length as it was, and the forward
// of the same positions after it gives the bits of one never stopped.
func TestForwardStopsBetweenLayers(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 2}, func(t *testing.T, be compute.Backend) {
		defer be.Close()
		cfg := smallConfig(4, 2)
		m, err := Load(be, &memWeights{be: be, tensors: randomWeights(cfg, 11), matrixDT: compute.F32}, cfg, true)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Free()
		if len(m.Layers) < 2 {
			t.Fatalf("%d layers: the stop must fall between two", len(m.Layers))
		}
		ids := randomIDs(8, cfg.Vocab, 5)
		// run feeds ids[from:to] through c, stopped after stop layers when stop >= 0.
		run := func(c *Cache, from, to, stop int) ([]float32, error) {
			x, err := m.Embed(ids[from:to], 1)
			if err != nil {
				t.Fatal(err)
			}
			defer be.Free(x)
			ctx := context.Context(context.Background())
			if stop >= 0 {
				ctx = ctxtest.StopAfter(stop)
			}
			if err := m.ForwardInto(ctx, x, x, c); err != nil {
				return nil, err
			}
			out := make([]float32, x.Len())
			if err := be.Read(x, out); err != nil {
				t.Fatal(err)
			}
			return out, nil
		}
		whole, err := m.NewCache(1, 8)
		if err != nil {
			t.Fatal(err)
		}
		defer whole.Free()
		if _, err := run(whole, 0, 5, -1); err != nil {
			t.Fatal(err)
		}
		want, err := run(whole, 5, 8, -1)
		if err != nil {
			t.Fatal(err)
		}

		c, err := m.NewCache(1, 8)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Free()
		if _, err := run(c, 0, 5, -1); err != nil {
			t.Fatal(err)
		}
		if _, err := run(c, 5, 8, 1); !errors.Is(err, context.Canceled) {
			t.Fatalf("a forward stopped after its first layer returned %v, want context.Canceled", err)
		}
		if c.Len() != 5 {
			t.Fatalf("the stopped forward left the cache at %d positions, want 5", c.Len())
		}
		got, err := run(c, 5, 8, -1)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("after a stopped forward, value %d is %g, never stopped %g", i, got[i], want[i])
			}
		}
	})
}
