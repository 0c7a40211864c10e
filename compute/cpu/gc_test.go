package cpu

import (
	"slices"
	"sync/atomic"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// TestFreeStartsCollection: freeing more than gcAfterFreed bytes (16 MB for a backend that
// holds nothing else) starts a garbage collection, so the scratch that ops free does not pile
// up behind a heap goal that the weights set at twice their size; a few small frees start
// none. The frees are of pieces under gcAllocMin, so that New's own collection (beforeAlloc)
// stays out of it, and the collection is counted rather than looked for in the runtime's
// statistics, where the test's own allocations start some too.
func TestFreeStartsCollection(t *testing.T) {
	b := New(1)
	defer b.Close()
	var collections atomic.Int32
	b.freed.collect = func(bool) { collections.Add(1) }
	gcAfterFreed := int(gcAfterFreed(b.MemoryUsed()))
	churn := func(bytes int) {
		for done := 0; done < bytes; done += 512 << 10 {
			b.Free(b.New(compute.F32, 128<<10)) // 512 KB
		}
	}
	churn(gcAfterFreed / 2)
	if got := int(b.freed.n.Load()); got != gcAfterFreed/2 || collections.Load() != 0 {
		t.Fatalf("%d bytes counted as freed and %d collections, want %d and none", got, collections.Load(), gcAfterFreed/2)
	}
	churn(gcAfterFreed / 2)
	if got := int(b.freed.n.Load()); got != 0 || collections.Load() != 1 {
		t.Fatalf("after freeing %d bytes: %d counted and %d collections, want 0 and 1", gcAfterFreed, got, collections.Load())
	}
}

// TestGCThreshold: the freed bytes that start a collection scale with what the backend holds.
func TestGCThreshold(t *testing.T) {
	for _, c := range []struct{ used, want int64 }{
		{0, 16 << 20},
		{1 << 30, 16 << 20},
		{1600 << 20, 25 << 20},
		{4 << 30, 64 << 20},
		{14 << 30, 224 << 20},
		{20 << 30, 256 << 20},
	} {
		if got := gcAfterFreed(c.used); got != c.want {
			t.Errorf("gcAfterFreed(%d MB) = %d MB, want %d MB", c.used>>20, got>>20, c.want>>20)
		}
	}
}

// TestCollectBeforeAlloc: an allocation of at least gcAllocMin collects the garbage of frees
// that stayed below gcAfterFreed first (so it can reuse it) when there is at least
// gcBeforeAlloc of it and no less than the allocation, and otherwise leaves the count alone.
func TestCollectBeforeAlloc(t *testing.T) {
	used := new(atomic.Int64)
	used.Store(4 << 30) // as if holding 4 GB of weights: gcAfterFreed is 64 MB
	collections := 0
	f := &freedBytes{used: used, collect: func(bool) { collections++ }}
	f.add(40 << 20)
	for _, c := range []struct {
		alloc   int64
		collect bool
	}{
		{50 << 20, false}, // more than the garbage: collecting would not cover it
		{16 << 10, false}, // too small to be worth a collection
		{8 << 20, true},
		{8 << 20, false}, // nothing left to collect
	} {
		before, pending := collections, f.n.Load()
		f.beforeAlloc(c.alloc)
		if collected := collections > before; collected != c.collect {
			t.Errorf("allocating %d KB with %d MB freed: collected %v, want %v", c.alloc>>10, pending>>20, collected, c.collect)
		}
		want := pending
		if c.collect {
			want = 0
		}
		if got := f.n.Load(); got != want {
			t.Errorf("allocating %d KB: %d bytes left counted, want %d", c.alloc>>10, got, want)
		}
	}
	// Less garbage than gcBeforeAlloc is left for later, even for an allocation it covers.
	f.add(gcBeforeAlloc / 2)
	if f.beforeAlloc(gcBeforeAlloc / 4); collections != 1 || f.n.Load() != gcBeforeAlloc/2 {
		t.Errorf("%d MB of garbage before a %d MB allocation: %d collections, %d bytes counted", gcBeforeAlloc>>21, gcBeforeAlloc>>22, collections, f.n.Load())
	}
}

// TestCollectingCounts: garbage stays counted while the collection started for it runs (a
// New meanwhile must not take fresh memory beside it), and leaves the count when it ends;
// bytes freed during the collection stay for the next.
func TestCollectingCounts(t *testing.T) {
	used := new(atomic.Int64)
	used.Store(4 << 30) // gcAfterFreed is 64 MB: the frees here start no collection themselves
	f := &freedBytes{used: used}
	f.add(40 << 20)
	f.collect = func(bool) {
		if got := f.fresh.Load() + f.collecting.Load(); got != 40<<20 {
			t.Errorf("during the collection %d bytes counted, want the %d it collects", got, 40<<20)
		}
		f.add(1 << 20) // freed while it runs
	}
	f.gc(false)
	if fresh, coll := f.fresh.Load(), f.collecting.Load(); fresh != 1<<20 || coll != 0 {
		t.Errorf("after the collection: %d fresh and %d being collected, want %d and 0", fresh, coll, 1<<20)
	}
}

// TestNewHuge: New of hugeActivation bytes or more collects and returns the heap's free pages
// first (beforeHuge), whatever garbage is counted; a KV cache's tensor (F16, hugeCache or
// more) does so where there is garbage (beforeCache); weights and smaller activations go
// through beforeAlloc, which does not return pages.
func TestNewHuge(t *testing.T) {
	b := New(1)
	defer b.Close()
	var kinds []bool // returnPages of each collection
	b.freed.collect = func(returnPages bool) { kinds = append(kinds, returnPages) }
	want := func(what string, k ...bool) {
		t.Helper()
		if !slices.Equal(kinds, k) {
			t.Fatalf("%s: collections returning pages %v, want %v", what, kinds, k)
		}
	}
	under := b.New(compute.F32, (hugeActivation-4)/4)
	defer b.Free(under)
	want("a New under hugeActivation with no garbage")
	x := b.New(compute.F32, hugeActivation/4)
	defer b.Free(x)
	want("a New of hugeActivation bytes", true)
	if b.freed.fresh.Load() != 0 || b.freed.n.Load() != 0 {
		t.Fatalf("a New of hugeActivation bytes left %d bytes counted", b.freed.fresh.Load())
	}
	// Weights as large are not activations: a loader allocates them one after another.
	w, err := b.Alloc(compute.F32, []int{hugeActivation / 4})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Free(w)
	want("Alloc of a hugeActivation-byte weight", true)

	// A cache's layers: the first returns the garbage's pages, the others find none.
	garbage := b.New(compute.F32, gcBeforeAlloc/4)
	b.Free(garbage)
	for range 3 {
		c := b.New(compute.F16, hugeCache/2)
		defer b.Free(c)
	}
	want("three cache tensors after a free of gcBeforeAlloc bytes", true, true)
	// A cache growing (llm.Cache.alloc) frees each old layer just before it allocates the
	// next: the run of cache tensors returns pages once, before its first, though each
	// layer leaves gcBeforeAlloc bytes of garbage for the next. (The second free reaches
	// gcAfterFreed, and add collects without returning pages.)
	old := []*Tensor{b.New(compute.F32, gcBeforeAlloc/4), b.New(compute.F32, gcBeforeAlloc/4)}
	garbage = b.New(compute.F32, gcBeforeAlloc/4)
	b.Free(garbage)
	want("two activations and a free of gcBeforeAlloc bytes after the cache tensors", true, true)
	for _, o := range old {
		c := b.New(compute.F16, hugeCache/2)
		defer b.Free(c)
		b.Free(o)
	}
	want("a growing cache's two layers", true, true, true, false)
	// An F16 tensor under hugeCache is an activation: beforeAlloc, which does not return
	// pages, collects for it.
	garbage = b.New(compute.F32, gcBeforeAlloc/4)
	b.Free(garbage)
	small := b.New(compute.F16, hugeCache/2-1)
	defer b.Free(small)
	want("an F16 tensor under hugeCache after a free of gcBeforeAlloc bytes", true, true, true, false, false)
	// An F16 weight as large is not a cache.
	garbage = b.New(compute.F32, gcBeforeAlloc/4)
	b.Free(garbage)
	fw, err := b.Alloc(compute.F16, []int{hugeCache / 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Free(fw)
	want("an F16 weight of hugeCache bytes after a free of gcBeforeAlloc bytes", true, true, true, false, false, false)
	// A Q8 cache's tensor is a cache as an F16 one is, with huge pages asked for.
	garbage = b.New(compute.F32, gcBeforeAlloc/4)
	b.Free(garbage)
	q8 := b.New(compute.Q8, 1, hugeCache/2048, 2048)
	defer b.Free(q8)
	want("a Q8 cache tensor of hugeCache bytes after a free of gcBeforeAlloc bytes", true, true, true, false, false, false, true)
	if !q8.Buf.(*buffer).huge {
		t.Error("no huge pages asked for a Q8 cache of hugeCache bytes")
	}
}

// TestBeforeAllocCountsCollecting: an allocation while a collection runs still sees the
// garbage that collection was started for, and collects it itself (the collection add
// starts runs beside the caller, and may not have returned it yet).
func TestBeforeAllocCountsCollecting(t *testing.T) {
	used := new(atomic.Int64)
	used.Store(4 << 30)
	f := &freedBytes{used: used}
	f.add(40 << 20)
	collections := 0
	f.collect = func(bool) {
		collections++
		if collections == 1 { // a New beside the running collection
			f.beforeAlloc(20 << 20)
		}
	}
	f.gc(false)
	if collections != 2 {
		t.Fatalf("an allocation during a collection of 40 MB ran %d collections of its own, want 1", collections-1)
	}
}
