package cpu

import (
	"encoding/json"
	"runtime"
	"slices"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
)

// genericGolden holds, per op of runAllOps, the SHA-256 of the generic kernels' output bits.
const genericGolden = "testdata/generic_ops.json"

// TestGenericKernelsBitExact checks that the portable Go kernels give the same bits on every
// architecture: the hashes were written on amd64, and `GOARCH=arm64 go test -exec
// qemu-aarch64-static` runs the same check on arm64, where Go would fuse a*b+c into one
// multiply-add if the code let it. Regenerate with go test -run GenericKernelsBitExact
// -update (only after a deliberate change of the generic numerics).
func TestGenericKernelsBitExact(t *testing.T) {
	if fixtures.Updating() && runtime.GOARCH != "amd64" {
		t.Fatal("-update writes the hashes from amd64, which every other architecture must match")
	}
	out := runAllOps(t, New(2, WithKernels(KernelsGeneric)))
	got := map[string]string{}
	for name, vals := range out {
		got[name] = hashBits(vals)
	}
	raw, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	raw = fixtures.Golden(t, genericGolden, append(raw, '\n'))
	var want map[string]string
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(got))
	for name := range got {
		names = append(names, name)
	}
	slices.Sort(names)
	if len(want) != len(got) {
		t.Errorf("%d ops hashed, %s has %d", len(got), genericGolden, len(want))
	}
	for _, name := range names {
		if got[name] != want[name] {
			t.Errorf("%s: the generic kernels' output differs from the golden bits", name)
		}
	}
}
