package cpu

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on amd64 and on arm64 with 4 KB pages.
const hugePage = 2 << 20

// hugePageAdvice asks the kernel to back the whole 2 MB pages inside b with transparent huge
// pages (MADV_HUGEPAGE), before b is first written, or (on false) no longer to
// (MADV_NOHUGEPAGE). Filling a weight of hundreds of megabytes otherwise takes one page
// fault per 4 KB, which in a virtual machine is much of a model's load (docs/performance.md,
// "Page faults" in "The Zen 5 round (2026-12-04, 13:10–13:20)").
// Advice only: where the kernel has THP disabled, or no huge page free, nothing changes, and
// memory the Go heap has used before is already faulted in.
func hugePageAdvice(b []byte, on bool) {
	if len(b) < 2*hugePage {
		return
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := (p + hugePage - 1) &^ (hugePage - 1)
	hi := (p + uintptr(len(b))) &^ (hugePage - 1)
	if hi <= lo {
		return
	}
	advice := unix.MADV_HUGEPAGE
	if !on {
		advice = unix.MADV_NOHUGEPAGE
	}
	_ = unix.Madvise(b[lo-p:hi-p], advice)
}
