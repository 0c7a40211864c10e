package vq

import (
	"context"
	"errors"
	"fmt"
	"image"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
	"github.com/janus-desktop/janus/internal/fixtures"
	_ "github.com/janus-desktop/janus/internal/testbackends"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/imageproc"
	"github.com/janus-desktop/janus/model/vq/formulaweights"
	"github.com/janus-desktop/janus/model/weights"
	"github.com/janus-desktop/janus/model/weights/weightstest"
)

func TestParamsValidate(t *testing.T) {
	ok := releasedParams()
	tests := []struct {
		name   string
		modify func(p *Params)
		want   string // substring of the error; "" = valid
	}{
		{"released", func(p *Params) {}, ""},
		{"one level", func(p *Params) { p.ChMult = []int{2}; p.ImageSize = 8 }, ""},
		{"no extra res blocks", func(p *Params) { p.NumResBlocks = 0 }, ""},
		{"zero ch", func(p *Params) { p.Ch = 0 }, "ch 0"},
		{"empty ch_mult", func(p *Params) { p.ChMult = nil }, "ch_mult is empty"},
		{"negative multiplier", func(p *Params) { p.ChMult = []int{1, -1} }, "ch_mult[1]"},
		{"channels not a multiple of groups", func(p *Params) { p.Ch = 48 }, "not a multiple of the 32 GroupNorm groups"},
		{"negative res blocks", func(p *Params) { p.NumResBlocks = -1 }, "num_res_blocks"},
		{"zero z", func(p *Params) { p.ZChannels = 0 }, "z_channels"},
		{"empty codebook", func(p *Params) { p.CodebookSize = 0 }, "codebook"},
		{"image not divisible", func(p *Params) { p.ImageSize = 100 }, "not a multiple of the downsample factor 16"},
		{"zero groups", func(p *Params) { p.Groups = 0 }, "groups"},
		{"zero eps", func(p *Params) { p.Eps = 0 }, "eps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			p.ChMult = append([]int(nil), ok.ChMult...)
			tt.modify(&p)
			err := p.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestPlanReleased checks the derived block structure against the released decoder listed in
// spec §3.4 and Appendix A.
func TestPlanReleased(t *testing.T) {
	p := releasedParams()
	if p.Grid() != 24 || p.Tokens() != 576 || p.midChannels() != 512 {
		t.Fatalf("grid %d tokens %d mid %d, want 24, 576, 512", p.Grid(), p.Tokens(), p.midChannels())
	}
	want := []blockPlan{
		{index: 0, in: 512, out: 512, side: 24, attn: true, upsample: true},
		{index: 1, in: 512, out: 256, side: 48, upsample: true},
		{index: 2, in: 256, out: 256, side: 96, upsample: true},
		{index: 3, in: 256, out: 128, side: 192, upsample: true},
		{index: 4, in: 128, out: 128, side: 384},
	}
	if got := p.plan(); !reflect.DeepEqual(got, want) {
		t.Fatalf("plan:\n got %+v\nwant %+v", got, want)
	}
}

// TestParamsFromReleasedConfigs: the reconstructed released configs resolve to releasedParams.
func TestParamsFromReleasedConfigs(t *testing.T) {
	for _, name := range []string{"janus-1.3b", "janus-pro-1b", "janus-pro-7b"} {
		t.Run(name, func(t *testing.T) {
			cfg, err := config.Load(fixtures.Path(t, "real-configs", name))
			if err != nil {
				t.Fatal(err)
			}
			if got := ParamsFromConfig(cfg.VQ); !reflect.DeepEqual(got, releasedParams()) {
				t.Fatalf("params %+v, want %+v", got, releasedParams())
			}
		})
	}
}

type goldenFile struct {
	File  string `json:"file"`
	Shape []int  `json:"shape"`
}

// loadDir loads the VQ decoder of a model folder the way model.Load does.
func loadDir(t testing.TB, b compute.Backend, dir string) *Decoder {
	t.Helper()
	cfg, ck := weightstest.OpenModel(t, dir)
	d, err := Load(b, weights.NewLoader(ck, b), ParamsFromConfig(cfg.VQ))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// tinyA loads the VQ decoder of the shared tiny-a model.
func tinyA(t testing.TB, b compute.Backend) (*Decoder, string) {
	t.Helper()
	return loadDir(t, b, fixtures.Path(t, "models", "tiny-a")), fixtures.Path(t, "golden", "tiny-a")
}

// variant loads one of the generated decoders of testdata into a temporary model folder.
func variant(t testing.TB, b compute.Backend, name string) *Decoder {
	t.Helper()
	dir := t.TempDir()
	if err := formulaweights.WriteModel(dir, filepath.Join("testdata", name)); err != nil {
		t.Fatal(err)
	}
	return loadDir(t, b, dir)
}

func TestDecodeGoldenTinyA(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 0}, func(t *testing.T, b compute.Backend) {
		d, dir := tinyA(t, b)
		var g struct {
			Generation struct {
				ImageTokens [][]int32 `json:"image_tokens"`
				PNG         []string  `json:"png"`
			} `json:"generation"`
			VQGrid struct {
				Tokens [][]int32 `json:"tokens"`
				PNG    string    `json:"png"`
			} `json:"vq_grid"`
		}
		fixtures.JSON(t, filepath.Join(dir, "golden.json"), &g)
		tests := []struct {
			name, bin, png string
			tokens         [][]int32
		}{
			{"vq_grid", "vq_grid_decoded.bin", g.VQGrid.PNG, g.VQGrid.Tokens},
			{"generation", "gen_decoded.bin", g.Generation.PNG[0], g.Generation.ImageTokens},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := d.Decode(context.Background(), tt.tokens, nil)
				if err != nil {
					t.Fatal(err)
				}
				want := fixtures.Float32s(t, filepath.Join(dir, tt.bin))
				ok, diff, bound := fixtures.Close(got, want, 1e-4)
				t.Logf("max |diff| %.3g (bound %.3g)", diff, bound)
				if !ok {
					t.Fatalf("decoded image differs from %s: max |diff| %g > %g", tt.bin, diff, bound)
				}
				s := d.Params().ImageSize
				img, err := imageproc.Postprocess(got[:3*s*s], s, s)
				if err != nil {
					t.Fatal(err)
				}
				fixtures.ComparePNG(t, img, filepath.Join(dir, tt.png))
			})
		}
	})
}

// TestDecodeVariants decodes with the generated decoders of other shapes in testdata (one and
// three levels, other res block counts, codebooks with and without l2 normalisation).
func TestDecodeVariants(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "gen-*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixtures in testdata: %v", err)
	}
	computetest.Each(t, compute.Options{Threads: 0}, func(t *testing.T, b compute.Backend) {
		for _, dir := range dirs {
			t.Run(filepath.Base(dir), func(t *testing.T) {
				d := variant(t, b, filepath.Base(dir))
				var g struct {
					Tokens [][]int32             `json:"tokens"`
					Files  map[string]goldenFile `json:"files"`
					U8Sum  []int                 `json:"image_u8_sum"`
				}
				fixtures.JSON(t, filepath.Join(dir, "golden.json"), &g)
				got, err := d.Decode(context.Background(), g.Tokens, nil)
				if err != nil {
					t.Fatal(err)
				}
				want := fixtures.Float32s(t, filepath.Join(dir, g.Files["vq_grid_decoded"].File))
				ok, diff, bound := fixtures.Close(got, want, 1e-4)
				t.Logf("%+v: max |diff| %.3g (bound %.3g)", d.Params(), diff, bound)
				if !ok {
					t.Fatalf("decoded images differ: max |diff| %g > %g", diff, bound)
				}
				imgs, err := d.DecodeToImages(context.Background(), g.Tokens, nil)
				if err != nil {
					t.Fatal(err)
				}
				for i, img := range imgs {
					sum := 0
					for j, v := range img.Pix {
						if j%4 != 3 {
							sum += int(v)
						}
					}
					// a few values may sit on the other side of a truncation boundary
					if d := sum - g.U8Sum[i]; d < -8 || d > 8 {
						t.Errorf("image %d: sum of the 8-bit values %d, reference %d", i, sum, g.U8Sum[i])
					}
				}
			})
		}
	})
}

func TestDecodeBadGrids(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, b compute.Backend) {
		d := variant(t, b, "gen-b")
		n := d.Params().Tokens()
		good := make([]int32, n)
		tests := []struct {
			name  string
			grids [][]int32
			want  string
		}{
			{"short", [][]int32{good[:n-1]}, "has 63 tokens, want 64"},
			{"long second", [][]int32{good, append(good[:n:n], 0)}, "grid 1 has 65 tokens"},
			{"negative id", [][]int32{append([]int32{-1}, good[1:]...)}, "token 0 is -1, outside the codebook [0,64)"},
			{"id too large", [][]int32{append(append([]int32(nil), good[:5]...), append([]int32{64}, good[6:]...)...)}, "token 5 is 64"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := d.Decode(context.Background(), tt.grids, nil)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Decode = %v, want an error containing %q", err, tt.want)
				}
			})
		}
		if out, err := d.Decode(context.Background(), nil, nil); err != nil || len(out) != 0 {
			t.Fatalf("Decode of no grids = %d values, %v; want none and no error", len(out), err)
		}
	})
}

// missingWeights hides one tensor or reports a wrong shape for it.
type missingWeights struct {
	weights.Source
	name  string
	shape []int
}

func (m missingWeights) F32(name string, shape ...int) (*compute.Tensor, error) {
	if name == m.name {
		if m.shape == nil {
			return nil, errors.New("tensor " + name + " is not in the checkpoint")
		}
		return m.Source.F32(name, m.shape...)
	}
	return m.Source.F32(name, shape...)
}

func TestLoadErrors(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, b compute.Backend) {
		dir := t.TempDir()
		if err := formulaweights.WriteModel(dir, filepath.Join("testdata", "gen-b")); err != nil {
			t.Fatal(err)
		}
		cfg, ck := weightstest.OpenModel(t, dir)
		w := weights.NewLoader(ck, b)
		p := ParamsFromConfig(cfg.VQ)
		tests := []struct {
			name   string
			w      weights.Source
			p      Params
			want   string
			target string
		}{
			{"missing attention", missingWeights{w, weights.GenVisionPrefix + "decoder.conv_blocks.0.attn.1.k.weight", nil}, p,
				"gen_vision_model.decoder.conv_blocks.0.attn.1.k.weight", ""},
			{"missing codebook", missingWeights{w, weights.GenVisionPrefix + "quantize.embedding.weight", nil}, p,
				"quantize.embedding.weight", ""},
			{"wrong shape", w, func() Params { q := p; q.ZChannels = 64; return q }(),
				"decoder.conv_in.weight", "shape"},
			{"invalid params", w, func() Params { q := p; q.ImageSize = 15; return q }(),
				"image_size 15", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := Load(b, tt.w, tt.p)
				if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.target) {
					t.Fatalf("Load = %v, want an error naming %q", err, tt.want)
				}
			})
		}
	})
}

// syncCounter is a backend that counts the ops issued since the last Sync (a few of the
// decoder's: Conv2D, GroupNorm and Attention run in every stage).
type syncCounter struct {
	compute.Backend
	pending int
}

func (s *syncCounter) Conv2D(dst, x, w, b *compute.Tensor, p compute.Conv2DParams) {
	s.pending++
	s.Backend.Conv2D(dst, x, w, b, p)
}

func (s *syncCounter) GroupNorm(dst, x, w, b *compute.Tensor, groups int, eps float32) {
	s.pending++
	s.Backend.GroupNorm(dst, x, w, b, groups, eps)
}

func (s *syncCounter) Attention(dst, q, k, v *compute.Tensor, p compute.AttentionParams) {
	s.pending++
	s.Backend.Attention(dst, q, k, v, p)
}

func (s *syncCounter) Sync() error {
	s.pending = 0
	return s.Backend.Sync()
}

// TestDecodeProgressAndCancel: one report per stage, each after the stage's work is done
// (the backend synchronised, not merely issued), and a cancel stops at the next stage.
func TestDecodeProgressAndCancel(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, be compute.Backend) {
		b := &syncCounter{Backend: be}
		d := variant(t, b, "gen-c")
		grids := [][]int32{make([]int32, d.Params().Tokens()), make([]int32, d.Params().Tokens())}
		var calls []int
		total := 0
		if _, err := d.Decode(context.Background(), grids, func(done, tot int) {
			if b.pending != 0 {
				t.Fatalf("stage %d reported with %d ops issued since the last Sync", done, b.pending)
			}
			calls = append(calls, done)
			total = tot
		}); err != nil {
			t.Fatal(err)
		}
		// gen-c: 3 levels × 3 res + 3 attn at the lowest + 2 upsamples + 2 = 16 per image
		if want := 2 * d.Stages(); total != want || len(calls) != want || d.Stages() != 16 {
			t.Fatalf("stages: %d calls, total %d, Stages() %d; want %d calls of total %d, 16 stages", len(calls), total, d.Stages(), want, want)
		}
		for i, c := range calls {
			if c != i+1 {
				t.Fatalf("call %d reported %d done", i, c)
			}
		}

		ctx, cancel := context.WithCancel(context.Background())
		stopAt := 5
		seen := 0
		_, err := d.Decode(ctx, grids, func(done, _ int) {
			seen = done
			if done == stopAt {
				cancel()
			}
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Decode after cancel = %v, want context.Canceled", err)
		}
		if seen != stopAt {
			t.Fatalf("decode went on to stage %d after cancelling at %d", seen, stopAt)
		}
	})
}

func BenchmarkVQDecodeTinyA(b *testing.B) {
	be, err := compute.Open("auto", compute.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	d, _ := tinyA(b, be)
	grid := make([]int32, d.Params().Tokens())
	for k := range grid {
		grid[k] = int32((37*k + 11) % d.Params().CodebookSize)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := d.Decode(context.Background(), [][]int32{grid}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// allocTracker is a backend that remembers every buffer it hands out and which were freed,
// following views made with Reshape back to their buffer.
type allocTracker struct {
	compute.Backend
	live     map[*compute.Tensor]bool // buffer → not yet freed
	view     map[*compute.Tensor]*compute.Tensor
	readErr  error // when set, Read fails with it
	newBytes int64 // bytes asked of New
}

func newAllocTracker(b compute.Backend) *allocTracker {
	return &allocTracker{Backend: b, live: map[*compute.Tensor]bool{}, view: map[*compute.Tensor]*compute.Tensor{}}
}

func (a *allocTracker) New(dt compute.DType, shape ...int) *compute.Tensor {
	t := a.Backend.New(dt, shape...)
	a.live[t] = true
	a.newBytes += int64(t.Len() * dt.Size())
	return t
}

func (a *allocTracker) FromBytes(dt compute.DType, shape []int, src compute.DType, raw []byte) (*compute.Tensor, error) {
	t, err := a.Backend.FromBytes(dt, shape, src, raw)
	if err == nil {
		a.live[t] = true
	}
	return t, err
}

func (a *allocTracker) FromFloat32(data []float32, shape ...int) *compute.Tensor {
	t := a.Backend.FromFloat32(data, shape...)
	a.live[t] = true
	return t
}

func (a *allocTracker) Reshape(t *compute.Tensor, shape ...int) *compute.Tensor {
	v := a.Backend.Reshape(t, shape...)
	a.view[v] = t
	return v
}

func (a *allocTracker) Read(t *compute.Tensor, dst []float32) error {
	if a.readErr != nil {
		return a.readErr
	}
	return a.Backend.Read(t, dst)
}

func (a *allocTracker) Free(t *compute.Tensor) {
	for a.view[t] != nil {
		t = a.view[t]
	}
	a.live[t] = false
	a.Backend.Free(t)
}

// leaked counts the buffers not freed.
func (a *allocTracker) leaked() int {
	n := 0
	for _, live := range a.live {
		if live {
			n++
		}
	}
	return n
}

// failAfter hands out the first n tensors and then reports a missing one.
type failAfter struct {
	weights.Source
	n, loaded int
}

func (f *failAfter) F32(name string, shape ...int) (*compute.Tensor, error) {
	if f.loaded == f.n {
		return nil, errors.New("tensor " + name + " is not in the checkpoint")
	}
	f.loaded++
	return f.Source.F32(name, shape...)
}

// TestLoadFreesOnError: a Load that fails part way (a missing tensor at any point, or the
// codebook normalisation) frees every tensor it had bound.
func TestLoadFreesOnError(t *testing.T) {
	dir := t.TempDir()
	if err := formulaweights.WriteModel(dir, filepath.Join("testdata", "gen-d")); err != nil {
		t.Fatal(err)
	}
	cfg, ck := weightstest.OpenModel(t, dir)
	p := ParamsFromConfig(cfg.VQ)
	if !p.L2Norm {
		t.Fatal("gen-d should use the l2-normalised codebook")
	}

	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, be compute.Backend) {
		loadFreesOnError(t, be, ck, p)
	})
}

func loadFreesOnError(t *testing.T, be compute.Backend, ck *checkpoint.Checkpoint, p Params) {
	// Count the tensors a successful load binds, then fail at every one of them.
	tr := newAllocTracker(be)
	counter := &failAfter{Source: weights.NewLoader(ck, tr), n: -1}
	d, err := Load(tr, counter, p)
	if err != nil {
		t.Fatal(err)
	}
	d.Free()
	if n := tr.leaked(); n != 0 {
		t.Fatalf("Free left %d of %d buffers", n, len(tr.live))
	}
	total := counter.loaded
	for _, k := range []int{0, 1, total / 3, total / 2, total - 1} {
		t.Run(fmt.Sprintf("missing tensor %d of %d", k, total), func(t *testing.T) {
			tr := newAllocTracker(be)
			_, err := Load(tr, &failAfter{Source: weights.NewLoader(ck, tr), n: k}, p)
			if err == nil || !strings.Contains(err.Error(), "not in the checkpoint") {
				t.Fatalf("Load = %v, want the missing tensor's error", err)
			}
			if n := tr.leaked(); n != 0 || len(tr.live) != k {
				t.Fatalf("%d of %d loaded buffers not freed (want %d loaded)", n, len(tr.live), k)
			}
		})
	}
	t.Run("codebook read fails", func(t *testing.T) {
		tr := newAllocTracker(be)
		tr.readErr = errors.New("device lost")
		_, err := Load(tr, weights.NewLoader(ck, tr), p)
		if err == nil || !strings.Contains(err.Error(), "device lost") || !strings.Contains(err.Error(), "codebook") {
			t.Fatalf("Load = %v, want the codebook read error", err)
		}
		if n := tr.leaked(); n != 0 || len(tr.live) != total {
			t.Fatalf("%d of %d loaded buffers not freed (want %d loaded)", n, len(tr.live), total)
		}
	})
}

// TestDecodeEachImage: the streaming decode hands out the images of DecodeToImages in order,
// checks every grid before the first image, and stops at an error from its callback.
func TestDecodeEachImage(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, b compute.Backend) {
		d := variant(t, b, "gen-b")
		n, cb := d.Params().Tokens(), d.Params().CodebookSize
		grids := make([][]int32, 3)
		for i := range grids {
			grids[i] = make([]int32, n)
			for k := range grids[i] {
				grids[i][k] = int32((k*k + 5*k + 3*i) % cb)
			}
		}
		want, err := d.DecodeToImages(context.Background(), grids, nil)
		if err != nil {
			t.Fatal(err)
		}
		stop := errors.New("stop")
		bad := append(slices.Clone(grids), make([]int32, n-1))
		tests := []struct {
			name    string
			grids   [][]int32
			stopAt  int // emit fails at this image (-1: never)
			want    error
			wantMsg string
			emitted int
		}{
			{"all", grids, -1, nil, "", 3},
			{"callback stops", grids, 1, stop, "", 2},
			{"bad last grid", bad, -1, nil, "grid 3 has 63 tokens", 0},
			{"none", nil, -1, nil, "", 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				emitted := 0
				err := d.DecodeEachImage(context.Background(), tt.grids, nil, func(i int, img *image.NRGBA) error {
					if i != emitted {
						t.Fatalf("image %d handed out as number %d", i, emitted)
					}
					emitted++
					if !slices.Equal(img.Pix, want[i].Pix) {
						t.Fatalf("image %d differs from DecodeToImages'", i)
					}
					if i == tt.stopAt {
						return stop
					}
					return nil
				})
				switch {
				case tt.wantMsg != "" && (err == nil || !strings.Contains(err.Error(), tt.wantMsg)):
					t.Fatalf("DecodeEachImage = %v, want an error containing %q", err, tt.wantMsg)
				case tt.wantMsg == "" && !errors.Is(err, tt.want):
					t.Fatalf("DecodeEachImage = %v, want %v", err, tt.want)
				}
				if emitted != tt.emitted {
					t.Fatalf("%d images handed out, want %d", emitted, tt.emitted)
				}
			})
		}
	})
}

// TestScratchBytes: the dry-run estimate is what a decode allocates, for one image or many
// (the pool is reused from image to image), on every decoder shape, with or without weights.
func TestScratchBytes(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 1}, scratchBytes)
}

func scratchBytes(t *testing.T, be compute.Backend) {
	for _, name := range []string{"gen-b", "gen-c", "gen-d"} {
		t.Run(name, func(t *testing.T) {
			tr := newAllocTracker(be)
			d := variant(t, tr, name)
			want := d.ScratchBytes()
			if dry, err := ScratchBytesFor(d.Params()); err != nil || dry != want {
				t.Fatalf("ScratchBytesFor = %d, %v; the loaded decoder's ScratchBytes %d", dry, err, want)
			}
			for _, n := range []int{1, 4} {
				tr.newBytes = 0
				held := be.MemoryUsed()
				grids := make([][]int32, n)
				for i := range grids {
					grids[i] = make([]int32, d.Params().Tokens())
				}
				if _, err := d.Decode(context.Background(), grids, nil); err != nil {
					t.Fatal(err)
				}
				if tr.newBytes != want || want == 0 {
					t.Fatalf("decoding %d images allocated %d bytes, ScratchBytes says %d", n, tr.newBytes, want)
				}
				if got := be.MemoryUsed(); got != held {
					t.Fatalf("the backend holds %d bytes after decoding %d images, %d before", got, n, held)
				}
			}
			t.Logf("%s: %d bytes of scratch", name, want)
		})
	}
}

// TestScratchBytesReleased pins the released decoder's scratch, which generation budgets for.
func TestScratchBytesReleased(t *testing.T) {
	got, err := ScratchBytesFor(releasedParams())
	if err != nil {
		t.Fatal(err)
	}
	// top level: 128 channels × 384² float32 = 72 MiB per buffer; the pool holds a few of
	// them and the smaller levels' buffers
	const mib = 1 << 20
	if got < 4*72*mib || got > 8*72*mib {
		t.Fatalf("released decoder scratch %.1f MiB, want a handful of 72 MiB top-level buffers", float64(got)/mib)
	}
	if _, err := ScratchBytesFor(Params{}); err == nil {
		t.Fatal("ScratchBytesFor of zero params succeeded")
	}
}
