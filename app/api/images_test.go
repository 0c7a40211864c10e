package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/internal/pngfile"
	"github.com/janus-desktop/janus/model"
	"github.com/janus-desktop/janus/model/imageproc"
)

type imagesResp struct {
	Created int64 `json:"created"`
	Data    []struct {
		B64JSON string `json:"b64_json"`
		URL     string `json:"url"`
		Seed    uint64 `json:"seed"`
	} `json:"data"`
	OutputFormat string `json:"output_format"`
	Size         string `json:"size"`
	Usage        struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
	} `json:"usage"`
}

// decodePNG returns a PNG's pixels as NRGBA and its text chunks.
func decodePNG(t *testing.T, raw []byte) (*image.NRGBA, []pngfile.TextField) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("decode PNG: %v", err)
	}
	text, err := pngfile.ReadText(raw)
	if err != nil {
		t.Fatalf("read PNG text: %v", err)
	}
	return imageproc.ToRGB(img), text
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64: %v", err)
	}
	return raw
}

// TestImagesMatchGenerate: the images equal model.GenerateImages' for the same prompt, seed,
// CFG and temperature, with `janus generate`'s text chunks (cmd/janus's serve test compares
// with the files the command writes), as b64_json, as a data: URL and streamed.
func TestImagesMatchGenerate(t *testing.T) {
	ts := newTestServer(t, Options{Software: "Janus Desktop test"})
	const prompt = "A red fox in the snow"
	opts := model.GenerateImageOptions{N: 2, CFG: 4, Temperature: 0.9, Seed: 5, MaxMemoryBytes: -1}
	want, err := ts.m.GenerateImages(context.Background(), prompt, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantText := func(i int) []pngfile.TextField {
		return []pngfile.TextField{{Key: "prompt", Value: prompt}, {Key: "seed", Value: strconv.Itoa(5 + i)}, {Key: "cfg", Value: "4"},
			{Key: "temperature", Value: "0.9"}, {Key: "model", Value: "tiny-a"}, {Key: "Software", Value: "Janus Desktop test"}}
	}
	check := func(name string, i int, raw []byte) {
		t.Helper()
		img, text := decodePNG(t, raw)
		if !bytes.Equal(img.Pix, want.Images[i].Pix) || img.Rect != want.Images[i].Rect {
			t.Errorf("%s: image %d differs from model.GenerateImages'", name, i)
		}
		if !slices.Equal(text, wantText(i)) {
			t.Errorf("%s: image %d text %v, want %v", name, i, text, wantText(i))
		}
	}
	req := map[string]any{"model": "default", "prompt": prompt, "n": 2, "seed": 5, "cfg": 4, "temperature": 0.9, "size": "96x96"}
	for _, format := range []string{"", "b64_json", "url"} {
		if format != "" {
			req["response_format"] = format
		}
		resp, body := ts.post(t, "/v1/images/generations", req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", format, resp.StatusCode, body)
		}
		got := decodeJSON[imagesResp](t, body)
		if len(got.Data) != 2 || got.Created == 0 || got.Size != "96x96" || got.OutputFormat != "png" ||
			got.Usage.InputTokens != want.PromptTokens || got.Usage.OutputTokens != 2*36 {
			t.Fatalf("%s: response %.300s", format, body)
		}
		for i, d := range got.Data {
			if d.Seed != uint64(5+i) {
				t.Errorf("%s: image %d seed %d", format, i, d.Seed)
			}
			if format == "url" {
				rest, ok := strings.CutPrefix(d.URL, "data:image/png;base64,")
				if !ok || d.B64JSON != "" {
					t.Fatalf("url format: %.60q", d.URL)
				}
				check(format, i, b64(t, rest))
				continue
			}
			check(format, i, b64(t, d.B64JSON))
		}
	}

	// Streamed: a progress event per step, a partial image per image and share, then the
	// completed images and [DONE].
	delete(req, "response_format")
	req["stream"], req["partial_images"] = true, 1
	resp, body := ts.post(t, "/v1/images/generations", req)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: status %d %s: %.300s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	names, data := sseEvents(t, body)
	if len(data) == 0 || data[len(data)-1] != "[DONE]" {
		t.Fatalf("stream does not end with [DONE]")
	}
	steps, decodes, partials, completed := 0, 0, 0, 0
	for i, d := range data[:len(data)-1] {
		var ev struct {
			Type              string `json:"type"`
			B64JSON           string `json:"b64_json"`
			Index             *int   `json:"index"`
			PartialImageIndex *int   `json:"partial_image_index"`
			Token, Tokens     int
			Images            int
			Seed              uint64
			DecodeStage       int `json:"decode_stage"`
			DecodeStages      int `json:"decode_stages"`
		}
		if err := json.Unmarshal([]byte(d), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type != names[i] {
			t.Errorf("event %d named %q has type %q", i, names[i], ev.Type)
		}
		switch ev.Type {
		case "image_generation.progress":
			if ev.DecodeStages > 0 { // the final decode, after the last token
				if ev.Token != 36 || ev.DecodeStage != decodes || completed > 0 {
					t.Errorf("decode progress event %d: %s", decodes, d)
				}
				decodes++
				continue
			}
			steps++
			if ev.Token != steps || ev.Tokens != 36 || ev.Images != 2 || completed > 0 || decodes > 0 {
				t.Errorf("progress event %d: %s", steps, d)
			}
		case "image_generation.partial_image":
			partials++
			if ev.Index == nil || ev.PartialImageIndex == nil || *ev.PartialImageIndex != 0 || ev.B64JSON == "" {
				t.Errorf("partial image event: %.200s", d)
			}
		case "image_generation.completed":
			if ev.Index == nil || *ev.Index != completed || ev.Seed != uint64(5+completed) {
				t.Fatalf("completed event %d: %.200s", completed, d)
			}
			check("stream", completed, b64(t, ev.B64JSON))
			completed++
		default:
			t.Errorf("unexpected event %q", ev.Type)
		}
	}
	if steps != 36 || decodes == 0 || partials != 2 || completed != 2 {
		t.Errorf("%d progress events, %d decode events, %d partial images, %d completed; want 36, some, 2, 2", steps, decodes, partials, completed)
	}
}

// TestImagesRandomSeed: without a seed each request draws one, reports it, and the image
// is the one that seed gives.
func TestImagesRandomSeed(t *testing.T) {
	ts := newTestServer(t, Options{})
	resp, body := ts.post(t, "/v1/images/generations", map[string]any{"prompt": "a boat", "temperature": 0.5})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	got := decodeJSON[imagesResp](t, body)
	seed := got.Data[0].Seed
	want, err := ts.m.GenerateImages(context.Background(), "a boat",
		model.GenerateImageOptions{N: 1, CFG: model.DefaultCFG, Temperature: 0.5, Seed: seed, MaxMemoryBytes: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	img, text := decodePNG(t, b64(t, got.Data[0].B64JSON))
	if !bytes.Equal(img.Pix, want.Images[0].Pix) {
		t.Error("the image is not the one its reported seed gives")
	}
	if i := slices.IndexFunc(text, func(f pngfile.TextField) bool { return f.Key == "seed" }); i < 0 || text[i].Value != strconv.FormatUint(seed, 10) {
		t.Errorf("text chunks %v lack seed %d", text, seed)
	}
}

// TestImageSeedsRoundTrip: every seed a response reports is one the endpoint takes back, and
// it gives that image again, also at the top of the range, where image i's seed+i passes 2^63
// or wraps past 2^64-1 to 0, as the engine's uint64 seeds do.
func TestImageSeedsRoundTrip(t *testing.T) {
	ts := newTestServer(t, Options{})
	generate := func(seed uint64, n int) imagesResp {
		t.Helper()
		resp, body := ts.post(t, "/v1/images/generations", map[string]any{"prompt": "a fox", "n": n, "seed": seed})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("seed %d, n %d: status %d: %s", seed, n, resp.StatusCode, body)
		}
		return decodeJSON[imagesResp](t, body)
	}
	for _, c := range []struct {
		seed  uint64
		seeds []uint64 // the seeds the images report: seed+i
	}{
		{math.MaxInt64, []uint64{math.MaxInt64, math.MaxInt64 + 1}},
		{math.MaxUint64, []uint64{math.MaxUint64, 0}},
	} {
		got := generate(c.seed, len(c.seeds))
		for i, d := range got.Data {
			if d.Seed != c.seeds[i] {
				t.Errorf("seed %d: image %d reports seed %d, want %d", c.seed, i, d.Seed, c.seeds[i])
				continue
			}
			if again := generate(d.Seed, 1); again.Data[0].B64JSON != d.B64JSON {
				t.Errorf("seed %d: image %d is not the image its seed %d gives alone", c.seed, i, d.Seed)
			}
		}
	}
}

// TestImageClientDefaults: OpenAI's image model names and sizes, which image clients send
// as they are, get the loaded model's pictures at its size (the response says which).
func TestImageClientDefaults(t *testing.T) {
	ts := newTestServer(t, Options{})
	for _, req := range []map[string]any{
		{"model": "dall-e-3", "prompt": "a fox", "size": "1024x1024"},
		{"model": "gpt-image-1", "prompt": "a fox", "size": "auto"},
		{"model": "DALL-E-2", "prompt": "a fox", "size": "256x256"},
	} {
		resp, body := ts.post(t, "/v1/images/generations", req)
		var got imagesResponse
		if resp.StatusCode != 200 || json.Unmarshal(body, &got) != nil || len(got.Data) != 1 || got.Size != "96x96" {
			t.Errorf("%v: %d, size %q, %d images: %.300s", req, resp.StatusCode, got.Size, len(got.Data), body)
		}
	}
}

// A generation over the server's memory limit is the client's to fix only when a smaller n
// fits (400 about n, saying how many); when not even one image fits, it is the server's
// (503 server_error), which clients may retry or report, not a bad request.
func TestImagesMemoryLimit(t *testing.T) {
	m := tinyA(t)
	one, err := m.EstimateGenerationMemory(1, 16)
	if err != nil {
		t.Fatal(err)
	}
	two, err := m.EstimateGenerationMemory(2, 16)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		limit  int64
		status int
		param  string
		says   string
	}{
		{"a smaller n fits", (one.Total() + two.Total()) / 2, 400, "n", "(n 1 fits)"},
		{"nothing fits", one.Total() / 4, 503, "", ""},
	} {
		ts := newTestServer(t, Options{MaxMemoryBytes: c.limit})
		resp, body := ts.post(t, "/v1/images/generations", map[string]any{"prompt": "a fox", "n": 2})
		checkError(t, c.name, resp, body, c.status, "insufficient_memory", c.param)
		if !strings.Contains(string(body), c.says) {
			t.Errorf("%s: %s does not say %q", c.name, body, c.says)
		}
	}
}
