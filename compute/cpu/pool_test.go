package cpu

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/compute/computetest"
)

func TestPoolCoversEveryIndexOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 5} {
		p := newPool(threads)
		for _, c := range []struct{ n, chunk int }{{1, 1}, {10, 3}, {1000, 7}, {64, 64}, {5, 100}} {
			hits := make([]atomic.Int32, c.n)
			p.run(c.n, c.chunk, func(lo, hi int) {
				if hi-lo > c.chunk || lo%c.chunk != 0 {
					t.Errorf("chunk [%d,%d) is not aligned to %d", lo, hi, c.chunk)
				}
				for i := lo; i < hi; i++ {
					hits[i].Add(1)
				}
			})
			for i := range hits {
				if h := hits[i].Load(); h != 1 {
					t.Fatalf("threads %d, n %d: index %d ran %d times", threads, c.n, i, h)
				}
			}
		}
		p.close()
	}
}

// TestPoolDoesNotWaitForIdleHelpers: once the issuing goroutine has run every chunk, run
// returns without waiting for helpers that never joined (here there are none to join at all,
// as when a parked worker is slow to wake), and a helper that comes late finds the loop closed
// and runs nothing.
func TestPoolDoesNotWaitForIdleHelpers(t *testing.T) {
	p := &pool{threads: 3, done: make(chan struct{}, 1)} // no workers
	for range 3 {
		var ran atomic.Int32
		var j *job
		p.run(10, 1, func(lo, hi int) {
			j = p.offer.Load()
			ran.Add(int32(hi - lo))
		})
		if ran.Load() != 10 {
			t.Fatalf("ran %d of 10 indices", ran.Load())
		}
		if p.offer.Load() != nil || j.state.Load()&jobClosed == 0 {
			t.Fatal("the loop is still open to helpers after run returned")
		}
		j.help() // a helper that took the offer just before it closed
		if ran.Load() != 10 || j.joined.Load() != 0 || j.state.Load()&jobActive != 0 {
			t.Fatalf("a late helper joined the closed loop (%d more indices ran, %d joined)", ran.Load()-10, j.joined.Load())
		}
	}
}

// TestPoolWakesParkedHelper: a helper that has polled past spinFor sleeps, and the next loop
// wakes it: the issuing goroutine's chunk waits for the helper's to start.
func TestPoolWakesParkedHelper(t *testing.T) {
	p := newPool(2)
	defer p.close()
	for range 3 {
		for deadline := time.Now().Add(5 * time.Second); !p.helpers[0].parked.Load(); {
			if time.Now().After(deadline) {
				t.Fatal("the helper did not park")
			}
			time.Sleep(spinFor)
		}
		started := make(chan struct{})
		p.run(2, 1, func(lo, hi int) {
			if lo == 1 {
				close(started)
				return
			}
			select {
			case <-started:
			case <-time.After(5 * time.Second):
				t.Error("the parked helper did not take its chunk") // the issuer takes it next
			}
		})
	}
}

// TestPoolRunsOrder: the issuing goroutine takes its own run of chunks front to back, then
// the runs of helpers that never came from their ends, so a thread's chunks are one stream
// as long as it has its own left.
func TestPoolRunsOrder(t *testing.T) {
	p := &pool{threads: 3, done: make(chan struct{}, 1)} // no workers: the caller does it all
	var got []int
	p.run(20, 2, func(lo, hi int) { got = append(got, lo/2) })
	// Runs of 10 chunks among 3 slots: [0,3), [3,6), [6,10).
	want := []int{0, 1, 2, 5, 4, 3, 9, 8, 7, 6}
	if !slices.Equal(got, want) {
		t.Errorf("chunks ran in the order %v, want %v", got, want)
	}
}

// TestChunkRunLastChunkOnce: the owner's take from the front and two others' from the back
// race for the last chunks of a run; each chunk goes to exactly one of them.
func TestChunkRunLastChunkOnce(t *testing.T) {
	for range 200 {
		var r chunkRun
		r.v.Store(0<<32 | 64)
		var taken [64]atomic.Int32
		var wg sync.WaitGroup
		for _, fromBack := range []bool{false, true, true} {
			wg.Go(func() {
				for {
					c, ok := r.take(fromBack)
					if !ok {
						return
					}
					taken[c].Add(1)
				}
			})
		}
		wg.Wait()
		for c := range taken {
			if n := taken[c].Load(); n != 1 {
				t.Fatalf("chunk %d taken %d times", c, n)
			}
		}
	}
}

func TestPoolRepanicsInCaller(t *testing.T) {
	p := newPool(3)
	defer p.close()
	defer func() {
		if r := recover(); r != "boom" {
			t.Errorf("recovered %v, want the worker's panic", r)
		}
	}()
	p.run(100, 1, func(lo, hi int) {
		if lo == 57 {
			panic("boom")
		}
	})
	t.Error("run returned normally")
}

func TestCloseKeepsWorking(t *testing.T) {
	be := New(3)
	be.Close()
	x := be.FromFloat32([]float32{1, -2, 3, -4}, 2, 2)
	dst := be.New(compute.F32, 2, 2)
	be.Scale(dst, x, 2)
	computetest.Exact(t, "Scale after Close", read(t, be, dst), []float32{2, -4, 6, -8})
	if be.Threads() != 1 {
		t.Errorf("Threads after Close = %d, want 1", be.Threads())
	}
}

// BenchmarkPoolHandOff runs a loop of two chunks of about 1.5 µs each on a pool of two
// threads, and the same work on one: the difference is what handing a loop to a helper and
// waiting for it costs.
func BenchmarkPoolHandOff(b *testing.B) {
	work := func(sink []int, lo int) {
		s := 0
		for i := range 4000 {
			s += i * i
		}
		sink[lo] = s
	}
	b.Run("threads=2", func(b *testing.B) {
		p := newPool(2)
		defer p.close()
		sink := make([]int, 2)
		for b.Loop() {
			p.run(2, 1, func(lo, hi int) { work(sink, lo) })
		}
	})
	b.Run("serial", func(b *testing.B) {
		sink := make([]int, 2)
		for b.Loop() {
			work(sink, 0)
			work(sink, 1)
		}
	})
}
