package app_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
	"github.com/janus-desktop/janus/internal/pngfile"
	"github.com/janus-desktop/janus/model"
)

// generateInto runs a generation of st on e into store, with a preview after every step,
// and returns the job and its callbacks once it has succeeded.
func generateInto(t *testing.T, e app.Engine, store *app.Store, st app.GenerationSettings) (*app.GenerationJob, *genRecorder) {
	t.Helper()
	r := &genRecorder{}
	j, err := app.StartGeneration(context.Background(), e, app.GenerationRequest{
		Settings: st, Software: "Janus Desktop test", Store: store, PreviewEvery: 1,
	}, r.callbacks())
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Wait(); err != nil {
		t.Fatal(err)
	}
	return j, r
}

// genRecorder collects a generation's callbacks.
type genRecorder struct {
	mu       sync.Mutex
	progress []app.GenerationProgress
	previews []app.Preview
	images   []app.GeneratedImage
	err      error
	doneCall int
}

func (r *genRecorder) callbacks() app.GenerationCallbacks {
	return app.GenerationCallbacks{
		OnProgress: func(p app.GenerationProgress) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.progress = append(r.progress, p)
		},
		OnPreview: func(p app.Preview) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.previews = append(r.previews, p)
		},
		OnDone: func(images []app.GeneratedImage, err error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.images, r.err = images, err
			r.doneCall++
		},
	}
}

// pngText reads the text chunks of a PNG file into a map.
func pngText(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fields, err := pngfile.ReadText(data)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, f := range fields {
		m[f.Key] = f.Value
	}
	return m
}

func TestGenerationOnFakeEngine(t *testing.T) {
	store := openStore(t)
	eng := apptest.NewFakeEngine(time.Millisecond)
	st := app.DefaultGenerationSettings()
	st.Prompt, st.N, st.FixedSeed, st.Seed = "  a red fox in the snow ", 3, true, 100
	j, r := generateInto(t, eng, store, st)
	if r.doneCall != 1 || r.err != nil || len(r.images) != 3 {
		t.Fatalf("OnDone called %d times with %d images, %v", r.doneCall, len(r.images), r.err)
	}
	// The fake has 8 token rows: a preview after rows 1-7, progress after every row.
	if len(r.progress) != 8 || r.progress[7].Token != 64 || r.progress[7].Tokens != 64 || r.progress[7].ImagesPerSecond <= 0 {
		t.Errorf("progress %+v", r.progress)
	}
	if len(r.previews) != 7 || r.previews[0].Rows != 1 || r.previews[6].Rows != 7 || r.previews[0].TotalRows != 8 ||
		r.previews[0].RowPixels != 8 || len(r.previews[0].Images) != 3 {
		t.Errorf("previews %+v", r.previews)
	}
	if p := j.Progress(); p.Done != 64 || p.Total != 64 {
		t.Errorf("job progress %+v", p)
	}
	for i, img := range r.images {
		if img.Seed != 100+uint64(i) || img.Meta.Prompt != "a red fox in the snow" || img.Meta.Model != "fake" || img.Ref.SHA256 == "" {
			t.Errorf("image %d: %+v", i, img.Meta)
		}
		text := pngText(t, store.ImagePath(img.Ref))
		if text["prompt"] != "a red fox in the snow" || text["seed"] != strconv.Itoa(100+i) || text["cfg"] != "5" ||
			text["temperature"] != "1" || text["model"] != "fake" || text["Software"] != "Janus Desktop test" {
			t.Errorf("image %d PNG text %v", i, text)
		}
	}
	// The run is an image set in the history.
	set, err := store.LoadSet(j.SetID())
	if err != nil {
		t.Fatal(err)
	}
	if set.Title != "a red fox in the snow" || len(set.Images) != 3 || set.Images[2].Seed != 102 || set.Settings.N != 3 || set.Model != "fake" {
		t.Errorf("image set %+v", set)
	}

	// Variations: the same settings with new seeds.
	v, err := app.Variations(j.Settings())
	if err != nil {
		t.Fatal(err)
	}
	if v.Prompt != "a red fox in the snow" || v.N != 3 || v.CFG != st.CFG || !v.FixedSeed || v.Seed == 100 {
		t.Errorf("Variations = %+v", v)
	}
}

// TestGenerationDefaultPreviews checks that a request without an interval previews every
// DefaultPreviewEvery rows.
func TestGenerationDefaultPreviews(t *testing.T) {
	eng := apptest.NewFakeEngine(0)
	eng.Grid = 3*app.DefaultPreviewEvery + 1
	r := generateField(t, eng)
	var rows []int
	for _, p := range r.previews {
		rows = append(rows, p.Rows)
	}
	if len(rows) != 3 || rows[0] != app.DefaultPreviewEvery || rows[2] != 3*app.DefaultPreviewEvery {
		t.Errorf("previews after rows %v, want every %d", rows, app.DefaultPreviewEvery)
	}
}

func TestGenerationRandomSeed(t *testing.T) {
	eng := apptest.NewFakeEngine(0)
	st := app.DefaultGenerationSettings()
	st.Prompt = "a boat"
	seeds := map[uint64]bool{}
	for range 3 {
		j, err := app.StartGeneration(context.Background(), eng, app.GenerationRequest{Settings: st}, app.GenerationCallbacks{})
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Wait(); err != nil {
			t.Fatal(err)
		}
		seeds[j.Settings().Seed] = true
		if got := j.Images(); len(got) != 1 || got[0].Seed != j.Settings().Seed || got[0].Ref.SHA256 != "" {
			t.Errorf("images %+v", got)
		}
	}
	if len(seeds) != 3 {
		t.Errorf("three runs with a random seed used %d seeds", len(seeds))
	}
}

func TestGenerationStop(t *testing.T) {
	store := openStore(t)
	eng := apptest.NewFakeEngine(50 * time.Millisecond)
	eng.Grid = 16
	st := app.DefaultGenerationSettings()
	st.Prompt = "a castle"
	r := &genRecorder{}
	started := make(chan struct{})
	var once sync.Once
	cb := r.callbacks()
	onProgress := cb.OnProgress
	cb.OnProgress = func(p app.GenerationProgress) {
		onProgress(p)
		once.Do(func() { close(started) })
	}
	j, err := app.StartGeneration(context.Background(), eng, app.GenerationRequest{Settings: st, Store: store}, cb)
	if err != nil {
		t.Fatal(err)
	}
	<-started
	j.Cancel()
	if err := j.Wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err = %v, want context.Canceled", err)
	}
	if r.doneCall != 1 || r.images != nil || !errors.Is(r.err, context.Canceled) || j.Images() != nil || j.SetID() != "" {
		t.Errorf("after Stop: %d OnDone calls, images %v, err %v", r.doneCall, r.images, r.err)
	}
	if len(r.progress) == 16 {
		t.Error("the stopped run went to the end")
	}
	if entries, _, _ := store.List(); len(entries) != 0 {
		t.Errorf("a stopped run left %d history entries", len(entries))
	}
}

func TestGenerationRefused(t *testing.T) {
	eng := apptest.NewFakeEngine(0)
	ok := app.DefaultGenerationSettings()
	ok.Prompt = "a tree"
	noGen := apptest.NewFakeEngine(0)
	noGen.NoGeneration = true
	for _, tc := range []struct {
		name   string
		engine app.Engine
		change func(*app.GenerationSettings)
		want   string
	}{
		{"empty prompt", eng, func(s *app.GenerationSettings) { s.Prompt = " \n " }, "what to draw"},
		// Text the PNGs cannot hold is refused before the run, not when its images are stored.
		{"NUL in the prompt", eng, func(s *app.GenerationSettings) { s.Prompt = "a tree\x00" }, "NUL character"},
		{"prompt not UTF-8", eng, func(s *app.GenerationSettings) { s.Prompt = "a tree \xff" }, "not valid UTF-8"},
		{"too many", eng, func(s *app.GenerationSettings) { s.N = 9 }, "number of images"},
		{"negative cfg", eng, func(s *app.GenerationSettings) { s.CFG = -1 }, "guidance"},
		{"no model", nil, func(*app.GenerationSettings) {}, "no model"},
		{"no generation", noGen, func(*app.GenerationSettings) {}, "without its image generation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := ok
			tc.change(&st)
			_, err := app.StartGeneration(context.Background(), tc.engine, app.GenerationRequest{Settings: st}, app.GenerationCallbacks{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("StartGeneration = %v, want an error about %q", err, tc.want)
			}
		})
	}
}

// CopyImageFile writes the picture's bytes as they are, over a file there already; a picture
// that is gone is an error naming the file to be saved.
func TestCopyImageFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.png")
	data := []byte("\x89PNG not decoded: copied as it is")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "saved.png")
	if err := os.WriteFile(dst, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := app.CopyImageFile(dst, src); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the copy holds %q (%v)", got, err)
	}
	if err := app.CopyImageFile(filepath.Join(dir, "other.png"), filepath.Join(dir, "gone.png")); err == nil || !strings.Contains(err.Error(), "other.png") {
		t.Errorf("copying a file that is gone: %v", err)
	}
}

func TestSaveImage(t *testing.T) {
	eng := apptest.NewFakeEngine(0)
	res, err := eng.GenerateImages(context.Background(), "x", model.DefaultImageOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fox.png")
	meta := app.ImageMeta{Prompt: "un renard roux — 赤い狐", Seed: 7, CFG: 5, Temperature: 1, TopK: 10, TopP: 0.9,
		Model: "Janus-Pro-1B", Software: "Janus Desktop dev"}
	if err := app.SaveImage(path, res.Images[0], meta, false); err != nil {
		t.Fatal(err)
	}
	got := pngText(t, path)
	want := map[string]string{"prompt": meta.Prompt, "seed": "7", "cfg": "5", "temperature": "1", "top_k": "10",
		"top_p": "0.9", "model": "Janus-Pro-1B", "Software": "Janus Desktop dev"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("PNG text %s = %q, want %q", k, got[k], v)
		}
	}
	if err := app.SaveImage(path, res.Images[0], meta, false); !errors.Is(err, pngfile.ErrExists) {
		t.Errorf("saving over an existing file without overwrite: %v", err)
	}
	if err := app.SaveImage(path, res.Images[0], meta, true); err != nil {
		t.Errorf("overwrite: %v", err)
	}
	if _, _, err := app.CheckImageFile(path); err != nil {
		t.Errorf("the saved PNG does not read back: %v", err)
	}
	// Filters left at their defaults are not written, as janus generate does.
	keys := []string{}
	for _, f := range (app.ImageMeta{Prompt: "p", Seed: 1, CFG: 5, Temperature: 1, Model: "m", Software: "s"}).PNGText() {
		keys = append(keys, f.Key)
	}
	if strings.Join(keys, ",") != "prompt,seed,cfg,temperature,model,Software" {
		t.Errorf("PNG text keys %v", keys)
	}
}

// The run's speed and time left are reported only once a preview has shown what a decode
// costs: before, they left the decodes out and came out far too fast.
func TestGenerationEstimatesAfterAPreview(t *testing.T) {
	eng := apptest.NewFakeEngine(2 * time.Millisecond)
	eng.Grid = 3 * app.DefaultPreviewEvery
	r := generateField(t, eng)
	known := false
	for _, p := range r.progress {
		if p.ImagesPerSecond > 0 || p.Remaining > 0 {
			known = true
			continue
		}
		if known && p.DecodeStages == 0 && p.Token < p.Tokens {
			t.Errorf("at token %d of %d the estimates went back to none", p.Token, p.Tokens)
		}
	}
	first := r.progress[0]
	if first.ImagesPerSecond != 0 || first.Remaining != 0 || !known {
		t.Errorf("first report %+v (estimates later: %v); want none before a preview, some after", first, known)
	}
}

// generateField runs the canvas's default settings for "a field" on eng to its end.
func generateField(t *testing.T, eng app.Engine) *genRecorder {
	t.Helper()
	st := app.DefaultGenerationSettings()
	st.Prompt = "a field"
	r := &genRecorder{}
	j, err := app.StartGeneration(context.Background(), eng, app.GenerationRequest{Settings: st}, r.callbacks())
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Wait(); err != nil {
		t.Fatal(err)
	}
	return r
}
