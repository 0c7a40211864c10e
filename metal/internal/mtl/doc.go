// Package mtl is the real Metal device of the Metal backend (darwin only): a small binding
// of the Metal API on github.com/ebitengine/purego's objc package, in the manner of
// Ebitengine's internal/graphicsdriver/metal/mtl, implementing metal/internal/gpu.
//
// It is written by hand rather than generated because it needs a dozen selectors, each
// called through a typed objc_msgSend registered once per device (objc.Send and ID.Send go
// through reflection on every call). The rules it follows (see
// ../shared/docs/platform-notes.md §3):
//   - CoreGraphics is loaded before MTLCreateSystemDefaultDevice, which returns nil in
//     command-line programs otherwise; MTLCopyAllDevices is the fallback;
//   - kernels are compiled at run time from source with fast math off, so exp, division and
//     the softmax behave like the CPU backend's float32 arithmetic;
//   - every call that may autorelease (device and library setup, buffer allocation and
//     release, making, committing and waiting for a command buffer) runs inside an
//     autorelease pool on a locked OS thread (pools are per thread, goroutines migrate);
//     command buffers and encoders are retained explicitly, so several can be in flight;
//   - a command buffer's error status and every NSError come back as Go errors with
//     Metal's own description.
package mtl
