//go:build linux

package metal_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/metal"
	"github.com/janus-desktop/janus/metal/metalsim"
)

// TestSplitCommandBuffers runs the same chain of ops on the simulated device as one command
// buffer, cut into one per heavy op, and cut into one per dispatch (with writes, staged ids
// and frees in between): the results must be identical bit for bit.
func TestSplitCommandBuffers(t *testing.T) {
	const whole, byWork, byDispatch = 0, 1, 2
	run := func(split int) []float32 {
		b, err := metalsim.Open(context.Background(), metalsim.Options{})
		if errors.Is(err, compute.ErrUnavailable) {
			t.Skipf("skipping: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		switch split {
		case byWork:
			metal.SetSplitWork(b, 1)
		case byDispatch:
			metal.SetSplitDispatches(b, 1)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		vals := func(n int) []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(rng.NormFloat64())
			}
			return v
		}
		const t0, d, n = 40, 64, 96
		table := b.FromFloat32(vals(n*d), n, d)
		w1, w2 := b.FromFloat32(vals(d*d), d, d), b.FromFloat32(vals(n*d), n, d)
		x, h, q := b.New(compute.F32, 1, t0, d), b.New(compute.F32, 1, t0, d), b.New(compute.F32, 1, t0, d)
		att, y := b.New(compute.F32, 1, t0, d), b.New(compute.F32, t0, n)
		ids := make([]int32, t0)
		for i := range ids {
			ids[i] = int32(i * 7 % n)
		}
		b.Embedding(x, table, ids)
		b.Linear(h, x, w1, nil)
		b.Write(x, vals(t0*d)) // overwrites x after the ops that read it
		b.Linear(q, h, w1, nil)
		b.RoPE(q, 4, 16, 3, 10000)
		tmp := b.New(compute.F32, 1, t0, d)
		b.Add(tmp, q, x)
		b.Attention(att, tmp, h, q, compute.AttentionParams{Heads: 4, KVHeads: 4, HeadDim: 16, KVLen: t0, Causal: true, Scale: 0.25})
		b.Free(tmp) // freed while queued
		b.Linear(y, b.Reshape(att, t0, d), w2, nil)
		if s, _ := metalsim.Stats(b); split == byWork && s.CommandBuffers < 4 || split == byDispatch && s.CommandBuffers != s.Dispatches {
			t.Fatalf("split %d: %d command buffers committed before the read, for %d dispatches", split, s.CommandBuffers, s.Dispatches)
		}
		out := make([]float32, t0*n)
		if err := b.Read(y, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	one := run(whole)
	for _, split := range []int{byWork, byDispatch} {
		got := run(split)
		for i := range one {
			if math.Float32bits(one[i]) != math.Float32bits(got[i]) {
				t.Fatalf("split %d: the results differ at %d: %v vs %v", split, i, got[i], one[i])
			}
		}
	}
}
