package model

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model/llm"
	"github.com/janus-desktop/janus/model/prompt"
	"github.com/janus-desktop/janus/model/sample"
)

// ErrContextFull is returned (wrapped) when a conversation no longer fits the context window.
var ErrContextFull = errors.New("the conversation does not fit the model's context window")

// ContextError is the error a turn returns when its prompt does not fit the context window.
// It states the numbers only: what to do about it (a new chat, a shorter question, fewer
// images) depends on the front end, which can tell it with errors.As.
type ContextError struct {
	// PromptTokens is the length of the prompt the turn would need; Window the positions the
	// model (or Options.ContextLimit) allows.
	PromptTokens, Window int
}

// Error says how long the prompt is and what the window holds.
func (e *ContextError) Error() string {
	return fmt.Sprintf("%v: the prompt has %d tokens and the window holds %d", ErrContextFull, e.PromptTokens, e.Window)
}

// Unwrap makes errors.Is(err, ErrContextFull) hold.
func (e *ContextError) Unwrap() error { return ErrContextFull }

// prefillChunk bounds the positions one Forward call processes, which bounds the scratch
// memory of long prompts (a 7B model's MLP scratch is 132 KB per position).
const prefillChunk = 512

// Message is one turn of a conversation.
type Message struct {
	// Assistant marks the model's answers; the others are the user's.
	Assistant bool
	// Text is the turn's text; an assistant's is what Reply returned (Result.Text).
	Text string
	// Images belong to user messages; each is placed before the text, as the official
	// examples do.
	Images []*Image
}

// ChatStats counts the work a chat has done, summed over its turns.
type ChatStats struct {
	// ImagesEncoded counts vision tower runs (one per image: features are kept).
	ImagesEncoded int
	// PrefilledTokens counts prompt positions run through the LLM (reused ones are not).
	PrefilledTokens int
	// GeneratedTokens counts answer tokens.
	GeneratedTokens int
}

// Chat is a multi-turn conversation about images. Each Reply templates the whole history
// (system prompt, every earlier question with its images, every answer) as the official chat
// does, but only runs what changed: the KV cache keeps every position whose token (and image)
// is unchanged from the previous turn, and each image goes through the vision tower once.
//
// A Chat is not safe for concurrent use; Close releases its memory.
type Chat struct {
	// TrimHistory drops the oldest turns when the conversation outgrows the context window,
	// instead of failing with ErrContextFull.
	TrimHistory bool

	m        *Model
	history  []Message
	cache    *llm.Cache
	slots    []slot // what each cached position holds
	features map[*Image]*compute.Tensor
	stats    ChatStats
	closed   bool
	// run holds a decoding step's tensors and logits, allocated at the first step and kept
	// for every later one.
	run *DecodeStep

	// onLogits, for tests, sees each step's next-token logits before sampling.
	onLogits func([]float32)
}

// slot is what one prompt position holds: a token, or row k of an image's features.
type slot struct {
	id  int32
	img *Image
	k   int
}

// NewChat starts an empty conversation.
func (m *Model) NewChat() *Chat {
	return &Chat{m: m, features: map[*Image]*compute.Tensor{}}
}

// NewChatFrom starts a conversation that continues history (for example a saved chat):
// alternating user and assistant messages, starting with the user, with images only in user
// messages. Its first Reply runs the whole history through the model.
func (m *Model) NewChatFrom(history []Message) (*Chat, error) {
	if err := checkHistory(history); err != nil {
		return nil, err
	}
	c := m.NewChat()
	c.history = slices.Clone(history)
	return c, nil
}

// Rewrite replaces the conversation by history (as NewChatFrom takes it), keeping the KV
// cache: the next Reply runs only from the first position where the new prompt differs from
// what is cached. A client that sends back an edited or cut conversation (an answer it
// stopped at a stop sequence) then reuses all before the change.
func (c *Chat) Rewrite(history []Message) error {
	if err := checkHistory(history); err != nil {
		return err
	}
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	c.history = slices.Clone(history)
	return nil
}

// checkHistory reports why history cannot be a chat's: question and answer pairs, images in
// questions only.
func checkHistory(history []Message) error {
	if len(history)%2 != 0 {
		return fmt.Errorf("chat history has %d messages: want question and answer pairs", len(history))
	}
	for i, msg := range history {
		if msg.Assistant != (i%2 == 1) {
			return fmt.Errorf("chat history message %d is from the wrong speaker: turns must alternate user, assistant", i)
		}
		if msg.Assistant && len(msg.Images) > 0 {
			return fmt.Errorf("chat history message %d: an answer cannot hold images", i)
		}
		for j, img := range msg.Images {
			if img == nil {
				return fmt.Errorf("chat history message %d: image %d is nil", i, j)
			}
		}
	}
	return nil
}

// History returns the finished turns, alternating user and assistant messages.
func (c *Chat) History() []Message { return slices.Clone(c.history) }

// Stats returns the work done so far.
func (c *Chat) Stats() ChatStats { return c.stats }

// Reset forgets the conversation. The cached system prompt stays, so the next question
// starts faster.
func (c *Chat) Reset() {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	c.history = nil
	c.freeFeatures()
}

// Close releases the chat's KV cache and image features.
func (c *Chat) Close() {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	c.freeFeatures()
	if c.cache != nil {
		c.cache.Free()
		c.cache = nil
	}
	if c.run != nil {
		c.run.Free()
		c.run = nil
	}
	c.slots = nil
	c.closed = true
}

// DecodeStep is the run state of decoding one token at a time, allocated once for every
// step: one position's input, which the language model overwrites with its hidden state, and
// its logits on the backend and on the host. A Chat decodes with it, and so does janus bench,
// so that the bench times the code users run.
type DecodeStep struct {
	be     compute.Backend
	lm     *llm.Model
	ids    [1]int32
	x      *compute.Tensor // [1, 1, hidden]
	logits *compute.Tensor // [1, 1, vocab]
	out    []float32
}

// NewDecodeStep allocates the run state of decoding with lm on be; Free releases it.
func NewDecodeStep(be compute.Backend, lm *llm.Model) *DecodeStep {
	return &DecodeStep{
		be:     be,
		lm:     lm,
		x:      be.New(compute.F32, 1, 1, lm.Config.Hidden),
		logits: be.New(compute.F32, 1, 1, lm.Config.Vocab),
		out:    make([]float32, lm.Config.Vocab),
	}
}

// Free releases the run state's tensors.
func (s *DecodeStep) Free() {
	s.be.Free(s.x)
	s.be.Free(s.logits)
}

// Next runs tok through the language model, appending its position to cache, and returns
// the next-token logits (valid until the next call). It allocates nothing.
func (s *DecodeStep) Next(tok int32, cache *llm.Cache) ([]float32, error) {
	s.ids[0] = tok
	if err := s.lm.EmbedInto(s.x, s.ids[:]); err != nil {
		return nil, err
	}
	// One position: its layers take milliseconds, and Reply checks between steps.
	if err := s.lm.ForwardInto(context.Background(), s.x, s.x, cache); err != nil {
		return nil, err
	}
	return s.Logits(s.x, 0)
}

// Prompt runs the language model over positions [from, to) of a prompt in the chunks a chat
// prefills in, appending them to cache, and returns the logits after the last (valid until
// the next call) and how many positions it appended, also when it fails or ctx ends between
// chunks (those stay in the cache). embed writes the inputs of positions [at, end) into x
// [1, end-at, hidden]. A single position allocates nothing.
func (s *DecodeStep) Prompt(ctx context.Context, cache *llm.Cache, from, to int, embed func(x *compute.Tensor, at, end int) error) ([]float32, int, error) {
	chunk := PrefillChunk(to - from)
	for at := from; at < to; at += chunk {
		if err := ctx.Err(); err != nil {
			return nil, at - from, err
		}
		end := min(at+chunk, to)
		logits, err := s.chunk(ctx, cache, at, end, end == to, embed)
		if err != nil {
			// The chunk may be in the cache (its logits failed): the count says what is.
			if terr := cache.Truncate(at); terr != nil {
				err = errors.Join(err, terr)
			}
			return nil, at - from, err
		}
		if end == to {
			return logits, to - from, nil
		}
	}
	return nil, 0, fmt.Errorf("prompt: no positions in [%d, %d)", from, to)
}

// chunk runs positions [at, end) of a prompt, and returns the logits after the last when
// wantLogits.
func (s *DecodeStep) chunk(ctx context.Context, cache *llm.Cache, at, end int, wantLogits bool, embed func(x *compute.Tensor, at, end int) error) ([]float32, error) {
	x := s.x
	if end-at > 1 {
		x = s.be.New(compute.F32, 1, end-at, s.lm.Config.Hidden)
		defer s.be.Free(x)
	}
	if err := embed(x, at, end); err != nil {
		return nil, err
	}
	// The hidden states overwrite the inputs.
	if err := s.lm.ForwardInto(ctx, x, x, cache); err != nil {
		return nil, err
	}
	if !wantLogits {
		return nil, s.be.Sync()
	}
	return s.Logits(x, end-at-1)
}

// Logits applies lm_head to position pos of the hidden states h [1, T, hidden] and returns
// the logits (valid until the next call): a prefill's last position gives the first token.
func (s *DecodeStep) Logits(h *compute.Tensor, pos int) ([]float32, error) {
	if h != s.x {
		s.be.CopyRows(s.x, 0, h, pos, 1)
	}
	s.lm.LogitsInto(s.logits, s.x)
	if err := s.be.Read(s.logits, s.out); err != nil {
		return nil, err
	}
	return s.out, nil
}

// steps returns the chat's step state, allocating it the first time.
func (c *Chat) steps() *DecodeStep {
	if c.run == nil {
		c.run = NewDecodeStep(c.m.Backend, c.m.LLM)
	}
	return c.run
}

func (c *Chat) freeFeatures() {
	for img, t := range c.features {
		c.m.Backend.Free(t)
		delete(c.features, img)
	}
}

// Reply asks question about images (which may be empty) after the turns so far and generates
// the answer, streaming it to onText piece by piece when onText is not nil. On success the
// question and answer join the history. Cancelling ctx stops within one decoding step and
// returns the partial result with ctx's error; the history is then unchanged.
func (c *Chat) Reply(ctx context.Context, question string, images []*Image, opts AnswerOptions, onText func(string)) (Result, error) {
	m := c.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := opts.Validate(); err != nil {
		return Result{}, err
	}
	if c.closed || m.LLM == nil {
		return Result{}, errors.New("chat: the chat or its model is closed")
	}
	if m.Vision == nil || m.Aligner == nil || m.LLM.Head == nil {
		return Result{}, ErrNoUnderstanding
	}
	maxNew := opts.MaxNewTokens
	if maxNew == 0 {
		maxNew = DefaultMaxNewTokens
	}
	sampler, err := sample.New(opts.sampling(), opts.Seed)
	if err != nil {
		return Result{}, err
	}
	size := 3 * m.Config.Vision.ImageSize * m.Config.Vision.ImageSize
	for _, msg := range append(slices.Clone(c.history), Message{Images: images}) {
		for i, img := range msg.Images {
			if img == nil || len(img.pixels) != size {
				return Result{}, fmt.Errorf("image %d was not prepared by this model", i)
			}
		}
	}
	start := time.Now()
	history := c.history
	msgs := func() []Message {
		return append(slices.Clone(history), Message{Text: question, Images: images}, Message{Assistant: true})
	}
	ids, slots, err := c.prompt(msgs())
	for err == nil && len(ids) > m.contextLimit && c.TrimHistory && len(history) >= 2 {
		history = history[2:]
		ids, slots, err = c.prompt(msgs())
	}
	if err != nil {
		return Result{}, err
	}
	if len(ids) > m.contextLimit {
		return Result{}, &ContextError{PromptTokens: len(ids), Window: m.contextLimit}
	}

	res := Result{PromptTokens: len(ids)}
	logits, err := c.prefill(ctx, ids, slots, maxNew, &res)
	if err != nil {
		return res, err
	}
	res.Prefill = time.Since(start)
	start = time.Now()

	eos := m.eos
	stream := m.Tokenizer.NewStreamDecoder(true)
	emit := func(s string) {
		if s != "" && onText != nil {
			onText(s)
		}
	}
	res.FinishReason = FinishLength
	for {
		if err := ctx.Err(); err != nil {
			emit(stream.Flush())
			return c.finish(res, start), err
		}
		if c.onLogits != nil {
			c.onLogits(logits)
		}
		tok := sampler.Next(logits, res.Tokens)
		res.Tokens = append(res.Tokens, tok)
		if tok == eos {
			res.FinishReason = FinishEOS
			break
		}
		emit(stream.Add(tok))
		if len(res.Tokens) >= maxNew {
			break
		}
		if c.cache.Len() >= m.contextLimit {
			res.FinishReason = FinishContext
			break
		}
		if logits, err = c.step(tok); err != nil {
			return c.finish(res, start), err
		}
	}
	emit(stream.Flush())
	res = c.finish(res, start)
	c.history = append(slices.Clip(history), Message{Text: question, Images: images}, Message{Assistant: true, Text: res.Text})
	c.freeUnusedFeatures()
	return res, nil
}

// freeUnusedFeatures releases the features of images the history no longer holds: those of
// turns TrimHistory dropped. The images of a failed turn are not in the history either, but
// its caller may retry it, and the next successful turn frees them if it does not.
func (c *Chat) freeUnusedFeatures() {
	for img, t := range c.features {
		used := false
		for _, msg := range c.history {
			if slices.Contains(msg.Images, img) {
				used = true
				break
			}
		}
		if !used {
			c.m.Backend.Free(t)
			delete(c.features, img)
		}
	}
}

// finish fills in what a result knows at its end.
func (c *Chat) finish(res Result, decodeStart time.Time) Result {
	res.Decode = time.Since(decodeStart)
	res.Text = c.m.Tokenizer.Decode(res.Tokens, true)
	c.stats.GeneratedTokens += len(res.Tokens)
	return res
}

// answerRoom is the answer positions a new chat cache holds before it first grows.
const answerRoom = 1024

// prefill brings the KV cache to the whole prompt, reusing the unchanged prefix, and returns
// the next-token logits.
func (c *Chat) prefill(ctx context.Context, ids []int32, slots []slot, maxNew int, res *Result) ([]float32, error) {
	m := c.m
	reuse := 0
	for reuse < len(c.slots) && reuse < len(slots) && c.slots[reuse] == slots[reuse] {
		reuse++
	}
	// The last prompt position always runs: its output is the first answer token.
	reuse = min(reuse, len(ids)-1)
	if c.cache == nil {
		// Room for the prompt and the start of the answer: Forward grows the cache (doubling)
		// as the answer goes on, so that an answer length of 16k tokens does not take the
		// memory of 16k positions (8 GB for Janus-Pro-7B's F16 cache) unless it is used.
		cache, err := m.LLM.NewCache(1, min(m.contextLimit, len(ids)+min(maxNew, answerRoom)))
		if err != nil {
			return nil, err
		}
		c.cache = cache
	}
	if err := c.cache.Truncate(reuse); err != nil {
		return nil, err
	}
	c.slots = c.slots[:reuse]
	res.ReusedTokens = reuse

	n, err := c.encodeImages(ctx, slots[reuse:])
	res.ImagesEncoded = n
	if err != nil {
		return nil, err
	}
	logits, done, err := c.steps().Prompt(ctx, c.cache, reuse, len(ids), func(x *compute.Tensor, at, end int) error {
		return c.embed(x, ids[at:end], slots[at:end])
	})
	c.slots = append(c.slots, slots[reuse:reuse+done]...)
	c.stats.PrefilledTokens += done
	return logits, err
}

// step feeds one generated token and returns the next logits.
func (c *Chat) step(tok int32) ([]float32, error) {
	logits, err := c.steps().Next(tok, c.cache)
	if err != nil {
		// The cache may hold the position, the slots not: the next prefill truncates it.
		return nil, err
	}
	c.slots = append(c.slots, slot{id: tok})
	return logits, nil
}

// embed writes the inputs of positions holding slots into x: the embeddings of ids for
// text, the image's features where a slot names an image.
func (c *Chat) embed(x *compute.Tensor, ids []int32, slots []slot) error {
	if err := c.m.LLM.EmbedInto(x, ids); err != nil {
		return err
	}
	for i := 0; i < len(slots); {
		img := slots[i].img
		if img == nil {
			i++
			continue
		}
		j := i
		for j < len(slots) && slots[j].img == img && slots[j].k == slots[i].k+(j-i) {
			j++
		}
		c.m.Backend.CopyRows(x, i, c.features[img], slots[i].k, j-i)
		i = j
	}
	return nil
}

// encodeImages runs the vision tower and aligner over the images of slots that have no
// features yet, all in one batch, and reports how many it encoded.
func (c *Chat) encodeImages(ctx context.Context, slots []slot) (int, error) {
	var todo []*Image
	for _, s := range slots {
		if s.img != nil && c.features[s.img] == nil && !slices.Contains(todo, s.img) {
			todo = append(todo, s.img)
		}
	}
	if len(todo) == 0 {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m, be := c.m, c.m.Backend
	pixels := make([][]float32, len(todo))
	for i, img := range todo {
		pixels[i] = img.pixels
	}
	px, err := m.Vision.Pixels(pixels...)
	if err != nil {
		return 0, err
	}
	feats, err := m.Vision.Forward(ctx, px)
	be.Free(px)
	if err != nil {
		return 0, err
	}
	aligned := m.Aligner.Forward(feats)
	be.Free(feats)
	defer be.Free(aligned)
	tok, d := aligned.Dim(1), aligned.Dim(2)
	all := be.Reshape(aligned, 1, len(todo)*tok, d)
	for i, img := range todo {
		f := be.New(compute.F32, 1, tok, d)
		be.CopyRows(f, 0, all, i*tok, tok)
		c.features[img] = f
	}
	c.stats.ImagesEncoded += len(todo)
	return len(todo), be.Sync()
}

// prompt builds the prompt of msgs (ending with the user's question or an empty assistant
// message) with the model's prompt builder and lays out what each position holds: a token, or
// row k of an image's features at the k-th slot the builder made for that image.
func (c *Chat) prompt(msgs []Message) ([]int32, []slot, error) {
	conv := make([]prompt.Message, len(msgs))
	var images []*Image
	for i, msg := range msgs {
		role := prompt.User
		if msg.Assistant {
			role = prompt.Assistant
		}
		conv[i] = prompt.Message{Role: role, Text: msg.Text, Images: len(msg.Images)}
		images = append(images, msg.Images...)
	}
	ids, positions, err := c.m.Prompt.UnderstandingIDs(conv)
	if err != nil {
		return nil, nil, fmt.Errorf("chat prompt: %w", err)
	}
	if len(positions) != len(images) {
		tag := c.m.Config.Processor.ImageTag
		return nil, nil, fmt.Errorf("the conversation has %d images but %d %s tags: the text may not contain %q",
			len(images), len(positions), tag, tag)
	}
	slots := make([]slot, len(ids))
	for i, id := range ids {
		slots[i] = slot{id: id}
	}
	for j, pos := range positions {
		for k, p := range pos {
			slots[p].img, slots[p].k = images[j], k
		}
	}
	return ids, slots, nil
}
