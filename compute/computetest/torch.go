package computetest

import (
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// The inputs and PyTorch float32 CPU outputs that testdata/torch_ops.py writes, embedded so
// that a backend's tests in any folder can run them.
var (
	//go:embed testdata/torch_ops.bin
	torchOpsBin []byte
	//go:embed testdata/torch_ops.json
	torchOpsJSON []byte
)

// torchOps holds the decoded goldens for one backend.
type torchOps struct {
	t    *testing.T
	be   compute.Backend
	vals []float32
	meta map[string]struct {
		Shape  []int `json:"shape"`
		Offset int   `json:"offset"`
	}
}

func loadTorchOps(t *testing.T, be compute.Backend) *torchOps {
	o := &torchOps{t: t, be: be}
	var doc struct {
		Tensors json.RawMessage `json:"tensors"`
	}
	if err := json.Unmarshal(torchOpsJSON, &doc); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(doc.Tensors, &o.meta); err != nil {
		t.Fatal(err)
	}
	o.vals = make([]float32, len(torchOpsBin)/4)
	for i := range o.vals {
		o.vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(torchOpsBin[4*i:]))
	}
	return o
}

// host returns the named tensor's values and shape.
func (o *torchOps) host(name string) ([]float32, []int) {
	m, ok := o.meta[name]
	if !ok {
		o.t.Fatalf("torch_ops has no %s", name)
	}
	return o.vals[m.Offset : m.Offset+prod(m.Shape)], m.Shape
}

// get returns the named tensor as a new backend tensor.
func (o *torchOps) get(name string) *compute.Tensor {
	v, shape := o.host(name)
	return o.be.FromFloat32(v, shape...)
}

// compare checks got against the named PyTorch output.
func (o *torchOps) compare(name string, got *compute.Tensor, tol float64) {
	o.t.Helper()
	want, shape := o.host(name)
	if len(got.Shape) != len(shape) || got.Len() != len(want) {
		o.t.Fatalf("%s: shape %v, torch has %v", name, got.Shape, shape)
	}
	closeTo(o.t, name+" vs torch", read(o.t, o.be, got), f64s(want), tol)
}

// testAgainstTorch runs every op on the inputs of testdata/torch_ops.py and compares with
// what PyTorch computed in float32.
func testAgainstTorch(t *testing.T, be compute.Backend) {
	o := loadTorchOps(t, be)
	like := func(name string) *compute.Tensor {
		_, shape := o.host(name)
		return be.New(compute.F32, shape...)
	}
	bf16 := func(name string) *compute.Tensor {
		v, shape := o.host(name)
		w, err := be.FromBytes(compute.BF16, shape, compute.F32, le32(v))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}

	w := bf16("linear.w")
	dst := like("linear.out")
	be.Linear(dst, o.get("linear.x"), w, o.get("linear.b"))
	o.compare("linear.out", dst, 1e-6)
	dst = like("linear1.out")
	be.Linear(dst, o.get("linear1.x"), w, nil)
	o.compare("linear1.out", dst, 1e-6)

	x := o.get("act.x")
	dst = like("act.x")
	be.GELU(dst, x)
	o.compare("gelu.out", dst, 2e-7)
	be.SiLU(dst, x)
	o.compare("silu.out", dst, 2e-7)
	be.SwiGLU(dst, x, o.get("swiglu.up"))
	o.compare("swiglu.out", dst, 2e-7)

	x = o.get("norm.x")
	dst = like("norm.x")
	be.LayerNorm(dst, x, o.get("norm.w"), o.get("norm.b"), 1e-6)
	o.compare("layernorm.out", dst, 1e-6)
	be.RMSNorm(dst, x, o.get("norm.w"), 1e-6)
	o.compare("rmsnorm.out", dst, 1e-6)

	dst = like("groupnorm.x")
	be.GroupNorm(dst, o.get("groupnorm.x"), o.get("groupnorm.w"), o.get("groupnorm.b"), 4, 1e-6)
	o.compare("groupnorm.out", dst, 1e-6)

	x = o.get("rope.x")
	be.RoPE(x, 2, 16, 7, 10000)
	o.compare("rope.out", x, 1e-6)

	p := compute.AttentionParams{Heads: 4, KVHeads: 2, HeadDim: 8, KVLen: 9, QPos0: 3, Causal: true,
		Scale: float32(1 / math.Sqrt(8))}
	dst = like("attn.q")
	be.Attention(dst, o.get("attn.q"), o.get("attn.k"), o.get("attn.v"), p)
	o.compare("attn.out", dst, 1e-6)
	p.Causal = false
	be.Attention(dst, o.get("attn.q"), o.get("attn.k"), o.get("attn.v"), p)
	o.compare("attn_full.out", dst, 1e-6)

	for _, c := range []struct {
		name        string
		stride, pad int
	}{{"conv3", 1, 1}, {"conv3s2", 2, 0}, {"conv1", 1, 0}, {"patch", 4, 0}} {
		dst = like(c.name + ".out")
		be.Conv2D(dst, o.get("conv.x"), o.get(c.name+".w"), o.get(c.name+".b"), compute.Conv2DParams{Stride: c.stride, Pad: c.pad})
		o.compare(c.name+".out", dst, 1e-6)
	}
	dst = like("upsample.out")
	be.Upsample2x(dst, o.get("conv.x"))
	o.compare("upsample.out", dst, 0)

	dst = like("embedding.out")
	be.Embedding(dst, bf16("embedding.table"), []int32{3, 0, 9, 3})
	o.compare("embedding.out", dst, 0)
}
