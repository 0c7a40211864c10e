package vq

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
)

// viewTracker is an allocTracker that keeps its backend's views, so a decoder on it takes the
// planned scratch (allocTracker alone hides them, and the decoder pools).
type viewTracker struct {
	*allocTracker
	v compute.Viewer
}

func (a viewTracker) View(t *compute.Tensor, off int, shape ...int) *compute.Tensor {
	return a.v.View(t, off, shape...)
}

// TestScratchPlan: on a backend with views, a decode allocates only the planned arena, which
// is smaller than the pool, and gives the pooled decode's values bit for bit, image after
// image.
func TestScratchPlan(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, be compute.Backend) {
		v, ok := be.(compute.Viewer)
		if !ok {
			t.Skipf("backend %s has no views", be.Name())
		}
		for _, name := range []string{"gen-b", "gen-c", "gen-d"} {
			t.Run(name, func(t *testing.T) {
				tr := viewTracker{newAllocTracker(be), v}
				d := variant(t, tr, name)
				rng := rand.New(rand.NewPCG(3, 4))
				grids := make([][]int32, 3)
				for i := range grids {
					grids[i] = make([]int32, d.Params().Tokens())
					for k := range grids[i] {
						grids[i][k] = rng.Int32N(int32(d.Params().CodebookSize))
					}
				}
				planned := d.ScratchBytes()
				held := be.MemoryUsed()
				got, err := d.Decode(context.Background(), grids, nil)
				if err != nil {
					t.Fatal(err)
				}
				if tr.newBytes != planned || planned == 0 {
					t.Fatalf("decoding %d images allocated %d bytes, the plan %d", len(grids), tr.newBytes, planned)
				}
				if got := be.MemoryUsed(); got != held {
					t.Fatalf("the backend holds %d bytes after decoding, %d before", got, held)
				}
				pooled := *d
				pooled.b = newAllocTracker(be)
				want, err := pooled.Decode(context.Background(), grids, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Fatal("the planned scratch's images differ from the pooled scratch's")
				}
				if pb := pooled.ScratchBytes(); planned >= pb {
					t.Fatalf("planned arena %d bytes, pool %d", planned, pb)
				}
				t.Logf("%s: arena %d bytes, pool %d", name, planned, pooled.ScratchBytes())
			})
		}
	})
}

// TestScratchPlanSpans: no two tensors in use at the same time share memory, every span lies
// in the arena within one bin, and the released decoder's arena is its top level's two live
// buffers.
func TestScratchPlanSpans(t *testing.T) {
	sizer := &sizingBackend{}
	for _, p := range []Params{releasedParams(), {Ch: 32, ChMult: []int{1, 2, 4}, NumResBlocks: 1, ZChannels: 16,
		CodebookSize: 64, CodebookDim: 8, ImageSize: 64, Groups: 8, Eps: 1e-6}} {
		d, err := Load(sizer, sizingWeights{sizer}, p)
		if err != nil {
			t.Fatal(err)
		}
		lives := d.lifetimes()
		spans, total, bin := d.scratchPlan()
		if len(spans) != len(lives) || len(spans) == 0 {
			t.Fatalf("%d spans for %d tensors", len(spans), len(lives))
		}
		for k, sp := range spans {
			if sp.off < 0 || sp.off+sp.n > total || sp.off%spanAlign != 0 || sp.n != lives[k].n || sp.off/bin != (sp.off+sp.n-1)/bin {
				t.Fatalf("span %d %+v of an arena of %d elements in bins of %d, tensor of %d", k, sp, total, bin, lives[k].n)
			}
			for j := range k {
				o := spans[j]
				if lives[j].overlaps(lives[k]) && sp.off < o.off+o.n && o.off < sp.off+sp.n {
					t.Fatalf("tensors %d %+v and %d %+v are in use together and share memory", j, lives[j], k, lives[k])
				}
			}
		}
		top := p.Ch * p.ChMult[0] * p.ImageSize * p.ImageSize
		t.Logf("%+v: arena %d elements, %.2f top-level buffers", p, total, float64(total)/float64(top))
		if p.ImageSize == releasedParams().ImageSize && total > 2*aligned(top) {
			t.Fatalf("released decoder's arena %d elements, more than two top-level buffers of %d", total, top)
		}
	}
}

// releasedParams are the VQ-16 settings every released Janus model uses (LlamaGen's VQ_16()
// called without arguments).
func releasedParams() Params {
	return Params{
		Ch:           128,
		ChMult:       []int{1, 1, 2, 2, 4},
		NumResBlocks: 2,
		ZChannels:    256,
		CodebookSize: 16384,
		CodebookDim:  8,
		L2Norm:       true,
		ImageSize:    384,
		Groups:       32,
		Eps:          1e-6,
	}
}
