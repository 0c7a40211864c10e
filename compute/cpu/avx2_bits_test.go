package cpu

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/internal/fixtures"
)

// avx2Golden holds the SHA-256 of the AVX2 kernel set's output bits: per op of runAllOps,
// and for the vector exp, SiLU and GELU over a sweep of inputs (sweepInputs).
const avx2Golden = "testdata/avx2_ops.json"

// hashBits is the SHA-256 of the float32 bits of vals, in hex.
func hashBits(vals []float32) string {
	h := sha256.New()
	for _, v := range vals {
		h.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)))
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// sweepInputs is every 331st float32 of each sign up to 100 in magnitude: about 6.8
// million inputs across the range of the elementwise kernels (and past their clamps).
func sweepInputs() []float32 {
	var xs []float32
	for _, sign := range []float32{1, -1} {
		for b := uint32(0); ; b += 331 {
			x := math.Float32frombits(b)
			if x > 100 {
				break
			}
			xs = append(xs, sign*x)
		}
	}
	return xs
}

// TestAVX2Bits checks that the NEON set gives the AVX2 set's bits: its tiles sum every dot
// product in the same documented order and its exp, SiLU, GELU and one-query V sum take the
// same float32 steps (doc.go), and the rest is the same Go code, so the hashes written on
// amd64 with the AVX2 kernels (every op of runAllOps, and the elementwise kernels over
// sweepInputs) hold on arm64 (run it with GOARCH=arm64 go test -exec qemu-aarch64-static).
// On amd64 it checks that the AVX2 kernels still match the file, so a change of theirs
// shows here before it shows on arm64. Regenerate with go test -run AVX2Bits -update
// on an AVX2 machine, only after a deliberate change of the AVX2 numerics, and change the
// NEON kernels with it.
func TestAVX2Bits(t *testing.T) {
	var ks Kernels
	switch best := simdBest(); {
	case best == simdNEON:
		ks = KernelsNEON
	case best == simdAVX2 || best == simdAVX512:
		ks = KernelsAVX2
	default:
		t.Skip("neither AVX2 nor NEON kernels in this build")
	}
	if fixtures.Updating() && ks != KernelsAVX2 {
		t.Fatal("-update needs the AVX2 kernels: the hashes are theirs")
	}
	be := New(2, WithKernels(ks))
	got := map[string]string{}
	for name, vals := range runAllOps(t, be) {
		if strings.HasSuffix(name, " Q8") || strings.HasSuffix(name, " Q4") || strings.HasSuffix(name, " Q4M") {
			// The int8 sets sum their scaled blocks each in its own order: NEON's gives the
			// Go kernels' bits (TestNEONInt8BitExact), AVX2's and VNNI's do not.
			continue
		}
		got[name] = hashBits(vals)
	}
	// Decoding attention (a few query rows: scores straight from the cache, the V sum by
	// accRowsSIMD), which runAllOps's many-row cases do not reach.
	rng := rand.New(rand.NewPCG(7, 8))
	q := be.FromFloat32(randVals(rng, 2*2*4*32, 1), 2, 2, 4*32)
	k := be.FromFloat32(randVals(rng, 2*64*2*32, 1), 2, 64, 2*32)
	v := be.FromFloat32(randVals(rng, 2*64*2*32, 1), 2, 64, 2*32)
	att := be.New(compute.F32, q.Shape...)
	be.Attention(att, q, k, v, compute.AttentionParams{Heads: 4, KVHeads: 2, HeadDim: 32, KVLen: 61, QPos0: 59, Causal: true, Scale: 0.17})
	got["Attention decode"] = hashBits(read(t, be, att))
	xs := sweepInputs()
	y := make([]float32, len(xs))
	copy(y, xs)
	expShiftSIMD(y, 0)
	got["exp sweep"] = hashBits(y)
	siluSIMD(y, xs)
	got["SiLU sweep"] = hashBits(y)
	geluSIMD(y, xs)
	got["GELU sweep"] = hashBits(y)
	raw, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	raw = fixtures.Golden(t, avx2Golden, append(raw, '\n'))
	var want map[string]string
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(got) {
		t.Errorf("%d outputs hashed, %s has %d", len(got), avx2Golden, len(want))
	}
	names := slices.Sorted(maps.Keys(got))
	for _, name := range names {
		if got[name] != want[name] {
			t.Errorf("%s: the %s kernels' output differs from the AVX2 bits", name, kernelName(ks))
		}
	}
}
