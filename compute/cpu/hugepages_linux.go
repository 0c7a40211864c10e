package cpu

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on amd64 and on arm64 with 4 KB pages.
const hugePage = 2 << 20

// adviseHugePages asks the kernel to back the whole 2 MB pages inside b with transparent huge
// pages (MADV_HUGEPAGE), before b is first written. Filling a weight of hundreds of megabytes
// otherwise takes one page fault per 4 KB, and in a virtual machine a fault can cost 10 µs:
// seconds of a model's load. Advice only: where the kernel has THP disabled, or no huge page
// free, nothing changes.
func adviseHugePages(b []byte) {
	if len(b) < 2*hugePage {
		return
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := (p + hugePage - 1) &^ (hugePage - 1)
	hi := (p + uintptr(len(b))) &^ (hugePage - 1)
	if hi <= lo {
		return
	}
	_ = unix.Madvise(b[lo-p:hi-p], unix.MADV_HUGEPAGE)
}
