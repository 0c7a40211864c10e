package cpu

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
)

var updateAVX2 = flag.Bool("update-avx2", false, "rewrite testdata/avx2_matrix_ops.json from this machine's AVX2 kernels")

// avx2Golden holds, per matrix op of runAllOps (Linear, Conv2D), the SHA-256 of the AVX2
// kernel set's output bits.
const avx2Golden = "testdata/avx2_matrix_ops.json"

// hashBits is the SHA-256 of the float32 bits of vals, in hex.
func hashBits(vals []float32) string {
	h := sha256.New()
	for _, v := range vals {
		h.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)))
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// TestMatrixOpsAVX2Bits checks that Linear and Conv2D give the AVX2 set's bits on the NEON
// set: both sum every dot product in the same documented order (doc.go), so the hashes
// written on amd64 with the AVX2 kernels hold on arm64 (run it with GOARCH=arm64 go test
// -exec qemu-aarch64-static). On amd64 it checks that the AVX2 kernels still match the
// file, so a change of their order shows here before it shows on arm64. Regenerate with go
// test -run MatrixOpsAVX2Bits -update-avx2 on an AVX2 machine, only after a deliberate
// change of the order, and change the NEON kernels with it.
func TestMatrixOpsAVX2Bits(t *testing.T) {
	var ks Kernels
	switch best := simdBest(); {
	case best == simdNEON:
		ks = KernelsNEON
	case best == simdAVX2 || best == simdAVX512:
		ks = KernelsAVX2
	default:
		t.Skip("neither AVX2 nor NEON kernels in this build")
	}
	if *updateAVX2 && ks != KernelsAVX2 {
		t.Fatal("-update-avx2 needs the AVX2 kernels")
	}
	got := map[string]string{}
	for name, vals := range runAllOps(t, New(2, WithKernels(ks))) {
		if strings.HasPrefix(name, "Linear ") || strings.HasPrefix(name, "Conv2D ") {
			got[name] = hashBits(vals)
		}
	}
	if *updateAVX2 {
		raw, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(avx2Golden, append(raw, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	raw, err := os.ReadFile(avx2Golden)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]string
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(got) {
		t.Errorf("%d matrix ops hashed, %s has %d", len(got), avx2Golden, len(want))
	}
	for name, h := range got {
		if h != want[name] {
			t.Errorf("%s: the %s kernels' output differs from the AVX2 bits", name, kernelName(ks))
		}
	}
}
