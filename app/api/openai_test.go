package api

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/janus-desktop/janus/model"
)

// openaiPackage is the npm package the client test installs: the official client, pinned
// to its major version so that a breaking release does not break the test unannounced.
const openaiPackage = "openai@^7"

// TestOpenAINodeClient runs testdata/openai_client.mjs, which uses the official openai npm
// client, against the server: models, chat with an image (plain and streamed), image
// generation (plain and streamed) and two errors. It needs node, npm and the npm registry,
// and skips with a message without them, unless JANUS_REQUIRE_OPENAI_TEST=1 (.ci/run sets
// it) makes that a failure.
func TestOpenAINodeClient(t *testing.T) {
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode != nil || errNpm != nil {
		msg := "node and npm are needed to run the openai npm client; not found"
		if os.Getenv("JANUS_REQUIRE_OPENAI_TEST") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ts := newTestServer(t, Options{APIKey: "test-key", Software: "Janus Desktop test"})
	_, imgPath := fixtureImage(t, "synthetic_landscape_150x100.png")

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name": "janus-openai-test", "private": true, "type": "module"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--loglevel=error", openaiPackage)
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		msg := "npm install " + openaiPackage + ": " + err.Error() + "\n" + string(out)
		if os.Getenv("JANUS_REQUIRE_OPENAI_TEST") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	script, err := os.ReadFile(filepath.Join("testdata", "openai_client.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "client.mjs"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	run := exec.CommandContext(ctx, node, "client.mjs", ts.url+"/v1", "test-key", imgPath)
	run.Dir = dir
	var stdout, stderr bytes.Buffer
	run.Stdout, run.Stderr = &stdout, &stderr
	if err := run.Run(); err != nil {
		t.Fatalf("node client.mjs: %v\n%s", err, stderr.String())
	}
	var got struct {
		Models []string
		Chat   string
		Finish string
		Usage  struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
		Streamed    string
		Chunks      int
		StreamUsage *struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"streamUsage"`
		Image         string
		StreamedImage string
		NotFound      struct {
			Status int
			Code   string
		}
		BadKey struct {
			Status int
			Code   string
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("client output %q: %v\n%s", stdout.String(), err, stderr.String())
	}

	m := ts.m
	img, err := m.ReadImage(imgPath)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Understand(context.Background(), "What is in the picture?", []*model.Image{img},
		model.AnswerOptions{MaxNewTokens: 16, Temperature: 0.7, TopP: model.DefaultTopP, TopK: model.DefaultTopK, Seed: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Models) != 1 || got.Models[0] != "tiny-a" {
		t.Errorf("models %v", got.Models)
	}
	if got.Chat != want.Text || got.Finish != finishReason(want) || got.Usage.CompletionTokens != len(want.Tokens) {
		t.Errorf("chat %q (%s, %+v), want %q (%s, %d tokens)", got.Chat, got.Finish, got.Usage, want.Text, finishReason(want), len(want.Tokens))
	}
	if got.Streamed != want.Text || got.Chunks < 3 || got.StreamUsage == nil || got.StreamUsage.CompletionTokens != len(want.Tokens) {
		t.Errorf("streamed %q in %d chunks (usage %+v), want %q", got.Streamed, got.Chunks, got.StreamUsage, want.Text)
	}
	gen, err := m.GenerateImages(context.Background(), "A red fox", model.GenerateImageOptions{N: 1, CFG: 5, Temperature: 1, Seed: 4, MaxMemoryBytes: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]string{"image": got.Image, "streamed image": got.StreamedImage} {
		if b == "" {
			t.Errorf("%s: none received", name)
			continue
		}
		pix, _ := decodePNG(t, b64(t, b))
		if !bytes.Equal(pix.Pix, gen.Images[0].Pix) {
			t.Errorf("%s differs from model.GenerateImages'", name)
		}
	}
	if got.NotFound.Status != 404 || got.NotFound.Code != "model_not_found" {
		t.Errorf("unknown model: the client saw %+v", got.NotFound)
	}
	if got.BadKey.Status != 401 || got.BadKey.Code != "invalid_api_key" {
		t.Errorf("wrong key: the client saw %+v", got.BadKey)
	}
}
