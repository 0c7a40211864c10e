package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model"
)

// TestServingBesideChat is the app with "Serve on localhost" on: a chat of the window and
// a request through the server run on the same engine, queued together behind a held turn
// so that each waits for the other, and both answer exactly what each answers alone.
func TestServingBesideChat(t *testing.T) {
	engine := tinyEngine(t)
	_, landscape := fixtureImage(t, "synthetic_landscape_150x100.png")
	portrait, _ := fixtureImage(t, "synthetic_portrait_90x140.png")
	// Sampled at temperature 1 with fixed seeds, so that any change of the logits shows in
	// the text (tiny-a's greedy answers are much alike).
	opts := model.AnswerOptions{MaxNewTokens: 12, Temperature: 1, Seed: 7}

	// chat asks the window's question in a new chat and returns the started job and the session.
	chat := func() (*app.Job, *app.ChatSession) {
		s := app.NewChatSession(nil, engine, opts)
		j, err := s.Send("What is in this picture?", []string{landscape}, app.ChatCallbacks{})
		if err != nil {
			t.Fatal(err)
		}
		return j, s
	}
	answerOf := func(j *app.Job, s *app.ChatSession) string {
		t.Helper()
		if err := j.Wait(); err != nil {
			t.Fatal(err)
		}
		msgs := s.Messages()
		last := msgs[len(msgs)-1]
		if !last.Assistant || last.State != app.StateDone || last.Tokens == 0 {
			t.Fatalf("the chat's answer: %+v", last)
		}
		s.Close()
		return last.Text
	}

	v, err := StartServing(context.Background(), engine, "127.0.0.1:0", Options{APIKey: "sesame", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Stop(context.Background())
	ts := &testServer{url: "http://" + v.Addr()}
	request := map[string]any{"model": "default", "max_tokens": 12, "temperature": 1, "seed": 3, "messages": []any{
		map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "image_url", "image_url": map[string]any{"url": dataURL(portrait)}},
			map[string]any{"type": "text", "text": "Describe this image."},
		}},
	}}
	serve := func() string {
		resp, body := ts.post(t, "/v1/chat/completions", request, "Authorization", "Bearer sesame")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("server: %s %s", resp.Status, body)
			return ""
		}
		c := decodeJSON[chatCompletion](t, body)
		if len(c.Choices) != 1 || c.Usage == nil || c.Usage.CompletionTokens == 0 {
			t.Errorf("server answered %s", body)
			return ""
		}
		return c.Choices[0].Message.Content
	}

	if _, body := ts.get(t, "/v1/models", "Authorization", "Bearer sesame"); !strings.Contains(string(body), `"id":"tiny-a"`) {
		t.Errorf("/v1/models: %s, want the engine's model tiny-a", body)
	}
	chatAlone := answerOf(chat())
	servedAlone := serve()
	if chatAlone == servedAlone {
		t.Fatalf("the two questions have the same answer %q: the test could not tell them apart", chatAlone)
	}

	t.Logf("alone: chat %q, server %q", chatAlone, servedAlone)
	shared := engine.(app.SharedModel)
	for round := range 3 {
		// Hold the model while both tasks arrive, so that both wait and then run one after
		// the other in whatever order the turn gives.
		release, err := shared.Turn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var served string
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			served = serve()
		}()
		j, s := chat()
		waitFor(t, "the server's job to wait for the model", func() bool {
			_, body := ts.get(t, "/health")
			return decodeJSON[struct{ Busy bool }](t, body).Busy
		})
		select {
		case <-j.Done():
			t.Fatal("the chat ran while the model's turn was held")
		default:
		}
		release()
		chatted := answerOf(j, s)
		wg.Wait()
		if chatted != chatAlone || served != servedAlone {
			t.Errorf("round %d: chat %q and server %q, want %q and %q as each alone", round, chatted, served, chatAlone, servedAlone)
		}
	}

	// Stopping the server leaves the engine to the window.
	if err := v.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-v.Done()
	if _, err := http.Get(ts.url + "/health"); err == nil {
		t.Error("the stopped server still answers")
	}
	if got := answerOf(chat()); got != chatAlone {
		t.Errorf("chat after the server stopped: %q, want %q", got, chatAlone)
	}
}

// quiet drops the servers' request log.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestStartServingErrors(t *testing.T) {
	// A fake engine has no model to share.
	if _, err := StartServing(context.Background(), apptest.NewFakeEngine(0), "127.0.0.1:0", Options{}); err == nil {
		t.Error("serving a fake engine succeeded")
	}
	dir := fixtures.Path(t, "models", "tiny-a")
	engine, err := app.LoadEngine(context.Background(), dir, app.LoadOptions{Threads: 1, SkipGeneration: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	// The port is taken.
	ctx, cancel := context.WithCancel(context.Background())
	var logged bytes.Buffer
	v, err := StartServing(ctx, engine, "127.0.0.1:0", Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(v.Addr(), ":")
	want := "serve tiny-a: port " + port + " on 127.0.0.1 is already in use"
	if _, err := StartServing(context.Background(), engine, v.Addr(), Options{}); err == nil {
		t.Errorf("a second server on %s started", v.Addr())
	} else if err.Error() != want || !AddressInUse(err) {
		t.Errorf("a second server on %s: %q, want %q (and EADDRINUSE for the app)", v.Addr(), err, want)
	}
	// Ending ctx stops the server.
	cancel()
	<-v.Done()
	if err := v.Err(); err != nil {
		t.Errorf("Err after the context ended: %v", err)
	}
	if _, err := http.Get(v.URL() + "/models"); err == nil {
		t.Error("the server still answers after its context ended")
	}
	if err := v.Stop(context.Background()); err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("a second Stop: %v", err)
	}
	// The log says it stopped, once, as it says it started.
	if n := strings.Count(logged.String(), "stopped serving the OpenAI-compatible API"); n != 1 {
		t.Errorf("the log says %d times that the server stopped:\n%s", n, logged.String())
	}
}

// TestServingAnswersToTheRepository: a model the app loaded from the hub cache is also
// reached by its repository id, as janus serve's is.
func TestServingAnswersToTheRepository(t *testing.T) {
	snap := filepath.Join(t.TempDir(), "hub", "models--deepseek-ai--Janus-Pro-1B", "snapshots", "1111")
	apptest.TinyA(t, snap)
	if got := app.RepoOf(snap); got != "deepseek-ai/Janus-Pro-1B" {
		t.Fatalf("RepoOf(%s) = %q", snap, got)
	}
	if got := app.RepoOf(fixtures.Path(t, "models", "tiny-a")); got != "" {
		t.Errorf("RepoOf of a plain folder = %q", got)
	}
	engine, err := app.LoadEngine(context.Background(), snap, app.LoadOptions{Threads: 1, Name: "Janus-Pro-1B"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	v, err := StartServing(context.Background(), engine, "127.0.0.1:0", Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Stop(context.Background())
	for _, id := range []string{"Janus-Pro-1B", "deepseek-ai/Janus-Pro-1B"} {
		resp, err := http.Get(v.URL() + "/models/" + id)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /v1/models/%s: %d", id, resp.StatusCode)
		}
	}
}

// Pause keeps the address while the next model loads: requests get 503 model_loading with
// Retry-After (they found no server), and ResumeServing serves the next model there; a
// Loading closed instead frees the address.
func TestServingPause(t *testing.T) {
	engine := tinyEngine(t)
	v, err := StartServing(context.Background(), engine, "127.0.0.1:0", Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	health := func(what string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + v.Addr() + "/health")
		if err != nil {
			return 0, err.Error()
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(body) + resp.Header.Get("Retry-After")
	}
	if code, body := health("serving"); code != http.StatusOK {
		t.Fatalf("GET /health while serving: %d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := v.Pause(ctx, "tiny-b")
	if err != nil {
		t.Fatal(err)
	}
	if code, body := health("paused"); code != http.StatusServiceUnavailable || !strings.Contains(body, "model_loading") || !strings.Contains(body, "tiny-b") {
		t.Errorf("GET /health while the next model loads: %d %s", code, body)
	}
	v2, err := ResumeServing(ctx, engine, l, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Addr() != v.Addr() {
		t.Errorf("resumed on %s, paused on %s", v2.Addr(), v.Addr())
	}
	if code, body := health("resumed"); code != http.StatusOK {
		t.Errorf("GET /health after ResumeServing: %d %s", code, body)
	}
	// Paused again and closed: the address is free.
	l, err = v2.Pause(ctx, "tiny-c")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if code, body := health("closed"); code != 0 {
		t.Errorf("GET /health after the Loading was closed: %d %s", code, body)
	}
	ln, err := net.Listen("tcp", v.Addr())
	if err != nil {
		t.Errorf("the address is still taken after Close: %v", err)
	} else {
		ln.Close()
	}
}

// tinyEngine loads tiny-a as the app does, closed when the test ends.
func tinyEngine(t *testing.T) app.Engine {
	t.Helper()
	engine, err := app.LoadEngine(context.Background(), fixtures.Path(t, "models", "tiny-a"), app.LoadOptions{Threads: 1, Name: "tiny-a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	return engine
}
