package model

import (
	"context"
	"errors"
	"fmt"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model/llm"
	"github.com/janus-desktop/janus/model/projector"
	"github.com/janus-desktop/janus/model/sample"
)

// GenerationNetworks are the networks the image token loop runs.
type GenerationNetworks struct {
	LLM        *llm.Model
	GenEmbed   *compute.Tensor
	GenAligner *projector.MLP
	GenHead    *projector.MLP
}

// GenerationStep is the work of the image token loop for N images (2N rows: conditional and
// unconditional, interleaved), with its run state allocated once for all steps. GenerateImages
// runs it, and so does janus bench, so that the bench times the code users run:
//
//	Prefill (or Forward after the first step)  the language model → the last hidden states
//	Sample                                     gen_head, the CFG mix, one token per image
//	Feed                                       gen_embed → gen_aligner → the next input
type GenerationStep struct {
	be       compute.Backend
	nets     GenerationNetworks
	n, vocab int
	w        float32 // the CFG weight
	samplers []*sample.Sampler

	x, h    *compute.Tensor // [rows, 1, hidden]: the next input, the last hidden states
	e       *compute.Tensor // [rows, 1, gen_embed dim]: embeddings of the sampled tokens
	ids     *compute.Tensor // e as [rows, gen_embed dim], the view Embedding writes
	logits  *compute.Tensor // [rows, 1, image tokens]
	head    *projector.Scratch
	aligner *projector.Scratch

	raw    []float32 // [rows, vocab]: gen_head's logits, read from the backend
	guided []float32 // [N, vocab]: the CFG mix
	next   []int32   // [rows]: each image's token twice, for both of its rows
	tokens []int32   // [N]: the tokens Sample returned

	// chunk, when positive, replaces the prompt chunk length; afterChunk, when not nil, is
	// called after each prompt chunk with the positions done. Tests set both.
	chunk      int
	afterChunk func(done, total int)
}

// NewGenerationStep allocates the run state of opts.N images (0 means 1) on be, with image i
// sampled from its own stream seeded opts.Seed+i. Free releases it.
func NewGenerationStep(be compute.Backend, nets GenerationNetworks, opts GenerateImageOptions) (*GenerationStep, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	n := max(1, opts.N)
	s := &GenerationStep{be: be, nets: nets, n: n, vocab: nets.GenHead.OutputDim(), w: float32(opts.CFG)}
	for i := range n {
		smp, err := sample.New(opts.sampling(), opts.Seed+uint64(i))
		if err != nil {
			return nil, err
		}
		s.samplers = append(s.samplers, smp)
	}
	rows, hidden, dim := 2*n, nets.LLM.Config.Hidden, nets.GenAligner.InputDim()
	s.x, s.h = be.New(compute.F32, rows, 1, hidden), be.New(compute.F32, rows, 1, hidden)
	s.e = be.New(compute.F32, rows, 1, dim)
	s.ids = be.Reshape(s.e, rows, dim)
	s.logits = be.New(compute.F32, rows, 1, s.vocab)
	s.head = nets.GenHead.NewScratch(rows, 1, hidden)
	s.aligner = nets.GenAligner.NewScratch(rows, 1, dim)
	s.raw, s.guided = make([]float32, rows*s.vocab), make([]float32, n*s.vocab)
	s.next, s.tokens = make([]int32, rows), make([]int32, n)
	return s, nil
}

// Free releases the run state's tensors.
func (s *GenerationStep) Free() {
	for _, t := range []*compute.Tensor{s.x, s.h, s.e, s.logits} {
		s.be.Free(t)
	}
	s.head.Free()
	s.aligner.Free()
}

// Prefill runs the 2N prompt rows (interleaved as prompt.CFGRows makes them) through the
// language model into cache, in chunks of positions so that the activations stay bounded
// however long the prompt is and ctx can stop the run between two chunks, and keeps the
// hidden state of every row's last position for Sample.
func (s *GenerationStep) Prefill(ctx context.Context, promptRows [][]int32, cache *llm.Cache) error {
	lm, be := s.nets.LLM, s.be
	if len(promptRows) != 2*s.n || len(promptRows[0]) == 0 {
		return fmt.Errorf("generation prefill: %d prompt rows, want %d non-empty ones (two for each of %d images)", len(promptRows), 2*s.n, s.n)
	}
	rows, l := len(promptRows), len(promptRows[0])
	chunk := evenChunk(l, prefillChunkPositions(rows, s.chunk))
	ids := make([]int32, 0, rows*min(chunk, l))
	for at := 0; at < l; at += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(at+chunk, l)
		ids = ids[:0]
		for _, r := range promptRows {
			ids = append(ids, r[at:end]...)
		}
		x, err := lm.Embed(ids, rows)
		if err != nil {
			return fmt.Errorf("embed the prompt: %w", err)
		}
		// The chunk's hidden states overwrite its input.
		err = lm.ForwardInto(ctx, x, x, cache)
		if err == nil && end == l {
			be.CopyRows(s.h, 0, x, end-at-1, 1)
		}
		be.Free(x)
		if err != nil {
			return fmt.Errorf("prompt positions %d to %d: %w", at, end, err)
		}
		if end == l {
			return nil
		}
		// Wait for the chunk, so that a cancel is seen one chunk later, not after the whole
		// prompt has been queued on an asynchronous backend.
		if err := be.Sync(); err != nil {
			return fmt.Errorf("prompt positions %d to %d: %w", at, end, err)
		}
		if s.afterChunk != nil {
			s.afterChunk(end, l)
		}
	}
	return errors.New("the generation prompt is empty")
}

// Forward runs the input Feed made, one position of every row, through the language model
// into cache.
func (s *GenerationStep) Forward(cache *llm.Cache) error {
	return s.nets.LLM.ForwardInto(context.Background(), s.h, s.x, cache) // one position a row: checked between steps
}

// Sample applies gen_head to the last hidden states, mixes each image's two rows with the
// CFG weight and samples one token per image. The tokens are valid until the next call.
func (s *GenerationStep) Sample() ([]int32, error) {
	s.nets.GenHead.ForwardInto(s.logits, s.h, s.head)
	if err := s.be.Read(s.logits, s.raw); err != nil {
		return nil, fmt.Errorf("read logits: %w", err)
	}
	v := s.vocab
	for i := range s.n {
		c, u, out := s.raw[2*i*v:(2*i+1)*v], s.raw[(2*i+1)*v:(2*i+2)*v], s.guided[i*v:(i+1)*v]
		for j := range out {
			// The explicit conversion keeps the product rounded to float32 as in torch
			// (no fused multiply-add).
			out[j] = u[j] + float32(s.w*(c[j]-u[j]))
		}
		tok := s.samplers[i].Next(out, nil)
		s.tokens[i] = tok
		s.next[2*i], s.next[2*i+1] = tok, tok
	}
	return s.tokens, nil
}

// Logits returns the last Sample's gen_head logits [2N, vocab] and guided logits [N, vocab],
// valid until the next Sample.
func (s *GenerationStep) Logits() (raw, guided []float32) { return s.raw, s.guided }

// Feed embeds the sampled tokens through gen_embed and gen_aligner as the next input of
// both rows of each image.
func (s *GenerationStep) Feed() {
	s.be.Embedding(s.ids, s.nets.GenEmbed, s.next)
	s.nets.GenAligner.ForwardInto(s.x, s.e, s.aligner)
}
