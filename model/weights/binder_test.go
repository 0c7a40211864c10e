package weights

import (
	"errors"
	"slices"
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
	if qkv := b.MatrixSplit("qkv", 3, 6, 4); len(qkv) != 3 || qkv[0] != nil {
		t.Errorf("MatrixSplit on a plain Source returned %v, want three nil tensors", qkv)
	}
	if err := b.Err(); err == nil || !strings.Contains(err.Error(), "row ranges") {
		t.Errorf("Err() = %v, want one saying the source cannot load row ranges", err)
	}
}

// rowSource hands out row blocks of width cols and records the ranges asked for.
type rowSource struct {
	countingSource
	cols   int
	ranges [][2]int
}

func (s *rowSource) MatrixRows(name string, r0, r1 int) (*compute.Tensor, error) {
	s.ranges = append(s.ranges, [2]int{r0, r1})
	return s.load(name, []int{r1 - r0, s.cols})
}

func (s *rowSource) F32Rows(name string, r0, r1 int) (*compute.Tensor, error) {
	s.ranges = append(s.ranges, [2]int{r0, r1})
	return s.load(name, []int{r1 - r0})
}

func TestBinderSplits(t *testing.T) {
	src := &rowSource{cols: 4}
	b := NewBinder(src)
	qkv := b.MatrixSplit("qkv.weight", 3, 6, 4)
	bias := b.F32Split("qkv.bias", 3, 6)
	if b.Err() != nil || len(qkv) != 3 || len(bias) != 3 || qkv[2] == nil || bias[2] == nil {
		t.Fatalf("splits %v %v, err %v", qkv, bias, b.Err())
	}
	want := [][2]int{{0, 2}, {2, 4}, {4, 6}, {0, 2}, {2, 4}, {4, 6}}
	if !slices.Equal(src.ranges, want) {
		t.Errorf("row ranges %v, want %v", src.ranges, want)
	}
	b.MatrixSplit("qkv.weight", 3, 6, 5)
	if err := b.Err(); err == nil || !strings.Contains(err.Error(), "want [2 5]") {
		t.Errorf("Err() = %v, want one naming the block shape [2 5]", err)
	}
}
