package cpu

import (
	"fmt"
	"testing"
)

// BenchmarkAMXKernel times the AMX kernel alone on one thread: a 32×32 block over kc
// chunks of packed operands, in L1 (kc 8: 32 KB) or L2 (kc 64: 256 KB).
func BenchmarkAMXKernel(b *testing.B) {
	if !New(1, WithPrecision(PrecisionBF16)).amx {
		b.Skip("no AMX BF16 tiles on this CPU or system")
	}
	for _, kc := range []int{8, 64} {
		b.Run(fmt.Sprintf("kc=%d", kc), func(b *testing.B) {
			a := make([]uint16, kc*amxChunkA)
			p := make([]uint32, kc*amxChunkB)
			for i := range a {
				a[i] = 0x3f80
			}
			for i := range p {
				p[i] = 0x3f803f80
			}
			c := make([]float32, amxRows*amxCols)
			for b.Loop() {
				amxTile(kc, a, p, c, amxCols)
			}
			report(b, float64(2*amxRows*amxCols*amxK*kc), 0)
		})
	}
}
