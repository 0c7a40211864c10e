// Package kernels holds the Metal Shading Language sources of the Metal backend's compute
// kernels. Both devices compile the same text: the Mac's Metal compiler at run time
// (newLibraryWithSource), and clang on Linux for the simulated device.
//
// Conventions the simulated device's build relies on (see metal/internal/sim): kernels are
// declared at the start of a line as `kernel void name(`; every parameter carries one
// attribute ([[buffer(i)]] or a thread-position attribute); setBytes structs are passed as
// `constant T& p` and hold only 4-byte fields (uint, float), which the Go side writes as
// uint32 words; threadgroup arrays are declared one per line as `threadgroup T name[N];` in
// kernel functions. Sizes are macros, not program-scope constants.
package kernels

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.metal
var files embed.FS

// Source returns every .metal file concatenated in name order (00_common.metal first): one
// compilation unit, since runtime compilation has no include path.
func Source() string {
	names, err := fs.Glob(files, "*.metal")
	if err != nil {
		panic(err) // the pattern is constant
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		data, err := files.ReadFile(name)
		if err != nil {
			panic(err) // embedded
		}
		b.WriteString("// ---- " + name + "\n")
		b.Write(data)
		b.WriteString("\n")
	}
	return b.String()
}
