package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/janus-desktop/janus/model"
)

// completion is the part of a chat response the tests read.
type completion struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens        int `json:"prompt_tokens"`
		CompletionTokens    int `json:"completion_tokens"`
		TotalTokens         int `json:"total_tokens"`
		PromptTokensDetails struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	} `json:"usage"`
}

func (c completion) content(t *testing.T) string {
	t.Helper()
	if len(c.Choices) != 1 {
		t.Fatalf("%d choices, want 1", len(c.Choices))
	}
	return c.Choices[0].Message.Content
}

func userMsg(text string, images ...string) map[string]any {
	if len(images) == 0 {
		return map[string]any{"role": "user", "content": text}
	}
	var parts []map[string]any
	for _, u := range images {
		parts = append(parts, map[string]any{"type": "image_url", "image_url": map[string]any{"url": u}})
	}
	parts = append(parts, map[string]any{"type": "text", "text": text})
	return map[string]any{"role": "user", "content": parts}
}

func assistantMsg(text string) map[string]any {
	return map[string]any{"role": "assistant", "content": text}
}

// chatOK posts a chat request and returns the decoded completion, failing on any error.
func chatOK(t *testing.T, ts *testServer, req map[string]any) completion {
	t.Helper()
	resp, body := ts.post(t, "/v1/chat/completions", req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	return decodeJSON[completion](t, body)
}

// streamedChat posts a streaming chat request, checks every chunk's shape and returns the
// concatenated content, the finish reason and the usage chunk (when asked).
func streamedChat(t *testing.T, ts *testServer, req map[string]any) (string, string, map[string]any) {
	t.Helper()
	req["stream"] = true
	resp, body := ts.post(t, "/v1/chat/completions", req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	names, data := sseEvents(t, body)
	if len(data) < 3 || data[len(data)-1] != "[DONE]" {
		t.Fatalf("stream does not end with [DONE] after at least two chunks: %q", data)
	}
	var text strings.Builder
	finish := ""
	var usage map[string]any
	id := ""
	for i, d := range data[:len(data)-1] {
		if names[i] != "" {
			t.Errorf("chunk %d has an event name %q; chat chunks are unnamed", i, names[i])
		}
		var c struct {
			ID      string         `json:"id"`
			Object  string         `json:"object"`
			Created int64          `json:"created"`
			Model   string         `json:"model"`
			Usage   map[string]any `json:"usage"`
			Choices []struct {
				Index        int             `json:"index"`
				Delta        map[string]any  `json:"delta"`
				FinishReason *string         `json:"finish_reason"`
				Logprobs     json.RawMessage `json:"logprobs"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(d), &c); err != nil {
			t.Fatalf("chunk %d %q: %v", i, d, err)
		}
		if c.Object != "chat.completion.chunk" || c.Model != "tiny-a" || c.Created == 0 || !strings.HasPrefix(c.ID, "chatcmpl-") {
			t.Errorf("chunk %d: id %q object %q created %d model %q", i, c.ID, c.Object, c.Created, c.Model)
		}
		if id == "" {
			id = c.ID
		} else if c.ID != id {
			t.Errorf("chunk %d has id %q, the first had %q", i, c.ID, id)
		}
		if c.Usage != nil {
			if len(c.Choices) != 0 || i != len(data)-2 {
				t.Errorf("usage chunk %d has %d choices or is not the last", i, len(c.Choices))
			}
			usage = c.Usage
			continue
		}
		if len(c.Choices) != 1 || c.Choices[0].Index != 0 {
			t.Fatalf("chunk %d: choices %+v", i, c.Choices)
		}
		ch := c.Choices[0]
		switch {
		case i == 0:
			if ch.Delta["role"] != "assistant" || ch.Delta["content"] != "" || ch.FinishReason != nil {
				t.Errorf("first chunk: delta %v finish %v, want the assistant role and empty content", ch.Delta, ch.FinishReason)
			}
		case ch.FinishReason != nil:
			if finish != "" {
				t.Errorf("second finish reason in chunk %d", i)
			}
			finish = *ch.FinishReason
			if len(ch.Delta) != 0 {
				t.Errorf("finish chunk has delta %v", ch.Delta)
			}
		default:
			if finish != "" {
				t.Errorf("content chunk %d after the finish reason", i)
			}
			s, ok := ch.Delta["content"].(string)
			if !ok || s == "" || len(ch.Delta) != 1 {
				t.Errorf("chunk %d: delta %v, want non-empty content only", i, ch.Delta)
			}
			text.WriteString(s)
		}
	}
	if finish == "" {
		t.Error("no chunk carried a finish_reason")
	}
	return text.String(), finish, usage
}

func finishReason(r model.Result) string {
	if r.FinishReason == model.FinishEOS {
		return "stop"
	}
	return "length"
}

// TestChatMatchesUnderstand: the server's answer, streamed or not, is what model.Understand
// (the path of `janus understand`) gives for the same question, images and sampling.
func TestChatMatchesUnderstand(t *testing.T) {
	ts := newTestServer(t, Options{})
	m := ts.m
	land, _ := fixtureImage(t, "synthetic_landscape_150x100.png")
	port, _ := fixtureImage(t, "synthetic_portrait_90x140.png")
	cases := []struct {
		name     string
		question string
		images   [][]byte
		fields   map[string]any
		opts     model.AnswerOptions
	}{
		{"text greedy", "Hello, who are you?", nil, map[string]any{"max_tokens": 24},
			model.AnswerOptions{MaxNewTokens: 24}},
		{"image greedy", "What is in the picture?", [][]byte{land}, map[string]any{"max_tokens": 20},
			model.AnswerOptions{MaxNewTokens: 20}},
		{"two images sampled", "Compare them.", [][]byte{land, port}, map[string]any{"max_tokens": 20, "temperature": 0.9, "seed": 7},
			model.AnswerOptions{MaxNewTokens: 20, Temperature: 0.9, Seed: 7}},
		{"top_p top_k", "Tell a story.", nil, map[string]any{"max_completion_tokens": 16, "temperature": 1.3, "top_p": 0.7, "top_k": 0, "seed": 3},
			model.AnswerOptions{MaxNewTokens: 16, Temperature: 1.3, TopP: 0.7, Seed: 3}},
		{"repetition penalty", "Count.", nil, map[string]any{"max_tokens": 16, "repetition_penalty": 1.5},
			model.AnswerOptions{MaxNewTokens: 16, RepetitionPenalty: 1.5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := c.opts
			if opts.Temperature > 0 && opts.TopP == 0 && c.fields["top_p"] == nil {
				opts.TopP = model.DefaultTopP
			}
			if c.fields["top_k"] == nil {
				opts.TopK = model.DefaultTopK
			}
			imgs := make([]*model.Image, len(c.images))
			var urls []string
			for i, raw := range c.images {
				var err error
				if imgs[i], err = m.DecodeImage("test", raw); err != nil {
					t.Fatal(err)
				}
				urls = append(urls, dataURL(raw))
			}
			want, err := m.Understand(context.Background(), c.question, imgs, opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			req := map[string]any{"model": "tiny-a", "messages": []any{userMsg(c.question, urls...)}}
			for k, v := range c.fields {
				req[k] = v
			}
			got := chatOK(t, ts, req)
			if got.content(t) != want.Text {
				t.Errorf("answer %q, model.Understand %q", got.content(t), want.Text)
			}
			if got.Object != "chat.completion" || got.Model != "tiny-a" || !strings.HasPrefix(got.ID, "chatcmpl-") ||
				got.Choices[0].Message.Role != "assistant" || got.Choices[0].FinishReason != finishReason(want) {
				t.Errorf("response %+v", got)
			}
			u := got.Usage
			if u.PromptTokens != want.PromptTokens || u.CompletionTokens != len(want.Tokens) || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
				t.Errorf("usage %+v, want %d prompt and %d completion tokens", u, want.PromptTokens, len(want.Tokens))
			}

			req["stream_options"] = map[string]any{"include_usage": true}
			text, finish, usage := streamedChat(t, ts, req)
			if text != want.Text || finish != finishReason(want) {
				t.Errorf("streamed %q (%s), model.Understand %q (%s)", text, finish, want.Text, finishReason(want))
			}
			if usage == nil || usage["completion_tokens"] != float64(len(want.Tokens)) || usage["prompt_tokens"] != float64(want.PromptTokens) {
				t.Errorf("usage chunk %v", usage)
			}
		})
	}
}

// TestChatMultiTurn: a conversation sent back with the server's answer continues the cached
// chat (reusing its KV cache) and answers as a fresh chat over the same history does; an
// edited history and a new conversation answer exactly too.
func TestChatMultiTurn(t *testing.T) {
	ts := newTestServer(t, Options{})
	m := ts.m
	land, _ := fixtureImage(t, "synthetic_landscape_150x100.png")
	port, _ := fixtureImage(t, "synthetic_portrait_90x140.png")
	img1, err := m.DecodeImage("land", land)
	if err != nil {
		t.Fatal(err)
	}
	img2, err := m.DecodeImage("port", port)
	if err != nil {
		t.Fatal(err)
	}
	opts := model.AnswerOptions{MaxNewTokens: 12, TopP: model.DefaultTopP, TopK: model.DefaultTopK}
	fresh := func(history []model.Message, q string, imgs ...*model.Image) model.Result {
		t.Helper()
		c, err := m.NewChatFrom(history)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r, err := c.Reply(context.Background(), q, imgs, opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// step sends messages and checks the answer against a fresh chat over history and q,
	// and that at least minCached prompt positions came from the cache.
	step := func(name string, messages []any, history []model.Message, q string, imgs []*model.Image, minCached int) completion {
		t.Helper()
		got := chatOK(t, ts, map[string]any{"max_tokens": 12, "messages": messages})
		want := fresh(history, q, imgs...)
		if got.content(t) != want.Text || got.Usage.PromptTokens != want.PromptTokens {
			t.Errorf("%s: answer %q (%d prompt tokens), a fresh chat %q (%d)", name, got.content(t), got.Usage.PromptTokens, want.Text, want.PromptTokens)
		}
		if c := got.Usage.PromptTokensDetails.CachedTokens; c < minCached {
			t.Errorf("%s: %d cached prompt tokens, want at least %d", name, c, minCached)
		}
		return got
	}
	u1, u2, u3 := userMsg("What is this?", dataURL(land)), userMsg("And this one?", dataURL(port)), userMsg("Thanks.")
	first := step("first", []any{u1}, nil, "What is this?", []*model.Image{img1}, 0)
	a1 := first.content(t)
	h1 := []model.Message{{Text: "What is this?", Images: []*model.Image{img1}}, {Assistant: true, Text: a1}}
	// The cache keeps the whole first prompt; the answer's positions only as far as its text
	// re-tokenizes to the generated ids, which a random tiny model's answer rarely does.
	second := step("continued", []any{u1, assistantMsg(a1), u2}, h1, "And this one?", []*model.Image{img2}, first.Usage.PromptTokens)
	a2 := second.content(t)
	h2 := append(h1, model.Message{Text: "And this one?", Images: []*model.Image{img2}}, model.Message{Assistant: true, Text: a2})
	step("continued, answer sent back with spaces", []any{u1, assistantMsg(a1), u2, assistantMsg(" " + a2 + "\n"), u3}, h2, "Thanks.", nil,
		second.Usage.PromptTokens)
	// An edited answer (or one the client cut at a stop sequence) reuses what comes before
	// it: the first prompt.
	step("edited answer", []any{u1, assistantMsg("A cat."), userMsg("Sure?")},
		[]model.Message{h1[0], {Assistant: true, Text: "A cat."}}, "Sure?", nil, first.Usage.PromptTokens)
	// A new conversation reuses the system prompt and the unchanged start of the question.
	step("new conversation", []any{u1}, nil, "What is this?", []*model.Image{img1}, 20)
}

// TestChatSystemAndMerging: system messages go before the first question, consecutive user
// messages are merged, and text parts are joined by newlines.
func TestChatSystemAndMerging(t *testing.T) {
	ts := newTestServer(t, Options{})
	opts := model.AnswerOptions{MaxNewTokens: 10, TopP: model.DefaultTopP, TopK: model.DefaultTopK}
	want, err := ts.m.Understand(context.Background(), "Be brief.\n\nFirst part\nsecond part\n\nMore.", nil, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := chatOK(t, ts, map[string]any{"max_tokens": 10, "messages": []any{
		map[string]any{"role": "system", "content": "Be brief."},
		map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "text", "text": "First part"}, map[string]any{"type": "text", "text": "second part"}}},
		map[string]any{"role": "user", "content": "More."},
	}})
	if got.content(t) != want.Text || got.Usage.PromptTokens != want.PromptTokens {
		t.Errorf("answer %q (%d prompt tokens), want %q (%d)", got.content(t), got.Usage.PromptTokens, want.Text, want.PromptTokens)
	}
}

// TestChatStop: the answer ends before the first stop sequence, streamed or not, and no part
// of it is sent.
func TestChatStop(t *testing.T) {
	ts := newTestServer(t, Options{})
	base := map[string]any{"max_tokens": 40, "temperature": 1, "seed": 11, "messages": []any{userMsg("Say something long.")}}
	full := chatOK(t, ts, base).content(t)
	runes := []rune(full)
	if len(runes) < 8 {
		t.Skipf("the tiny model's answer %q is too short to cut", full)
	}
	stop := string(runes[len(runes)/2 : len(runes)/2+3])
	wantText := full[:strings.Index(full, stop)]
	for _, stopField := range []any{stop, []any{"\x00never", stop}} {
		req := map[string]any{}
		for k, v := range base {
			req[k] = v
		}
		req["stop"] = stopField
		got := chatOK(t, ts, req)
		if got.content(t) != wantText || got.Choices[0].FinishReason != "stop" {
			t.Errorf("stop %q: answer %q (%s), want %q (stop)", stopField, got.content(t), got.Choices[0].FinishReason, wantText)
		}
		text, finish, _ := streamedChat(t, ts, req)
		if text != wantText || finish != "stop" {
			t.Errorf("stop %q streamed: %q (%s), want %q (stop)", stopField, text, finish, wantText)
		}
	}
}

func TestStopFilter(t *testing.T) {
	cases := []struct {
		stops  []string
		pieces []string
		sent   []string
		hit    bool
	}{
		{nil, []string{"ab", "cd"}, []string{"ab", "cd"}, false},
		{[]string{"END"}, []string{"ab", "cE", "N", "x"}, []string{"ab", "c", "ENx"}, false},
		{[]string{"END"}, []string{"ab", "cE", "ND", "x"}, []string{"ab", "c"}, true},
		{[]string{"xyz", "y"}, []string{"axyz"}, []string{"a"}, true},
		{[]string{"yz", "x"}, []string{"ayzx"}, []string{"a"}, true},
		{[]string{"é!"}, []string{"café", "!"}, []string{"caf"}, true},
		{[]string{"ab"}, []string{"a", "a", "b"}, []string{"a"}, true},
	}
	for _, c := range cases {
		var sent []string
		f := &stopFilter{stops: c.stops, emit: func(s string) { sent = append(sent, s) }}
		hit := false
		for _, p := range c.pieces {
			if hit = f.add(p); hit {
				break
			}
		}
		f.flush()
		if hit != c.hit || strings.Join(sent, "|") != strings.Join(c.sent, "|") || f.text.String() != strings.Join(c.sent, "") {
			t.Errorf("stops %q pieces %q: sent %q hit %v, want %q %v", c.stops, c.pieces, sent, hit, c.sent, c.hit)
		}
	}
}

// syncBuffer is a log the server's goroutines and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestChatRandomSeed: a sampled request without a seed samples with a random one, which the
// response (and each chunk of a stream) reports and the log records; sending it back gives
// the same answer, which is model.Understand's with that seed. A greedy answer reports none.
func TestChatRandomSeed(t *testing.T) {
	logs := &syncBuffer{}
	ts := newTestServer(t, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	type seeded struct {
		Seed    *uint64 `json:"seed"`
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	ask := func(fields map[string]any) seeded {
		t.Helper()
		req := map[string]any{"max_tokens": 12, "messages": []any{userMsg("Tell a story.")}}
		for k, v := range fields {
			req[k] = v
		}
		resp, body := ts.post(t, "/v1/chat/completions", req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		got := decodeJSON[seeded](t, body)
		if len(got.Choices) != 1 {
			t.Fatalf("%d choices: %s", len(got.Choices), body)
		}
		return got
	}
	seeds := map[uint64]bool{}
	for range 3 {
		got := ask(map[string]any{"temperature": 1})
		if got.Seed == nil {
			t.Fatal("a sampled answer without a seed reports no seed")
		}
		seeds[*got.Seed] = true
		want, err := ts.m.Understand(context.Background(), "Tell a story.", nil,
			model.AnswerOptions{MaxNewTokens: 12, Temperature: 1, TopP: model.DefaultTopP, TopK: model.DefaultTopK, Seed: *got.Seed}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.Choices[0].Message.Content != want.Text {
			t.Errorf("seed %d: answer %q, model.Understand %q", *got.Seed, got.Choices[0].Message.Content, want.Text)
		}
		again := ask(map[string]any{"temperature": 1, "seed": *got.Seed})
		if again.Seed == nil || *again.Seed != *got.Seed || again.Choices[0].Message.Content != got.Choices[0].Message.Content {
			t.Errorf("seed %d sent back: seed %v, answer %q, want %q", *got.Seed, again.Seed, again.Choices[0].Message.Content, got.Choices[0].Message.Content)
		}
		if !strings.Contains(logs.String(), fmt.Sprintf("seed=%d", *got.Seed)) {
			t.Errorf("the log does not record seed %d:\n%s", *got.Seed, logs)
		}
	}
	if len(seeds) != 3 {
		t.Errorf("three requests without a seed sampled with seeds %v, want three different ones", seeds)
	}
	if got := ask(nil); got.Seed != nil {
		t.Errorf("a greedy answer reports seed %d", *got.Seed)
	}

	// Every chunk of a stream carries the seed.
	resp, body := ts.post(t, "/v1/chat/completions", map[string]any{"max_tokens": 6, "temperature": 0.8, "stream": true,
		"stream_options": map[string]any{"include_usage": true}, "messages": []any{userMsg("hi")}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: status %d: %s", resp.StatusCode, body)
	}
	_, data := sseEvents(t, body)
	var first *uint64
	for i, d := range data[:len(data)-1] {
		var c struct {
			Seed *uint64 `json:"seed"`
		}
		if err := json.Unmarshal([]byte(d), &c); err != nil || c.Seed == nil {
			t.Fatalf("chunk %d has no seed (%v): %s", i, err, d)
		}
		if first == nil {
			first = c.Seed
		} else if *c.Seed != *first {
			t.Errorf("chunk %d has seed %d, the first %d", i, *c.Seed, *first)
		}
	}
}

// TestSamplingRulesShared: top_p and top_k follow the model's rule on both endpoints: what
// one accepts the other does, and a refusal names the field.
func TestSamplingRulesShared(t *testing.T) {
	s, err := NewServer(tinyA(t), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		field string
		value any
		ok    bool
	}{
		{"top_p", 0.0, true}, {"top_p", 0.5, true}, {"top_p", 1.0, true}, {"top_p", 1.5, false}, {"top_p", -0.1, false},
		{"top_k", 0, true}, {"top_k", 40, true}, {"top_k", -1, false},
	} {
		raw, _ := json.Marshal(map[string]any{"prompt": "x", "temperature": 1, c.field: c.value, "messages": []any{userMsg("hi")}})
		var cr chatRequest
		var ir imageRequest
		if err := json.Unmarshal(raw, &cr); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &ir); err != nil {
			t.Fatal(err)
		}
		_, ce := s.parseChat(context.Background(), &cr)
		_, ie := s.parseImages(context.Background(), &ir)
		for _, r := range []struct {
			endpoint string
			e        *apiError
		}{{"chat", ce}, {"images", ie}} {
			if (r.e == nil) != c.ok {
				t.Errorf("%s %s %v: error %v, want accepted %v", r.endpoint, c.field, c.value, r.e, c.ok)
			}
			if r.e != nil && (r.e.status != 400 || r.e.param != c.field) {
				t.Errorf("%s %s %v: status %d param %q", r.endpoint, c.field, c.value, r.e.status, r.e.param)
			}
		}
	}
}

// TestOpenAILeniency: requests OpenAI answers that a stricter server refused: only a system
// message (it is the question), a negative seed (a random one, as none), and top_p 0 (only
// the likeliest token, where the model's 0 would turn the filter off and sample from all).
func TestOpenAILeniency(t *testing.T) {
	ts := newTestServer(t, Options{})
	answer := func(name string, req map[string]any) chatCompletion {
		t.Helper()
		resp, body := ts.post(t, "/v1/chat/completions", req)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", name, resp.StatusCode, body)
		}
		var c chatCompletion
		if err := json.Unmarshal(body, &c); err != nil || len(c.Choices) != 1 {
			t.Fatalf("%s: %v: %s", name, err, body)
		}
		return c
	}
	system := answer("only system", map[string]any{"max_tokens": 4, "messages": []any{map[string]any{"role": "system", "content": "Say hello."}}})
	user := answer("the same as a user", map[string]any{"max_tokens": 4, "messages": []any{userMsg("Say hello.")}})
	if system.Choices[0].Message.Content != user.Choices[0].Message.Content {
		t.Errorf("a lone system message answered %q, the same text as the user's %q", system.Choices[0].Message.Content, user.Choices[0].Message.Content)
	}
	answer("tools offered, auto", map[string]any{"max_tokens": 2, "tool_choice": "auto", "tools": []any{map[string]any{"type": "function"}}, "messages": []any{userMsg("hi")}})
	answer("no log probabilities", map[string]any{"max_tokens": 2, "logprobs": false, "top_logprobs": 0, "messages": []any{userMsg("hi")}})
	answer("text format", map[string]any{"max_tokens": 2, "response_format": map[string]any{"type": "text"}, "messages": []any{userMsg("hi")}})
	drawn := answer("seed -1", map[string]any{"max_tokens": 4, "temperature": 1, "seed": -1, "messages": []any{userMsg("hi")}})
	if drawn.Seed == nil {
		t.Errorf("seed -1: no seed reported for a sampled answer")
	}
	greedy := answer("greedy", map[string]any{"max_tokens": 12, "messages": []any{userMsg("hi")}})
	for seed := range 3 {
		topP0 := answer("top_p 0", map[string]any{"max_tokens": 12, "temperature": 1, "top_p": 0, "seed": seed, "messages": []any{userMsg("hi")}})
		if topP0.Choices[0].Message.Content != greedy.Choices[0].Message.Content {
			t.Errorf("top_p 0 (seed %d) answered %q, not the greedy %q", seed, topP0.Choices[0].Message.Content, greedy.Choices[0].Message.Content)
		}
	}
	resp, body := ts.post(t, "/v1/images/generations", map[string]any{"prompt": "x", "seed": -3})
	if resp.StatusCode != 200 {
		t.Errorf("image seed -3: status %d: %s", resp.StatusCode, body)
	}
}
