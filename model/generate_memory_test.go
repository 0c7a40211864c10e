package model

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
	"github.com/janus-desktop/janus/internal/bytesize"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/vq"
)

// TestEstimateGenerationMemory checks the KV cache figure against its formula on the
// released configurations and pins the Janus-Pro-7B numbers that motivated the limit.
func TestEstimateGenerationMemory(t *testing.T) {
	tests := []struct {
		model            string
		images, prompt   int
		kvMin, kvMax     float64 // GB
		scratchMaxShareK float64 // scratch at most this share of the KV cache
	}{
		{"janus-pro-7b", 16, 30, 18.5, 19.5, 0.1},
		{"janus-pro-7b", 1, 30, 1.1, 1.3, 0.8},
		{"janus-pro-1b", 4, 30, 1.8, 2.0, 0.5},
		{"janus-1.3b", 16, 30, 7.0, 7.8, 0.2},
	}
	for _, tt := range tests {
		cfg, err := config.Load(fixtures.Path(t, "real-configs", tt.model))
		if err != nil {
			t.Fatal(err)
		}
		// The bounds are the float32 cache's; the F16 cache (BF16 precision) is half of it.
		for _, kv := range []compute.DType{compute.F32, compute.F16} {
			shrink := float64(4 / kv.Size())
			est, err := EstimateGenerationMemory(cfg, kv, tt.images, tt.prompt)
			if err != nil {
				t.Fatal(err)
			}
			positions := tt.prompt + cfg.VQ.ImageTokens - 1
			want := int64(2*tt.images) * int64(positions) * int64(cfg.LLM.Layers) * 2 * int64(cfg.LLM.KVHeads*cfg.LLM.HeadDim) * int64(kv.Size())
			if est.KVCache != want || est.Rows != 2*tt.images || est.Positions != positions {
				t.Errorf("%s × %d, %v cache: %+v, want a KV cache of %d bytes for %d rows × %d positions", tt.model, tt.images, kv, est, want, 2*tt.images, positions)
			}
			if gb := float64(est.KVCache) / 1e9; gb < tt.kvMin/shrink || gb > tt.kvMax/shrink {
				t.Errorf("%s × %d, %v cache: KV cache %.2f GB, want %.2f–%.2f", tt.model, tt.images, kv, gb, tt.kvMin/shrink, tt.kvMax/shrink)
			}
			dec, err := vq.ScratchBytesFor(vq.ParamsFromConfig(cfg.VQ))
			if err != nil {
				t.Fatal(err)
			}
			if est.Scratch <= dec || float64(est.Scratch) > shrink*tt.scratchMaxShareK*float64(est.KVCache) {
				t.Errorf("%s × %d, %v cache: scratch %s (decoder %s), KV cache %s", tt.model, tt.images, kv,
					bytesize.Format(est.Scratch), bytesize.Format(dec), bytesize.Format(est.KVCache))
			}
			t.Logf("%s × %d images, %v cache: KV cache %s, scratch %s", tt.model, tt.images, kv, bytesize.Format(est.KVCache), bytesize.Format(est.Scratch))
		}
	}
	cfg, err := config.Load(fixtures.Path(t, "real-configs", "janus-pro-7b"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EstimateGenerationMemory(cfg, compute.F32, 0, 30); err == nil {
		t.Error("estimate for 0 images succeeded")
	}
}

// TestGenerateMemoryLimit: a generation over MaxMemoryBytes fails before allocating, with an
// error naming the numbers and how many images would fit; one at the limit runs.
func TestGenerateMemoryLimit(t *testing.T) {
	c := genVariant(t, "gen-b")
	cond, _, err := c.m.Prompt.GenerationIDs(c.prompt)
	if err != nil {
		t.Fatal(err)
	}
	est2, err := c.m.EstimateGenerationMemory(2, len(cond))
	if err != nil {
		t.Fatal(err)
	}
	est1, err := c.m.EstimateGenerationMemory(1, len(cond))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		limit int64
		fits  int // -1: runs
		want  []string
	}{
		{"at the limit", est2.Total(), -1, nil},
		{"no check", -1, -1, nil},
		{"one byte short", est2.Total() - 1, 1, []string{"2 images", bytesize.Format(est2.KVCache), LimitGiven, "at most 1"}},
		{"not even one", est1.Total() - 1, 0, []string{"not even one image fits", bytesize.Format(est1.Total() - 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := DefaultImageOptions()
			opts.N, opts.Temperature, opts.MaxMemoryBytes = 2, 0, tt.limit
			_, err := c.m.GenerateImages(context.Background(), c.prompt, opts, nil)
			if tt.fits < 0 {
				if err != nil {
					t.Fatalf("GenerateImages = %v", err)
				}
				return
			}
			var me *MemoryError
			if !errors.As(err, &me) || !errors.Is(err, ErrNotEnoughMemory) || me.Fits != tt.fits || me.Estimate != est2 {
				t.Fatalf("GenerateImages = %v, want a MemoryError for %+v fitting %d", err, est2, tt.fits)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestDefaultMemoryLimit: without MaxMemoryBytes the limit is a share of this machine's
// memory less what the backend holds.
func TestDefaultMemoryLimit(t *testing.T) {
	total := physicalMemory()
	const held = 3 << 20
	limit, source, ok := memoryLimit(0, held, 0)
	if total <= 0 {
		if ok {
			t.Fatalf("a limit of %d (%s) without knowing the memory size", limit, source)
		}
		t.Skip("physical memory is unknown on this system")
	}
	if !ok || limit <= 0 || limit >= total || !strings.Contains(source, bytesize.Format(total)) || !strings.Contains(source, bytesize.Format(held)) {
		t.Fatalf("default limit %d (%s, %v) for %d bytes of memory", limit, source, ok, total)
	}
	if empty, _, _ := memoryLimit(0, 0, 0); empty-limit != held {
		t.Fatalf("limit with nothing held %d, with %d bytes held %d: the difference is not what is held", empty, held, limit)
	}
	if _, _, ok := memoryLimit(-1, held, 0); ok {
		t.Fatal("a negative MaxMemoryBytes still set a limit")
	}
	if l, s, ok := memoryLimit(12345, held, 0); !ok || l != 12345 || s != LimitGiven {
		t.Fatalf("memoryLimit(12345) = %d, %q, %v", l, s, ok)
	}
}

// liveTracker is a backend that counts the buffers it handed out and has not freed, following
// views made with Reshape back to their buffer.
type liveTracker struct {
	compute.Backend
	live map[*compute.Tensor]bool
	view map[*compute.Tensor]*compute.Tensor
}

func newLiveTracker(b compute.Backend) *liveTracker {
	return &liveTracker{Backend: b, live: map[*compute.Tensor]bool{}, view: map[*compute.Tensor]*compute.Tensor{}}
}

func (l *liveTracker) add(t *compute.Tensor) *compute.Tensor {
	l.live[t] = true
	return t
}

func (l *liveTracker) New(dt compute.DType, shape ...int) *compute.Tensor {
	return l.add(l.Backend.New(dt, shape...))
}

func (l *liveTracker) FromBytes(dt compute.DType, shape []int, src compute.DType, raw []byte) (*compute.Tensor, error) {
	t, err := l.Backend.FromBytes(dt, shape, src, raw)
	if err == nil {
		l.add(t)
	}
	return t, err
}

func (l *liveTracker) FromFloat32(data []float32, shape ...int) *compute.Tensor {
	return l.add(l.Backend.FromFloat32(data, shape...))
}

func (l *liveTracker) Reshape(t *compute.Tensor, shape ...int) *compute.Tensor {
	v := l.Backend.Reshape(t, shape...)
	l.view[v] = t
	return v
}

func (l *liveTracker) Free(t *compute.Tensor) {
	for l.view[t] != nil {
		t = l.view[t]
	}
	delete(l.live, t)
	l.Backend.Free(t)
}

// TestGenerateFreesOnFailure: a generation that fails between two steps (here a preview
// decode stopped by a cancel, or the memory check) leaves no tensor behind.
func TestGenerateFreesOnFailure(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 1}, generateFreesOnFailure)
}

func generateFreesOnFailure(t *testing.T, be compute.Backend) {
	c := genVariant(t, "gen-b")
	tr := newLiveTracker(be)
	m, err := Load(c.dir, Options{Backend: tr})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	held := len(tr.live)
	cond, uncond, err := m.Prompt.GenerationIDs(c.prompt)
	if err != nil {
		t.Fatal(err)
	}
	grid := m.Config.VQ.Grid
	tests := []struct {
		name string
		mod  func(g *imageRun, cancel func())
		want error
	}{
		{"preview cancelled", func(g *imageRun, cancel func()) {
			g.opts.PreviewEvery = 1
			g.progress = func(ImageProgress) {}
			// cancel after sampling the last token of row 2: the next input is embedded, then
			// the preview decode sees the cancel
			g.observe = func(step int, _, _ []float32) {
				if step == 2*grid-1 {
					cancel()
				}
			}
		}, context.Canceled},
		{"cancelled between steps", func(g *imageRun, cancel func()) {
			g.observe = func(step int, _, _ []float32) {
				if step == 3 {
					cancel()
				}
			}
		}, context.Canceled},
		{"memory", func(g *imageRun, _ func()) { g.opts.MaxMemoryBytes = 1 }, ErrNotEnoughMemory},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			g := &imageRun{m: m, opts: GenerateImageOptions{N: 2, CFG: 5}, cond: cond, uncond: uncond}
			tt.mod(g, cancel)
			if _, err := g.run(ctx); !errors.Is(err, tt.want) {
				t.Fatalf("run = %v, want %v", err, tt.want)
			}
			if n := len(tr.live) - held; n != 0 {
				t.Fatalf("%d tensors left allocated", n)
			}
		})
	}
}

// TestMemoryErrorWording: the message counts images in proper English and names no Go
// identifier the user cannot set.
func TestMemoryErrorWording(t *testing.T) {
	for _, tc := range []struct {
		images, fits int
		want, not    []string
	}{
		{1, 0, []string{"generating 1 image needs about", "not even one image fits", "(the limit given)"}, []string{"1 images", "together"}},
		{2, 1, []string{"generating 2 images together needs about", "generate at most 1 at once"}, nil},
		{16, 3, []string{"generating 16 images together"}, nil},
	} {
		e := &MemoryError{Estimate: MemoryEstimate{Images: tc.images, Rows: 2 * tc.images, Positions: 600, KVCache: 3e9, Scratch: 1e8},
			Limit: 2e9, Source: LimitGiven, Fits: tc.fits}
		msg := e.Error()
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%d images: %q does not hold %q", tc.images, msg, w)
			}
		}
		for _, w := range append(tc.not, "MaxMemoryBytes") {
			if strings.Contains(msg, w) {
				t.Errorf("%d images: %q holds %q", tc.images, msg, w)
			}
		}
	}
}

// heldReporter is a backend that reports holding a fixed number of bytes.
type heldReporter struct {
	compute.Backend
	held int64
}

func (h *heldReporter) MemoryUsed() int64 { return h.held }

// TestMemoryCheckAsksTheBackend: the default limit subtracts what the model's backend says it
// holds (not the Go heap): a backend holding all of physical memory leaves no room, one
// holding nothing leaves the generation to run.
func TestMemoryCheckAsksTheBackend(t *testing.T) {
	total := physicalMemory()
	if total <= 0 {
		t.Skip("physical memory is unknown on this system")
	}
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, be compute.Backend) {
		hr := &heldReporter{Backend: be}
		c := genVariantOn(t, "gen-b", hr)
		opts := DefaultImageOptions()
		opts.Temperature = 0
		hr.held = total
		_, err := c.m.GenerateImages(context.Background(), c.prompt, opts, nil)
		var me *MemoryError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), bytesize.Format(total)+" the backend holds") {
			t.Fatalf("GenerateImages with the backend holding all memory = %v, want a MemoryError naming what it holds", err)
		}
		hr.held = 0
		if _, err := c.m.GenerateImages(context.Background(), c.prompt, opts, nil); err != nil {
			t.Fatalf("GenerateImages with the backend holding nothing = %v", err)
		}
	})
}

// TestModelEstimate: a loaded model's estimate counts its VQ decoder's scratch on its own
// backend (the plan, on a backend with views), and is otherwise the package estimate; a model
// without its generation parts has none.
func TestModelEstimate(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, be compute.Backend) {
		c := genVariantOn(t, "gen-b", be)
		pkg, err := EstimateGenerationMemory(c.m.Config, c.m.LLM.KVDType, 2, 30)
		if err != nil {
			t.Fatal(err)
		}
		own, err := c.m.EstimateGenerationMemory(2, 30)
		if err != nil {
			t.Fatal(err)
		}
		pool, err := vq.ScratchBytesFor(vq.ParamsFromConfig(c.m.Config.VQ))
		if err != nil {
			t.Fatal(err)
		}
		if own.KVCache != pkg.KVCache || own.Scratch != pkg.Scratch-pool+c.m.VQ.ScratchBytes() {
			t.Fatalf("the model's estimate %+v, the package's %+v with a decoder scratch of %d for the pool's %d", own, pkg, c.m.VQ.ScratchBytes(), pool)
		}
		if _, views := be.(compute.Viewer); views && own.Scratch >= pkg.Scratch {
			t.Fatalf("on %s, whose decoder plans its scratch, the model's estimate %d is not below the package's %d", be.Name(), own.Scratch, pkg.Scratch)
		}
	})
	if _, err := (&Model{}).EstimateGenerationMemory(1, 30); err == nil {
		t.Fatal("a model without its generation parts gave an estimate")
	}
}

// budgeted is a backend with a device budget (compute.MemoryBudget), as Metal's GPU has.
type budgeted struct {
	compute.Backend
	budget int64
}

func (b *budgeted) MemoryBudget() int64 { return b.budget }

// TestDeviceBudget: weights over a device's budget are refused at load, with the way out;
// a generation's limit is the budget less what the backend holds when that is the smaller.
func TestDeviceBudget(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	need := WeightsBytes(cfg, WeightsStored)
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, be compute.Backend) {
		_, err := Load(dir, Options{Backend: &budgeted{Backend: be, budget: need / 2}})
		if !errors.Is(err, ErrNotEnoughMemory) || !strings.Contains(err.Error(), "working set") || !strings.Contains(err.Error(), "q8") {
			t.Fatalf("Load over the device budget = %v, want ErrNotEnoughMemory naming the working set and smaller weights", err)
		}
		if used := be.MemoryUsed(); used != 0 {
			t.Errorf("the refused load left %d bytes on the backend", used)
		}
		m, err := Load(dir, Options{Backend: &budgeted{Backend: be, budget: 2 * need}})
		if err != nil {
			t.Fatalf("Load within the device budget: %v", err)
		}
		m.Close()
	})

	const held = 1 << 20
	limit, source, ok := memoryLimit(0, held, 3<<20)
	if !ok || limit != 2<<20 || !strings.Contains(source, "working set") {
		t.Errorf("memoryLimit with a small budget = %d, %q, %v; want the budget less what is held", limit, source, ok)
	}
	if total := physicalMemory(); total > 0 {
		withBudget, _, _ := memoryLimit(0, held, 10*total)
		without, _, _ := memoryLimit(0, held, 0)
		if withBudget != without {
			t.Errorf("a budget above the machine's memory changed the limit: %d, want %d", withBudget, without)
		}
	}
	if l, s, _ := memoryLimit(12345, held, 3<<20); l != 12345 || s != LimitGiven {
		t.Errorf("a given limit lost to the budget: %d, %q", l, s)
	}
}
