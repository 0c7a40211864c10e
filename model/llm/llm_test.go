package llm

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
	"github.com/janus-desktop/janus/internal/fixtures"
	_ "github.com/janus-desktop/janus/internal/testbackends"
	"github.com/janus-desktop/janus/model/sample"
	"github.com/janus-desktop/janus/model/weights"
	"github.com/janus-desktop/janus/model/weights/weightstest"
)

type golden struct {
	Understanding struct {
		InputIDs     []int32 `json:"input_ids"`
		GreedyTokens []int32 `json:"greedy_tokens"`
	} `json:"understanding"`
}

type tiny struct {
	m      *Model
	be     compute.Backend
	embeds []float32 // und_inputs_embeds [1, 235, 64]
	steps  []float32 // und_step_logits [16, 384]
	g      golden
}

// eachTiny runs fn with tiny-a's decoder loaded on every backend under test.
func eachTiny(t *testing.T, fn func(t *testing.T, tn *tiny)) {
	t.Helper()
	dir := fixtures.Path(t, "models", "tiny-a")
	gdir := fixtures.Path(t, "golden", "tiny-a")
	cfg, ck := weightstest.OpenModel(t, dir)
	computetest.Each(t, compute.Options{Threads: 2}, func(t *testing.T, be compute.Backend) {
		m, err := Load(be, weights.NewLoader(ck, be), cfg.LLM, true)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Free()
		tn := &tiny{m: m, be: be}
		tn.embeds = fixtures.Float32s(t, filepath.Join(gdir, "und_inputs_embeds.bin"))
		tn.steps = fixtures.Float32s(t, filepath.Join(gdir, "und_step_logits.bin"))
		fixtures.JSON(t, filepath.Join(gdir, "golden.json"), &tn.g)
		fn(t, tn)
	})
}

func (tn *tiny) read(t *testing.T, x *compute.Tensor) []float32 {
	t.Helper()
	out := make([]float32, x.Len())
	if err := tn.be.Read(x, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// lastLogits runs x through the decoder and returns the lm_head logits of every row's last
// position.
func (tn *tiny) lastLogits(t *testing.T, x *compute.Tensor, c *Cache) []float32 {
	t.Helper()
	h, err := tn.m.Forward(x, c)
	if err != nil {
		t.Fatal(err)
	}
	last := tn.m.Last(h)
	logits := tn.m.Logits(last)
	out := tn.read(t, logits)
	for _, s := range []*compute.Tensor{h, last, logits} {
		tn.be.Free(s)
	}
	return out
}

// TestGreedyGoldenTinyA replays the reference's understanding run: prefill of the golden
// input embeddings, then 16 greedy steps fed back through Embed, comparing every step's
// logits and token.
func TestGreedyGoldenTinyA(t *testing.T) {
	eachTiny(t, func(t *testing.T, tn *tiny) {
		const vocab = 384
		tests := []struct {
			name   string
			chunks []int // prefill split into these lengths
			cap    int
		}{
			{"one prefill", []int{235}, 256},
			{"prefill in chunks, cache grows", []int{100, 1, 134}, 16},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c, err := tn.m.NewCache(1, tt.cap)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Free()
				var logits []float32
				at := 0
				for _, n := range tt.chunks {
					x := tn.be.FromFloat32(tn.embeds[at*64:(at+n)*64], 1, n, 64)
					logits = tn.lastLogits(t, x, c)
					tn.be.Free(x)
					at += n
				}
				for step, want := range tn.g.Understanding.GreedyTokens {
					ref := tn.steps[step*vocab : (step+1)*vocab]
					if ok, diff, bound := fixtures.Close(logits, ref, 1e-4); !ok {
						t.Fatalf("step %d: logits max |diff| %.3g > %.3g", step, diff, bound)
					}
					if got := int32(sample.Argmax(logits)); got != want {
						t.Fatalf("step %d: token %d, want %d", step, got, want)
					}
					x, err := tn.m.Embed([]int32{want}, 1)
					if err != nil {
						t.Fatal(err)
					}
					logits = tn.lastLogits(t, x, c)
					tn.be.Free(x)
				}
				if c.Len() != 235+16 {
					t.Errorf("cache holds %d positions, want %d", c.Len(), 235+16)
				}
			})
		}
	})
}

// TestRowsAndTruncate checks that rows of a batch are independent (two rows, one with the
// golden prompt and one with a different prefix, as CFG uses them) and that truncating the
// cache and re-feeding a suffix gives the same logits as the first time.
func TestRowsAndTruncate(t *testing.T) {
	eachTiny(t, func(t *testing.T, tn *tiny) {
		const n, d, vocab = 235, 64, 384
		want := tn.steps[:vocab]

		other := slices.Clone(tn.embeds)
		for i := range 50 * d {
			other[i] = -other[i]
		}
		both := append(slices.Clone(tn.embeds), other...)
		c, err := tn.m.NewCache(2, n)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Free()
		x := tn.be.FromFloat32(both, 2, n, d)
		got := tn.lastLogits(t, x, c)
		if ok, diff, bound := fixtures.Close(got[:vocab], want, 1e-4); !ok {
			t.Errorf("row 0 of a batch: max |diff| %.3g > %.3g", diff, bound)
		}
		if ok, _, _ := fixtures.Close(got[vocab:], want, 1e-4); ok {
			t.Errorf("row 1 (different prefix) gave row 0's logits")
		}

		// Forget the last 35 positions and feed them again.
		if err := c.Truncate(200); err != nil {
			t.Fatal(err)
		}
		tail := append(slices.Clone(tn.embeds[200*d:]), other[200*d:]...)
		y := tn.be.FromFloat32(tail, 2, n-200, d)
		again := tn.lastLogits(t, y, c)
		if ok, diff, _ := fixtures.Close(again, got, 1e-6); !ok {
			t.Errorf("after truncate: logits differ by %.3g", diff)
		}
		if err := c.Truncate(n + 1); err == nil {
			t.Error("truncating beyond the filled length gave no error")
		}
	})
}

func TestForwardErrors(t *testing.T) {
	eachTiny(t, func(t *testing.T, tn *tiny) {
		tests := []struct {
			name      string
			shape     []int
			rows, cap int
			maxPos    int
		}{
			{"wrong width", []int{1, 3, 32}, 1, 8, 0},
			{"rows differ from cache", []int{2, 3, 64}, 1, 8, 0},
			{"no positions", []int{1, 0, 64}, 1, 8, 0},
			{"beyond max positions", []int{1, 9, 64}, 1, 4, 8},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := *tn.m
				if tt.maxPos > 0 {
					m.Config.MaxPositions = tt.maxPos
				}
				c, err := m.NewCache(tt.rows, tt.cap)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Free()
				x := tn.be.New(compute.F32, tt.shape...)
				if h, err := m.Forward(x, c); err == nil {
					tn.be.Free(h)
					t.Error("no error")
				}
			})
		}
		if _, err := tn.m.Embed([]int32{1, 384}, 1); err == nil {
			t.Error("Embed accepted an id outside the vocabulary")
		}
		if _, err := tn.m.Embed([]int32{1, 2, 3}, 2); err == nil {
			t.Error("Embed accepted ids that do not split into rows")
		}
	})
}

// TestTiedHead loads tiny-a as if its config tied the embeddings: lm_head is then never
// read, and the logits are the hidden states times the embedding table.
func TestTiedHead(t *testing.T) {
	cfg, ck := weightstest.OpenModel(t, fixtures.Path(t, "models", "tiny-a"))
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, be compute.Backend) {
		c := cfg.LLM
		c.TieWordEmbeddings = true
		m, err := Load(be, weights.NewLoader(ck, be), c, true)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Free()
		if m.Head != m.Embedding {
			t.Fatal("tied head is not the embedding table")
		}
		h := make([]float32, 2*c.Hidden)
		for i := range h {
			h[i] = float32(i%5) - 2
		}
		got := make([]float32, 2*c.Vocab)
		if err := be.Read(m.Logits(be.FromFloat32(h, 2, c.Hidden)), got); err != nil {
			t.Fatal(err)
		}
		emb := make([]float32, c.Vocab*c.Hidden)
		if err := ck.Float32(weights.LLMPrefix+"model.embed_tokens.weight", emb); err != nil {
			t.Fatal(err)
		}
		want := make([]float32, 2*c.Vocab)
		for r := range 2 {
			for v := range c.Vocab {
				var s float64
				for i := range c.Hidden {
					s += float64(h[r*c.Hidden+i]) * float64(emb[v*c.Hidden+i])
				}
				want[r*c.Vocab+v] = float32(s)
			}
		}
		if ok, diff, bound := fixtures.Close(got, want, 1e-5); !ok {
			t.Errorf("tied logits: max |diff| %.3g > %.3g", diff, bound)
		}
	})
}
