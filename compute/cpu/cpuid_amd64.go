//go:build amd64 && !purego

package cpu

// cpuid is in cpuid_amd64.s.
func cpuid(leaf, sub uint32) (a, b, c, d uint32)

// dotBF16Fast reports whether VDPBF16PS runs at the rate of a 16-float FMA, so that the
// BF16 mode's VDPBF16PS tiles, which do twice an FMA's products per instruction, beat the FMA
// tiles (the two give the same bits). x/sys/cpu has the feature flags but not the vendor,
// and the rate is the vendor's: AMD's Zen 4 and Zen 5 issue VDPBF16PS as often as an FMA
// (on a Zen 5 EPYC Linear runs 1.6-2.3 times as fast as on the FMA tiles, Conv2D, whose
// panels come straight from the input (pairPanel48), 1.8-2.4 times), Intel's Sapphire
// Rapids every other cycle (there the FMA tiles are faster). README, "BF16 precision".
func dotBF16Fast() bool { return amdCPU() }

// q4Fours reports whether the grouped Q4 kernels run eight input rows as two passes of four
// over two groups rather than one pass of eight: on the Zen 5 EPYC the products read 8-26 %
// faster so, where on the Sapphire Rapids Xeon one pass made a four-image step 10 % shorter
// (README, "The Zen 5 round, evening"), and on a Zen 4 one pass took the layer stack's eight
// rows 7-12 % less time (docs/performance.md, "Prefetch distance"). AMD CPUs but the Zen 4
// take it, though only the Zen 5 was measured.
func q4Fours() bool { return amdCPU() && !zen4() }

// q4Kicks reports whether the grouped Q4 and Q4M kernels of one or two input rows (a
// decoding step, a guided generation step) start the hardware prefetchers' stream at each page
// instead of prefetching every line, as Q8's do: faster on a Zen 4, where on the Zen 5 and
// the Sapphire Rapids Xeon the prefetch of every line was (docs/performance.md, "Page
// kicks"). Either gives the same bits.
func q4Kicks() bool { return zen4() }

// int8Prompts reports whether the BF16 mode's Linear with quantized weights takes every row
// count on the int8 kernels rather than dequantized BF16 panels (linearQ): faster on a Zen 4
// (docs/performance.md, "The Zen 4 round"); the Zen 5 was not measured with it, and AMX's
// BF16 tiles (Intel) do far more per instruction.
func int8Prompts() bool { return zen4() }

// q8Far reports whether the grouped Q8 kernel of eight input rows (four images' guided step)
// prefetches 4 KB ahead rather than 2 KB: on a Zen 4, where each block's arithmetic takes
// twice a Zen 5's, 2 KB ahead was less time than memory takes to answer (docs/performance.md,
// "Prefetch distance"); the Zen 5 and the Xeon were not measured with it. Either gives the
// same bits.
func q8Far() bool { return zen4() }

// zen4 reports whether the CPU is AMD's family 19h, whose AVX-512 CPUs are the Zen 4 ones:
// they issue each 512-bit operation as two 256-bit halves.
func zen4() bool {
	a, _, _, _ := cpuid(1, 0)
	return amdCPU() && cpuFamily(a) == 0x19
}

// cpuFamily is the family in the signature CPUID leaf 1 gives in EAX: the base family, plus
// the extended family where the base is 0xF.
func cpuFamily(eax uint32) uint32 {
	f := eax >> 8 & 0xF
	if f == 0xF {
		f += eax >> 20 & 0xFF
	}
	return f
}

// amdCPU reports whether the CPU's vendor is AMD: "AuthenticAMD" in EBX, EDX, ECX.
func amdCPU() bool {
	_, b, c, d := cpuid(0, 0)
	return b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163
}
