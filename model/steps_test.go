package model

import (
	"context"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
)

// allocCounter is a backend that counts the tensors it allocates.
type allocCounter struct {
	compute.Backend
	news int
}

func (a *allocCounter) New(dt compute.DType, shape ...int) *compute.Tensor {
	a.news++
	return a.Backend.New(dt, shape...)
}

func (a *allocCounter) FromFloat32(data []float32, shape ...int) *compute.Tensor {
	a.news++
	return a.Backend.FromFloat32(data, shape...)
}

// TestStepsAllocateNothing: a decoding step of a chat and a step of image generation reuse
// the run state allocated before the first step, so the number of allocations does not grow
// with the steps; and when the chat closes or the generation returns, the backend holds
// only the weights again.
func TestStepsAllocateNothing(t *testing.T) {
	computetest.Each(t, compute.Options{Threads: 1}, func(t *testing.T, be compute.Backend) {
		ac := &allocCounter{Backend: be}
		t.Run("chat", func(t *testing.T) {
			ta, img := tinyAChat(t, Options{Backend: ac, SkipGeneration: true})
			weights := be.MemoryUsed()
			// Two chats with the same prompt: their prefills allocate the same, so any
			// difference comes from the extra decoding steps.
			var news []int
			for _, n := range []int{4, 12} {
				c := ta.m.NewChat()
				before := ac.news
				res, err := c.Reply(context.Background(), ta.prompt, []*Image{img}, AnswerOptions{MaxNewTokens: n}, nil)
				if err != nil || len(res.Tokens) != n {
					t.Fatalf("reply of %d tokens: %d tokens, %v", n, len(res.Tokens), err)
				}
				news = append(news, ac.news-before)
				c.Close()
				if got := be.MemoryUsed(); got != weights {
					t.Fatalf("after a closed chat the backend holds %d bytes, %d with the weights alone", got, weights)
				}
			}
			if news[0] != news[1] {
				t.Errorf("a reply of 4 tokens allocated %d tensors, one of 12 tokens %d", news[0], news[1])
			}
		})
		t.Run("generation", func(t *testing.T) {
			c := genVariantOn(t, "gen-b", ac)
			weights := be.MemoryUsed()
			cond, uncond, err := c.m.Prompt.GenerationIDs(c.prompt)
			if err != nil {
				t.Fatal(err)
			}
			var perStep []int
			g := &imageRun{m: c.m, opts: GenerateImageOptions{N: 2, CFG: 5}, cond: cond, uncond: uncond}
			g.observe = func(int, []float32, []float32) { perStep = append(perStep, ac.news) }
			if _, err := g.run(context.Background()); err != nil {
				t.Fatal(err)
			}
			for i := 1; i < len(perStep); i++ {
				if perStep[i] != perStep[1] {
					t.Fatalf("allocations up to step %d: %v; steps after the first allocated", i, perStep)
				}
			}
			if got := be.MemoryUsed(); got != weights {
				t.Errorf("after generating the backend holds %d bytes, %d with the weights alone", got, weights)
			}
		})
	})
}
