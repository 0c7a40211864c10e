package app_test

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model"
)

// loadTinyA loads the tiny-a fixture model on one thread.
func loadTinyA(t *testing.T) app.Engine {
	t.Helper()
	dir := fixtures.Path(t, "models", "tiny-a")
	e, err := app.LoadEngine(context.Background(), dir, app.LoadOptions{Threads: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestLoadEngine(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	var mu sync.Mutex
	var last app.Progress
	j := app.StartLoad(context.Background(), dir, app.LoadOptions{Threads: 1, Name: "Tiny A"}, func(p app.Progress) {
		mu.Lock()
		defer mu.Unlock()
		last = p
	})
	if err := j.Wait(); err != nil {
		t.Fatal(err)
	}
	e := j.Engine()
	defer e.Close()
	info := e.Info()
	// The kernel set follows the CPU: "CPU · 1 thread · AVX-512" here, "CPU · 1 thread" on arm64.
	if info.Name != "Tiny A" || info.Dir != dir || !strings.HasPrefix(info.Backend, "CPU · 1 thread") || info.MemoryBytes <= 0 ||
		info.ContextLimit <= 0 || !info.CanGenerate || (info.Family != "Janus" && info.Family != "Janus-Pro") {
		t.Errorf("Info = %+v", info)
	}
	if last.Total == 0 || last.Done != last.Total {
		t.Errorf("last load progress %+v, want every weight", last)
	}
	desc, err := app.Describe(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.MemoryBytes > desc.MemoryBytes["F32"] {
		t.Errorf("the engine says it holds %d bytes, more than the whole model in F32 (%d)", info.MemoryBytes, desc.MemoryBytes["F32"])
	}

	// Without generation, less memory and no canvas.
	und, err := app.LoadEngine(context.Background(), dir, app.LoadOptions{Threads: 1, SkipGeneration: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer und.Close()
	if ui := und.Info(); ui.CanGenerate || ui.MemoryBytes >= info.MemoryBytes || ui.Name != "tiny-a" {
		t.Errorf("understanding-only Info = %+v", ui)
	}
}

// TestLoadEngineWeights loads tiny-a in each weight format the settings offer and asks it a
// question: the format reaches model.Load, and EngineInfo says what the matrices hold.
func TestLoadEngineWeights(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	stored, err := app.LoadEngine(context.Background(), dir, app.LoadOptions{Threads: 1, Weights: model.WeightsStored}, nil)
	if err != nil {
		t.Fatal(err)
	}
	storedInfo := stored.Info()
	stored.Close()
	for _, tc := range []struct {
		weights, want string
	}{
		{model.WeightsStored, "BF16"},
		{model.WeightsQ8, "Q8"},
		{model.WeightsQ4, "Q4"},
		{model.WeightsF32, "F32"},
		{"", "BF16"},
	} {
		t.Run(tc.weights, func(t *testing.T) {
			e, err := app.LoadEngine(context.Background(), dir, app.LoadOptions{Threads: 1, Weights: tc.weights, SkipGeneration: true}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			info := e.Info()
			if info.Weights != tc.want {
				t.Errorf("Info().Weights = %q, want %q", info.Weights, tc.want)
			}
			if info.AutoWeights != model.WeightsStored || info.AutoWeightsReason == "" {
				t.Errorf("auto picks %q (%q) for tiny-a, want %q and a reason", info.AutoWeights, info.AutoWeightsReason, model.WeightsStored)
			}
			c, err := e.NewConversation(nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			r, err := c.Reply(context.Background(), "What is this?", nil, model.AnswerOptions{MaxNewTokens: 4}, nil)
			if err != nil || len(r.Tokens) == 0 {
				t.Errorf("Reply = %+v, %v; want an answer", r, err)
			}
		})
	}
	// A bad format is refused before the folder is read: a missing folder is not what it reports.
	if _, err := app.LoadEngine(context.Background(), filepath.Join(t.TempDir(), "missing"), app.LoadOptions{Weights: "int4"}, nil); err == nil ||
		!strings.Contains(err.Error(), `weights "int4": want one of auto, stored`) || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadEngine with weights int4 = %v, want the format refused before the folder is read", err)
	}
	q8, err := app.LoadEngine(context.Background(), dir, app.LoadOptions{Threads: 1, Weights: model.WeightsQ8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q8.Close()
	if q := q8.Info(); q.MemoryBytes >= storedInfo.MemoryBytes || !q.CanGenerate {
		t.Errorf("Q8 engine holds %d bytes (stored: %d), CanGenerate %v; want less than stored", q.MemoryBytes, storedInfo.MemoryBytes, q.CanGenerate)
	}
}

func TestLoadEngineCancel(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	var j *app.LoadJob
	ready := make(chan struct{})
	var once sync.Once
	j = app.StartLoad(context.Background(), dir, app.LoadOptions{Threads: 1}, func(p app.Progress) {
		once.Do(func() {
			<-ready
			j.Cancel()
		})
	})
	close(ready)
	if err := j.Wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err = %v, want context.Canceled", err)
	}
	if j.Engine() != nil {
		t.Error("a cancelled load returned an engine")
	}
	if p := j.Progress(); p.Done >= p.Total {
		t.Errorf("the cancelled load went to the end: %+v", p)
	}
}

func TestLoadEngineErrors(t *testing.T) {
	tiny := fixtures.Path(t, "models", "tiny-a")
	tmp := t.TempDir()
	noWeights := filepath.Join(tmp, "no-weights")
	apptest.TinyA(t, noWeights, apptest.WeightFiles)
	noTokenizer := filepath.Join(tmp, "no-tokenizer")
	apptest.TinyA(t, noTokenizer, "tokenizer.json")
	mismatched := filepath.Join(tmp, "mismatched")
	apptest.TinyA(t, mismatched)
	editConfig(t, mismatched, func(cfg map[string]any) {
		cfg["language_config"].(map[string]any)["intermediate_size"] = 999
	})
	for _, tc := range []struct {
		name   string
		dir    string
		opts   app.LoadOptions
		want   string // the error says this
		is     error  // and wraps this, when not nil
		advice string // LoadAdvice says this
	}{
		{"no weights", noWeights, app.LoadOptions{}, "no-weights", nil, "Check that the folder holds a complete"},
		{"no tokenizer", noTokenizer, app.LoadOptions{}, "no-tokenizer", fs.ErrNotExist, "A file of the model is missing"},
		{"missing folder", filepath.Join(tmp, "missing"), app.LoadOptions{}, "missing", fs.ErrNotExist, "A file of the model is missing"},
		{"mismatched", mismatched, app.LoadOptions{}, "does not fit the model configuration", nil, "do not fit the folder's config.json"},
		{"not enough memory", tiny, app.LoadOptions{MemoryBytes: 1000}, "its weights need", model.ErrNotEnoughMemory, "Choose smaller weights in Settings"},
		{"metal", tiny, app.LoadOptions{Backend: "metal"}, "metal", compute.ErrUnavailable, "CPU backend"},
		{"unknown backend", tiny, app.LoadOptions{Backend: "cuda"}, "cuda", nil, ""},
		{"unknown weights", tiny, app.LoadOptions{Weights: "q3"}, `weights "q3"`, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := app.LoadEngine(context.Background(), tc.dir, tc.opts, nil)
			if err == nil {
				e.Close()
				t.Fatal("LoadEngine succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("LoadEngine = %v, want an error saying %q (wrapping %v)", err, tc.want, tc.is)
			}
			if a := app.LoadAdvice(err); !strings.Contains(a, tc.advice) || a == "" {
				t.Errorf("LoadAdvice = %q, want %q", a, tc.advice)
			}
		})
	}
	if a := app.LoadAdvice(context.Canceled); a != "" {
		t.Errorf("advice for a cancelled load: %q", a)
	}
}

// TestChatOnTinyA runs a chat session on the real tiny-a model: an image, two turns (the
// second reuses the first's KV cache), and a stop.
func TestChatOnTinyA(t *testing.T) {
	e := loadTinyA(t)
	store := openStore(t)
	s := app.NewChatSession(store, e, model.AnswerOptions{MaxNewTokens: 6})
	img := writePNG(t, t.TempDir(), "photo.png", 120, 80)
	r := send(t, s, "Describe this photo.", img)
	if r.done.State != app.StateDone || r.done.Tokens == 0 || r.done.PromptTokens == 0 {
		t.Fatalf("first answer %+v", *r.done)
	}
	if len(r.texts) > 0 && r.texts[len(r.texts)-1] != r.done.Text {
		t.Errorf("streamed %q, final %q", r.texts[len(r.texts)-1], r.done.Text)
	}
	r2 := send(t, s, "And the colours?")
	if r2.done.State != app.StateDone || r2.done.ReusedTokens == 0 || r2.done.PromptTokens <= r.done.PromptTokens {
		t.Errorf("second answer %+v, want the first turn reused from the KV cache", *r2.done)
	}

	// Stop: cancel at the first piece of text.
	s.SetAnswerOptions(model.AnswerOptions{MaxNewTokens: 200})
	rs := newRecorder()
	cb := rs.callbacks()
	onText := cb.OnText
	cb.OnText = func(i int, m app.ChatMessage) {
		onText(i, m)
		s.Stop()
	}
	j, err := s.Send("Tell me more.", nil, cb)
	if err != nil {
		t.Fatal(err)
	}
	j.Wait()
	t.Logf("stop: %s after %d pieces, %d tokens", rs.done.State, len(rs.texts), rs.done.Tokens)
	if rs.done.State != app.StateStopped && !(rs.done.State == app.StateDone && len(rs.texts) == 0) {
		t.Errorf("stopped answer %+v after %d pieces", *rs.done, len(rs.texts))
	}
	if rs.done.State == app.StateStopped && rs.done.Tokens >= 200 {
		t.Errorf("the stop came after %d tokens", rs.done.Tokens)
	}

	// Reopened from the history on the same model, the chat goes on.
	s.Close()
	s2, err := app.OpenChatSession(store, s.ID(), e, model.AnswerOptions{MaxNewTokens: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if r := send(t, s2, "One more question."); r.done.State != app.StateDone {
		t.Errorf("answer in the reopened chat %+v", *r.done)
	}
}

// TestGenerationOnTinyA generates two images with previews on the real tiny-a model.
func TestGenerationOnTinyA(t *testing.T) {
	e := loadTinyA(t)
	store := openStore(t)
	st := app.DefaultGenerationSettings()
	st.Prompt, st.N, st.FixedSeed, st.Seed = "a lighthouse at dusk", 2, true, 9
	start := time.Now()
	_, r := generateInto(t, e, store, st)
	wall := time.Since(start)
	if len(r.images) != 2 || r.err != nil {
		t.Fatalf("%d images, %v", len(r.images), r.err)
	}
	if len(r.previews) == 0 {
		t.Fatal("no preview was seen")
	}
	for _, p := range r.previews {
		if len(p.Images) != 2 || p.Rows < 1 || p.Rows >= p.TotalRows || p.RowPixels*p.TotalRows != p.Images[0].Bounds().Dy() {
			t.Errorf("preview %d of %d rows, %d px a row, %d images", p.Rows, p.TotalRows, p.RowPixels, len(p.Images))
		}
	}
	last := r.progress[len(r.progress)-1]
	if last.Token != last.Tokens || last.ImagesPerSecond <= 0 {
		t.Errorf("last progress %+v", last)
	}
	// The speed shown is the run's, previews and decode included: within a factor of three
	// of the images over the wall-clock time (the token loop alone is many times faster on
	// this model, which the line showed before).
	if ratio := last.ImagesPerSecond * wall.Seconds() / float64(st.N); ratio < 1.0/3 || ratio > 3 {
		t.Errorf("%.3g images/s shown for %d images in %v", last.ImagesPerSecond, st.N, wall)
	}
	for i, img := range r.images {
		if b := img.Image.Bounds(); b.Dx() != b.Dy() || b.Dx() == 0 {
			t.Errorf("image %d is %v", i, b)
		}
		text := pngText(t, store.ImagePath(img.Ref))
		if text["prompt"] != st.Prompt || text["seed"] != []string{"9", "10"}[i] || text["model"] != "tiny-a" {
			t.Errorf("image %d text %v", i, text)
		}
	}
	// "Ask about this image": a generated image goes into a chat like a dropped file.
	chat := app.NewChatSession(store, e, model.AnswerOptions{MaxNewTokens: 3})
	defer chat.Close()
	if r := send(t, chat, "What is in this picture?", store.ImagePath(r.images[0].Ref)); r.done.State != app.StateDone {
		t.Errorf("asking about a generated image: %+v", *r.done)
	}
}

// TestStopWhileWaitingForTheModel stops a chat reply that waits for a generation to give the
// model up: the reply must end at once, not when the generation does.
func TestStopWhileWaitingForTheModel(t *testing.T) {
	e := loadTinyA(t)
	st := app.DefaultGenerationSettings()
	st.Prompt = "a bridge"
	generating := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	gen, err := app.StartGeneration(context.Background(), e, app.GenerationRequest{Settings: st}, app.GenerationCallbacks{
		OnProgress: func(app.GenerationProgress) {
			once.Do(func() {
				close(generating)
				select { // hold the model until the chat has stopped
				case <-release:
				case <-time.After(30 * time.Second):
				}
			})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		gen.Cancel()
		close(release)
		gen.Wait()
	}()
	<-generating

	s := app.NewChatSession(nil, e, model.AnswerOptions{MaxNewTokens: 4})
	defer s.Close()
	r := newRecorder()
	j, err := s.Send("Is the generation done?", nil, r.callbacks())
	if err != nil {
		t.Fatal(err)
	}
	s.Stop()
	select {
	case <-j.Done():
	case <-gen.Done():
		t.Fatal("the generation ended before the stopped reply")
	}
	if r.done == nil || r.done.State != app.StateStopped {
		t.Errorf("the reply ended as %+v, want stopped", r.done)
	}
	select {
	case <-gen.Done():
		t.Fatal("the generation ended while held")
	default:
	}
}
