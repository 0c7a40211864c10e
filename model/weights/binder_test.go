package weights

import (
	"errors"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// countingSource hands out a fresh tensor per call and fails on the names in fail.
type countingSource struct {
	calls int
	fail  map[string]bool
}

func (s *countingSource) load(name string, shape []int) (*compute.Tensor, error) {
	s.calls++
	if s.fail[name] {
		return nil, errors.New("no tensor " + name)
	}
	return &compute.Tensor{Shape: shape}, nil
}

func (s *countingSource) Matrix(name string, shape ...int) (*compute.Tensor, error) {
	return s.load(name, shape)
}

func (s *countingSource) F32(name string, shape ...int) (*compute.Tensor, error) {
	return s.load(name, shape)
}

func TestBinderKeepsFirstError(t *testing.T) {
	src := &countingSource{fail: map[string]bool{"b": true, "c": true}}
	b := NewBinder(src)
	if b.F32("a", 2) == nil || b.Err() != nil {
		t.Fatalf("first tensor: err %v", b.Err())
	}
	if b.Matrix("b", 2, 2) != nil || b.F32("c", 1) != nil || b.Matrix("d", 1) != nil {
		t.Error("calls after an error must return nil")
	}
	if err := b.Err(); err == nil || !strings.Contains(err.Error(), "no tensor b") {
		t.Errorf("Err() = %v, want the first failure (b)", err)
	}
	if src.calls != 2 {
		t.Errorf("the source was asked %d times, want 2 (nothing after the first error)", src.calls)
	}
}

func TestBinderRowsNeedRowSource(t *testing.T) {
	b := NewBinder(&countingSource{})
	if b.MatrixRows("qkv", 0, 2, 4) != nil {
		t.Error("MatrixRows on a plain Source returned a tensor")
	}
	if err := b.Err(); err == nil || !strings.Contains(err.Error(), "row ranges") {
		t.Errorf("Err() = %v, want one saying the source cannot load row ranges", err)
	}
}
