package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// vexDPBUSD rewrites, in the AVX-VNNI int8 kernels of the generated file, each register
// form of VPDPBUSD as its VEX encoding (VEX.256.66.0F38.W0 50 /r, AVX-VNNI), which the Go
// assembler does not emit: it encodes VPDPBUSD only as AVX512_VNNI's EVEX form, which a
// CPU without AVX-512 does not run. The register allocator gives these kernels YMM
// registers below 16 (VEX cannot name others), which it checks.
func vexDPBUSD() {
	out := flag.Lookup("out")
	if out == nil || out.Value.String() == "" {
		panic("asmgen: no -out file to rewrite VPDPBUSD in")
	}
	path := out.Value.String()
	src, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	ins := regexp.MustCompile(`^\tVPDPBUSD\s+Y(\d+), Y(\d+), Y(\d+)$`)
	lines := strings.Split(string(src), "\n")
	fn, n := "", 0
	for i, l := range lines {
		if strings.HasPrefix(l, "TEXT ") {
			fn = l
		}
		m := ins.FindStringSubmatch(l)
		if m == nil || !strings.Contains(fn, "AVXVNNI") {
			continue
		}
		var r [3]byte // rm (signed bytes), vvvv (unsigned bytes), reg (the sums)
		for k := range r {
			v, _ := strconv.Atoi(m[k+1])
			if v > 15 {
				panic(fmt.Sprintf("asmgen: %s in %s uses a register VEX cannot encode", l, fn))
			}
			r[k] = byte(v)
		}
		rm, src1, dst := r[0], r[1], r[2]
		enc := []byte{
			0xC4,
			(^dst>>3&1)<<7 | 1<<6 | (^rm>>3&1)<<5 | 0x02, // R̄ X̄ B̄, map 0F38
			(^src1&15)<<3 | 1<<2 | 0x01,                  // W0, vvvv, L = 256 bits, pp = 66
			0x50,
			0xC0 | (dst&7)<<3 | rm&7,
		}
		var b strings.Builder
		fmt.Fprintf(&b, "\t// %s (VEX, AVX-VNNI)", strings.TrimSpace(l))
		for _, e := range enc {
			fmt.Fprintf(&b, "\n\tBYTE $0x%02x", e)
		}
		lines[i] = b.String()
		n++
	}
	if n == 0 {
		panic("asmgen: no VPDPBUSD to rewrite in the AVX-VNNI kernels")
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		panic(err)
	}
}
