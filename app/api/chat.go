package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/model"
	"github.com/janus-desktop/janus/model/tokenizer"
)

// chatRequest is the body of POST /v1/chat/completions. Fields OpenAI defines that do not
// apply (tools offered with tool_choice auto or none, penalties, ...) are ignored; those
// that demand what the model cannot give (a tool call, JSON output, log probabilities) are
// refused.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	TopK                *int            `json:"top_k"` // extension
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Seed                *seedField      `json:"seed"`
	Stop                json.RawMessage `json:"stop"`
	Stream              bool            `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	N                 *int            `json:"n"`
	RepetitionPenalty *float64        `json:"repetition_penalty"` // extension
	ToolChoice        json.RawMessage `json:"tool_choice"`
	ResponseFormat    *struct {
		Type string `json:"type"`
	} `json:"response_format"`
	Logprobs    bool `json:"logprobs"`
	TopLogprobs int  `json:"top_logprobs"`
	// Asked for, they are refused rather than ignored (what the model cannot give).
	FunctionCall json.RawMessage    `json:"function_call"` // the deprecated tool_choice
	Modalities   []string           `json:"modalities"`
	Audio        json.RawMessage    `json:"audio"`
	LogitBias    map[string]float64 `json:"logit_bias"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type contentPart struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	ImageURL json.RawMessage `json:"image_url"`
}

// imageRef is an image a message points at; parseChat decodes it before the request waits
// for the model, so that a slow or huge image never holds the model.
type imageRef struct {
	param string // where it was in the request, for errors
	url   string
	sum   [32]byte // the encoded bytes' hash, which the cached conversation's images are kept by
	img   *model.Image
}

// turn is one speaker's turn after consecutive messages of the same role are merged.
type turn struct {
	assistant bool
	text      string
	images    []imageRef
}

// chatJob is a checked chat request.
type chatJob struct {
	turns        []turn // alternating, first and last the user's
	opts         model.AnswerOptions
	seedDrawn    bool // opts.Seed was drawn at random: the request samples without a seed
	stops        []string
	stream       bool
	includeUsage bool
}

// maxStops and maxStopBytes bound the stop field, as OpenAI does (4 sequences).
const (
	maxStops     = 4
	maxStopBytes = 256
)

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	serveJob(s, w, r, "chat", s.parseChat, s.runChat)
}

// parseChat checks a request completely before it queues.
func (s *Server) parseChat(ctx context.Context, req *chatRequest) (*chatJob, *apiError) {
	if e := s.checkModel(req.Model); e != nil {
		return nil, e
	}
	job := &chatJob{stream: req.Stream}
	if req.StreamOptions != nil {
		job.includeUsage = req.StreamOptions.IncludeUsage
	}
	if req.N != nil && *req.N != 1 {
		return nil, badRequest("n", "n is %d: this server gives one answer per request", *req.N)
	}
	// An agent that must get a tool call or JSON would get free text and fail later, far
	// from the cause.
	if c := strings.TrimSpace(string(req.ToolChoice)); c != "" && c != "null" && c != `"auto"` && c != `"none"` {
		return nil, badRequest("tool_choice", "tool_choice %s: Janus cannot call tools; leave tool_choice out, or auto or none", truncate(c, 60))
	}
	if c := strings.TrimSpace(string(req.FunctionCall)); c != "" && c != "null" && c != `"auto"` && c != `"none"` {
		return nil, badRequest("function_call", "function_call %s: Janus cannot call functions; leave function_call out, or auto or none", truncate(c, 60))
	}
	if slices.ContainsFunc(req.Modalities, func(m string) bool { return m != "text" }) {
		return nil, badRequest("modalities", "modalities %q: Janus answers in text only; leave modalities out or [\"text\"]", req.Modalities)
	}
	if a := strings.TrimSpace(string(req.Audio)); a != "" && a != "null" {
		return nil, badRequest("audio", "audio: Janus answers in text only; leave audio out")
	}
	if len(req.LogitBias) > 0 {
		return nil, badRequest("logit_bias", "logit_bias: this server does not bias tokens; leave logit_bias out")
	}
	// A client that asks for them reads them, and would fail on the null it got.
	if req.Logprobs {
		return nil, badRequest("logprobs", "logprobs: this server gives no log probabilities; leave logprobs out or false")
	}
	if req.TopLogprobs != 0 {
		return nil, badRequest("top_logprobs", "top_logprobs %d: this server gives no log probabilities; leave top_logprobs out", req.TopLogprobs)
	}
	if f := req.ResponseFormat; f != nil && f.Type != "" && f.Type != "text" {
		return nil, badRequest("response_format", "response_format %q: Janus answers in free text, with no JSON mode", f.Type)
	}
	var e *apiError
	if job.opts, e = s.answerOptions(req); e != nil {
		return nil, e
	}
	if job.stops, e = parseStop(req.Stop); e != nil {
		return nil, e
	}
	if job.turns, e = s.parseMessages(req.Messages); e != nil {
		return nil, e
	}
	if e = s.decodeImages(ctx, job.turns); e != nil {
		return nil, e
	}
	if _, set := req.Seed.get(); !set && job.opts.Temperature > 0 {
		// Without a seed every sampled answer would be the same one (seed 0); the seed drawn
		// is logged and returned, so the answer can be had again.
		seed, err := app.RandomSeed()
		if err != nil {
			return nil, internalError("%v", err)
		}
		job.opts.Seed, job.seedDrawn = seed, true
	}
	return job, nil
}

// answerOptions maps the sampling fields. Absent fields take `janus understand`'s defaults
// (greedy, as the official inference.py; top_p 0.95 and top_k 50 when sampling), so the same
// request gives the CLI's answer. top_p, top_k and repetition_penalty follow the model's own
// rules (model.AnswerOptions.Validate), which the image endpoint shares for top_p and top_k.
func (s *Server) answerOptions(req *chatRequest) (model.AnswerOptions, *apiError) {
	o := model.AnswerOptions{MaxNewTokens: model.DefaultMaxNewTokens, TopP: model.DefaultTopP, TopK: model.DefaultTopK}
	if req.Temperature != nil {
		if t := *req.Temperature; !(t >= 0 && t <= 2) {
			return o, badRequest("temperature", "temperature %v must be between 0 and 2", t)
		}
		o.Temperature = *req.Temperature
	}
	if req.TopP != nil {
		if e := checkSampling("top_p", model.AnswerOptions{TopP: *req.TopP}); e != nil {
			return o, e
		}
		o.TopP = *req.TopP
	}
	if req.TopK != nil {
		if e := checkSampling("top_k", model.AnswerOptions{TopK: *req.TopK}); e != nil {
			return o, e
		}
		o.TopK = *req.TopK
	}
	if req.TopP != nil && *req.TopP == 0 {
		// To OpenAI top_p 0 keeps only the likeliest token; to the model 0 turns the filter
		// off, which would sample from every token.
		o.TopP, o.TopK = 0, 1
	}
	maxTok, param := req.MaxCompletionTokens, "max_completion_tokens"
	if maxTok == nil {
		maxTok, param = req.MaxTokens, "max_tokens"
	}
	if maxTok != nil {
		if *maxTok < 1 || *maxTok > s.lim.MaxTokens {
			return o, badRequest(param, "%s %d must be between 1 and %d", param, *maxTok, s.lim.MaxTokens)
		}
		o.MaxNewTokens = *maxTok
	}
	if seed, set := req.Seed.get(); set {
		o.Seed = seed
	}
	if req.RepetitionPenalty != nil {
		// 0 means "off" to the model, but a client sending 0 means a penalty: refuse it.
		if p := *req.RepetitionPenalty; p == 0 {
			return o, badRequest("repetition_penalty", "repetition_penalty 0 is not a penalty: send a number > 0 (1 is off)")
		}
		if e := checkSampling("repetition_penalty", model.AnswerOptions{RepetitionPenalty: *req.RepetitionPenalty}); e != nil {
			return o, e
		}
		o.RepetitionPenalty = *req.RepetitionPenalty
	}
	if err := o.Validate(); err != nil {
		return o, badRequest("", "sampling options: %v", err)
	}
	return o, nil
}

// checkSampling checks one sampling field, set alone in o (model.AnswerOptions or
// model.GenerateImageOptions), by the model's rule, so that both endpoints accept what the
// model does for it and the error names the field. (temperature has OpenAI's range, 0 to 2,
// tighter than the model's; top_p 0 is mapped before it: answerOptions.)
func checkSampling(param string, o interface{ Validate() error }) *apiError {
	if err := o.Validate(); err != nil {
		return badRequest(param, "%s: %v", param, err)
	}
	return nil
}

// seedField is the seed extension of both endpoints. The engine's seeds are uint64, and image
// i of a generation reports seed+i, which may pass 2^63: every uint64 is taken, so that any
// seed a response reports can be sent back. A negative seed asks for a random one, as none
// does (clients send -1 for "any").
type seedField struct {
	seed   uint64
	random bool
}

// UnmarshalJSON takes a JSON integer from -2^63 to 2^64-1. Anything else fails with the
// *json.UnmarshalTypeError of a uint64, which readJSON words and names the field by.
func (f *seedField) UnmarshalJSON(b []byte) error {
	err := json.Unmarshal(b, &f.seed)
	if err == nil {
		return nil
	}
	var n int64
	if json.Unmarshal(b, &n) == nil && n < 0 {
		*f = seedField{random: true}
		return nil
	}
	return err
}

// get returns the seed a request fixes, or false when it leaves the seed to chance (none, or
// a negative one).
func (f *seedField) get() (uint64, bool) {
	if f == nil || f.random {
		return 0, false
	}
	return f.seed, true
}

// parseStop reads stop: a string or an array of up to maxStops strings.
func parseStop(raw json.RawMessage) ([]string, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	var many []string
	if err := json.Unmarshal(raw, &one); err == nil {
		many = []string{one}
	} else if err := json.Unmarshal(raw, &many); err != nil {
		return nil, badRequest("stop", "stop must be a string or an array of strings")
	}
	if len(many) > maxStops {
		return nil, badRequest("stop", "stop has %d sequences; at most %d", len(many), maxStops)
	}
	for _, st := range many {
		if st == "" || len(st) > maxStopBytes {
			return nil, badRequest("stop", "each stop sequence must have 1 to %d bytes", maxStopBytes)
		}
	}
	return many, nil
}

// parseMessages turns the messages into alternating turns. System (and developer) messages
// have no place in Janus' template, which has its own fixed system prompt: their text goes
// before the first user message's. Consecutive messages of one role are merged (texts joined
// by a blank line), so that clients that split a question into several messages work.
func (s *Server) parseMessages(msgs []chatMessage) ([]turn, *apiError) {
	if len(msgs) == 0 {
		return nil, badRequest("messages", "messages is empty: send at least one user message")
	}
	var system []string
	var turns []turn
	var texts [][]string // each turn's texts, joined once at the end
	textBytes, images := 0, 0
	tag := s.m.Config.Processor.ImageTag
	for i, msg := range msgs {
		param := fmt.Sprintf("messages[%d]", i)
		text, refs, e := parseContent(param+".content", msg.Content, s.lim.ImagesPerRequest-images, s.lim.ImagesPerRequest)
		if e != nil {
			return nil, e
		}
		textBytes += len(text)
		images += len(refs)
		if textBytes > s.lim.PromptBytes {
			return nil, badRequest("messages", "the messages hold over %d bytes of text; the limit is %d", s.lim.PromptBytes, s.lim.PromptBytes).withCode("context_length_exceeded")
		}
		if tag != "" && strings.Contains(text, tag) {
			return nil, badRequest(param+".content", "the text contains the model's image tag %s; send images as image_url parts", tag)
		}
		if tok, ok := s.controlToken(text); ok {
			return nil, controlTokenError(param+".content", "text", tok)
		}
		var assistant bool
		switch msg.Role {
		case "system", "developer":
			if len(refs) > 0 {
				return nil, badRequest(param+".content", "a %s message cannot hold images", msg.Role)
			}
			if text != "" {
				system = append(system, text)
			}
			continue
		case "user":
		case "assistant":
			assistant = true
			if len(refs) > 0 {
				return nil, badRequest(param+".content", "an assistant message cannot hold images")
			}
		case "":
			return nil, badRequest(param+".role", "message %d has no role", i)
		default:
			return nil, badRequest(param+".role", "role %q is not supported (use system, user or assistant)", msg.Role)
		}
		if n := len(turns); n > 0 && turns[n-1].assistant == assistant {
			texts[n-1] = append(texts[n-1], text)
			turns[n-1].images = append(turns[n-1].images, refs...)
			continue
		}
		turns = append(turns, turn{assistant: assistant, images: refs})
		texts = append(texts, []string{text})
	}
	for i := range turns {
		turns[i].text = joinTexts(texts[i])
	}
	if len(turns) == 0 && len(system) > 0 {
		// Only system messages: they are the request (OpenAI answers them too).
		turns, texts, system = []turn{{}}, [][]string{system}, nil
		turns[0].text = joinTexts(texts[0])
	}
	switch {
	case len(turns) == 0:
		return nil, badRequest("messages", "messages has no user message")
	case turns[0].assistant:
		return nil, badRequest("messages", "the first message after the system messages must be the user's")
	case turns[len(turns)-1].assistant:
		return nil, badRequest("messages", "the last message must be the user's: the answer continues the conversation")
	}
	if len(system) > 0 {
		turns[0].text = joinTexts(append(system, turns[0].text))
	}
	if images > s.lim.ImagesPerRequest {
		return nil, badRequest("messages", "the messages hold %d images; the limit is %d", images, s.lim.ImagesPerRequest)
	}
	for i, t := range turns {
		if !t.assistant && strings.TrimSpace(t.text) == "" && len(t.images) == 0 {
			return nil, badRequest("messages", "user turn %d has neither text nor images", i/2+1)
		}
	}
	return turns, nil
}

// joinTexts joins the non-empty texts of merged messages by blank lines.
func joinTexts(texts []string) string {
	return strings.Join(slices.DeleteFunc(slices.Clone(texts), func(t string) bool { return t == "" }), "\n\n")
}

// parseContent reads a message's content: a string, null, or an array of text and image_url
// parts (text parts joined by newlines; the images go before the text, where the Janus
// template puts them), with at most maxImages images (of limit in the whole request).
func parseContent(param string, raw json.RawMessage, maxImages, limit int) (string, []imageRef, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil, nil
	}
	var text string
	if err := json.Unmarshal(raw, &text); err == nil {
		return text, nil, nil
	}
	var parts []contentPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", nil, badRequest(param, "content must be a string or an array of content parts")
	}
	var texts []string
	var refs []imageRef
	for j, p := range parts {
		pp := fmt.Sprintf("%s[%d]", param, j)
		switch p.Type {
		case "text":
			texts = append(texts, p.Text)
		case "image_url":
			url, e := imageURL(pp+".image_url", p.ImageURL)
			if e != nil {
				return "", nil, e
			}
			if len(refs) == maxImages {
				return "", nil, badRequest(pp, "%s is one image more than the server takes in one request: %d in all its messages", pp, limit)
			}
			refs = append(refs, imageRef{param: pp + ".image_url", url: url})
		default:
			return "", nil, badRequest(pp+".type", "content part type %q is not supported (use text or image_url)", p.Type)
		}
	}
	return strings.Join(texts, "\n"), refs, nil
}

// imageURL reads image_url: {"url": "..."} or, as some clients send it, the string itself.
func imageURL(param string, raw json.RawMessage) (string, *apiError) {
	var obj struct {
		URL string `json:"url"`
	}
	var url string
	if err := json.Unmarshal(raw, &url); err != nil {
		if err := json.Unmarshal(raw, &obj); err != nil {
			return "", badRequest(param, "image_url must be an object with a url")
		}
		url = obj.URL
	}
	if url == "" {
		return "", badRequest(param, "image_url has no url")
	}
	return url, nil
}

// conversation is the chat kept between requests: a request whose earlier turns are this
// chat's history continues it, reusing its KV cache.
type conversation struct {
	chat *model.Chat
}

// imageCache keeps the cached conversation's images by content hash, so that the same
// picture sent again is the same *model.Image (which is what the KV cache matches) and is not
// decoded again. It has its own lock: requests look into it while they are parsed, before
// they wait for the model, while the job holding the model replaces it.
type imageCache struct {
	mu sync.Mutex
	m  map[[32]byte]*model.Image
}

func (c *imageCache) get(sum [32]byte) *model.Image {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[sum]
}

// keep replaces the cache by m.
func (c *imageCache) keep(m map[[32]byte]*model.Image) {
	c.mu.Lock()
	c.m = m
	c.mu.Unlock()
}

// chatFor returns a chat whose history is earlier: the cached one when it already is
// (the usual next turn), the cached one reset when earlier is empty (a new conversation,
// which still reuses the cached system prompt and any identical start), or the cached one
// rewritten to earlier (an edited history, or an answer the client cut at a stop sequence:
// what comes before the first change is reused; the features of images it no longer holds
// are freed at its next answer).
func (c *conversation) chatFor(m *model.Model, earlier []model.Message) (*model.Chat, error) {
	if c.chat != nil {
		if sameHistory(c.chat.History(), earlier) {
			return c.chat, nil
		}
		if len(earlier) == 0 {
			c.chat.Reset()
			return c.chat, nil
		}
		if err := c.chat.Rewrite(earlier); err == nil {
			return c.chat, nil
		}
		c.chat.Close()
		c.chat = nil
	}
	chat, err := m.NewChatFrom(earlier)
	if err != nil {
		return nil, err
	}
	c.chat = chat
	return chat, nil
}

// sameHistory reports whether two histories template to the same prompt. The template strips
// each turn (Python's str.strip), so an answer the client sent back trimmed or with a
// trailing newline still matches.
func sameHistory(a, b []model.Message) bool {
	return slices.EqualFunc(a, b, func(x, y model.Message) bool {
		if x.Assistant != y.Assistant || !slices.Equal(x.Images, y.Images) {
			return false
		}
		if x.Assistant {
			return pyStrip(x.Text) == pyStrip(y.Text)
		}
		return x.Text == y.Text
	})
}

// pyStrip is Python's str.strip(), as model/prompt's template applies it: it also removes
// U+001C..U+001F.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) })
}

// release frees the cached chat.
func (c *conversation) release() {
	if c.chat != nil {
		c.chat.Close()
		c.chat = nil
	}
}

// Response shapes of the chat endpoint.
type (
	chatCompletion struct {
		ID      string       `json:"id"`
		Object  string       `json:"object"`
		Created int64        `json:"created"`
		Model   string       `json:"model"`
		Choices []chatChoice `json:"choices"`
		Usage   *usage       `json:"usage"`
		// Seed is an extension: the seed a sampled answer used (the request's, or one drawn
		// at random when it gave none); sending it back gives the same answer. Absent for a
		// greedy answer, which needs none.
		Seed *uint64 `json:"seed,omitempty"`
	}
	chatChoice struct {
		Index        int              `json:"index"`
		Message      assistantMessage `json:"message"`
		Logprobs     *struct{}        `json:"logprobs"`
		FinishReason string           `json:"finish_reason"`
	}
	assistantMessage struct {
		Role    string  `json:"role"`
		Content string  `json:"content"`
		Refusal *string `json:"refusal"`
	}
	chatChunk struct {
		ID      string        `json:"id"`
		Object  string        `json:"object"`
		Created int64         `json:"created"`
		Model   string        `json:"model"`
		Choices []chunkChoice `json:"choices"`
		Usage   *usage        `json:"usage,omitempty"`
		Seed    *uint64       `json:"seed,omitempty"` // as chatCompletion's
	}
	chunkChoice struct {
		Index        int       `json:"index"`
		Delta        delta     `json:"delta"`
		Logprobs     *struct{} `json:"logprobs"`
		FinishReason *string   `json:"finish_reason"`
	}
	delta struct {
		Role    string  `json:"role,omitempty"`
		Content *string `json:"content,omitempty"`
	}
	usage struct {
		PromptTokens        int `json:"prompt_tokens"`
		CompletionTokens    int `json:"completion_tokens"`
		TotalTokens         int `json:"total_tokens"`
		PromptTokensDetails struct {
			// CachedTokens counts the prompt positions reused from the KV cache.
			CachedTokens int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	}
)

// runChat answers a checked request; it holds the queue.
func (s *Server) runChat(w http.ResponseWriter, reqCtx context.Context, job *chatJob) {
	ctx, cancel := s.jobContext(reqCtx)
	defer cancel()
	s.convMu.Lock()
	defer s.convMu.Unlock()
	defer func() {
		if v := recover(); v != nil {
			// The cached chat may be half-updated: drop it before the panic becomes a 500.
			func() {
				defer func() { _ = recover() }()
				s.conv.release()
			}()
			s.conv.chat = nil
			s.images.keep(nil)
			panic(v)
		}
	}()

	msgs, seen := s.resolveTurns(job.turns)
	// Keep only the images this request uses: that is the cached chat's history once it
	// has answered (and the history it had, if it fails, is a prefix of this request's).
	s.images.keep(seen)
	earlier, q := msgs[:len(msgs)-1], msgs[len(msgs)-1]
	chat, err := s.conv.chatFor(s.m, earlier)
	if err != nil {
		e := internalError("start the conversation: %v", err)
		writeError(w, e)
		s.jobDone("chat", 0, err)
		return
	}

	id, created := newID("chatcmpl-"), time.Now().Unix()
	var seed *uint64
	if job.opts.Temperature > 0 {
		seed = &job.opts.Seed
	}
	if job.seedDrawn {
		s.log.Info("api: sampling with a random seed", "id", id, "seed", job.opts.Seed)
	}
	chunk := func(d delta, finish *string) chatChunk {
		return chatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: s.name,
			Choices: []chunkChoice{{Delta: d, FinishReason: finish}}, Seed: seed}
	}
	// The stream starts with the answer's first piece, so that a request refused before it
	// (a conversation too long for the context) gets its status code, as from OpenAI:
	// clients trim the history on a 400 context_length_exceeded, not on an error event.
	var st *stream
	open := func() *stream {
		if st == nil && job.stream {
			st = startStream(w, cancel)
			empty := ""
			st.event("", chunk(delta{Role: "assistant", Content: &empty}, nil))
		}
		return st
	}
	filter := &stopFilter{stops: job.stops, emit: func(piece string) {
		if open() != nil {
			st.event("", chunk(delta{Content: &piece}, nil))
		}
	}}
	replyCtx, stopReply := context.WithCancel(ctx)
	defer stopReply()
	pieces := 0
	res, err := chat.Reply(replyCtx, q.Text, q.Images, job.opts, func(piece string) {
		pieces++
		if filter.add(piece) {
			stopReply() // a stop sequence: Reply ends before the next step
		}
		if s.hooks.onText != nil {
			s.hooks.onText(replyCtx, pieces)
		}
	})
	if filter.hit && ctx.Err() == nil && errors.Is(err, context.Canceled) {
		err = nil
	}
	s.jobDone("chat", len(res.Tokens), err)
	if err != nil {
		if s.cancelled(w, reqCtx, ctx, st) {
			return
		}
		e := internalError("answer: %v", err)
		if errors.Is(err, model.ErrContextFull) {
			e = badRequest("messages", "%v", err).withCode("context_length_exceeded")
		} else {
			s.log.Warn("api: chat failed", "error", err)
		}
		sendError(w, st, "", e)
		return
	}
	filter.flush()
	s.log.Info("api: answered", "id", id, "prompt_tokens", res.PromptTokens, "cached_tokens", res.ReusedTokens, "images_encoded", res.ImagesEncoded,
		"tokens", len(res.Tokens), "prefill_seconds", res.Prefill.Seconds(), "tokens_per_second", res.TokensPerSecond())
	text, finish := res.Text, "length"
	switch {
	case filter.hit:
		text, finish = filter.text.String(), "stop"
	case res.FinishReason == model.FinishEOS:
		finish = "stop"
	}
	u := &usage{PromptTokens: res.PromptTokens, CompletionTokens: len(res.Tokens), TotalTokens: res.PromptTokens + len(res.Tokens)}
	u.PromptTokensDetails.CachedTokens = res.ReusedTokens
	if open() != nil {
		st.event("", chunk(delta{}, &finish))
		if job.includeUsage {
			st.event("", chatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: s.name, Choices: []chunkChoice{}, Usage: u, Seed: seed})
		}
		st.done()
		return
	}
	writeJSON(w, http.StatusOK, chatCompletion{
		ID: id, Object: "chat.completion", Created: created, Model: s.name, Usage: u, Seed: seed,
		Choices: []chatChoice{{Message: assistantMessage{Role: "assistant", Content: text}, FinishReason: finish}},
	})
}

// jobDone records the end of a job of kind "chat" or "image" that made tokens tokens. A
// cancelled one is logged here: the request's own line shows only the status it had sent
// (0, or 200 for a stream cut short).
func (s *Server) jobDone(kind string, tokens int, err error) {
	if errors.Is(err, context.Canceled) {
		s.log.Info("api: job cancelled (its client left, or the server stopped)", "kind", kind, "tokens", tokens)
	}
	if s.hooks.jobDone != nil {
		s.hooks.jobDone(kind, tokens, err)
	}
}

// resolveTurns returns the model's messages of the turns and their images by hash. An image
// the cached conversation holds (with the same bytes) is taken from it even when the request
// decoded its own copy, since the cache was replaced since: the KV cache matches images by
// identity.
func (s *Server) resolveTurns(turns []turn) ([]model.Message, map[[32]byte]*model.Image) {
	seen := map[[32]byte]*model.Image{}
	msgs := make([]model.Message, len(turns))
	for i, t := range turns {
		msgs[i] = model.Message{Assistant: t.assistant, Text: t.text}
		for _, ref := range t.images {
			img := seen[ref.sum]
			if img == nil {
				if img = s.images.get(ref.sum); img == nil {
					img = ref.img
				}
				seen[ref.sum] = img
			}
			msgs[i].Images = append(msgs[i].Images, img)
		}
	}
	return msgs, seen
}

// stopFilter passes an answer's pieces on until a stop sequence appears, holding back any
// end of the text that may be the start of one, so that no part of a stop sequence is ever
// sent.
type stopFilter struct {
	stops   []string
	emit    func(string)
	pending string
	text    strings.Builder // what was passed on
	hit     bool
}

// add takes the next piece and reports whether a stop sequence has appeared.
func (f *stopFilter) add(piece string) bool {
	if f.hit {
		return true
	}
	p := f.pending + piece
	cut := -1
	for _, st := range f.stops {
		if i := strings.Index(p, st); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		f.out(p[:cut])
		f.pending, f.hit = "", true
		return true
	}
	keep := 0
	for _, st := range f.stops {
		for k := min(len(st)-1, len(p)); k > keep; k-- {
			if strings.HasSuffix(p, st[:k]) {
				keep = k
				break
			}
		}
	}
	f.out(p[:len(p)-keep])
	f.pending = p[len(p)-keep:]
	return false
}

// flush passes on what was held back (the answer ended without a stop sequence).
func (f *stopFilter) flush() {
	if !f.hit {
		f.out(f.pending)
		f.pending = ""
	}
}

func (f *stopFilter) out(s string) {
	if s != "" {
		f.text.WriteString(s)
		f.emit(s)
	}
}

// controlToken returns the first of the model's special tokens (role markers, image
// brackets, end of sentence) that text holds, as the prompt would be tokenized: typed into a
// message, one would act as the control token, not be read as text (a user of a front end
// could end the question and write the answer's start, or another user's turn).
func (s *Server) controlToken(text string) (string, bool) {
	return specialTokenIn(s.m.Prompt.Tokenizer(), text)
}

// specialTokenIn is controlToken for tok. Special, not merely added: DeepSeek's tokenizer
// adds ordinary letters too (ö, ü, ø, ÷ among them), which are text.
func specialTokenIn(tok *tokenizer.Tokenizer, text string) (string, bool) {
	for _, id := range tok.Encode(text, false) {
		if tok.IsSpecial(id) {
			t, _ := tok.IDToken(id)
			return t, true
		}
	}
	return "", false
}

// controlTokenError refuses a request whose field param (its what) holds the control token tok.
func controlTokenError(param, what, tok string) *apiError {
	return badRequest(param, "the %s contains %q, a control token of the model's prompt format, which would act as one rather than be read: remove it", what, tok)
}
