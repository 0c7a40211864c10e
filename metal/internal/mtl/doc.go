// Package mtl is the real Metal device of the Metal backend (darwin only): a small binding
// of the Metal API on github.com/ebitengine/purego's objc package, in the manner of
// Ebitengine's internal/graphicsdriver/metal/mtl, implementing metal/internal/gpu.
//
// It is written by hand rather than generated because it needs a few dozen selectors, each
// called through a typed objc_msgSend registered once per device: the signatures are
// checked once, and tested on Linux against C stubs (msg_linux_test.go). purego still
// marshals each call through reflect (its cost: docs/metal.md, "What the checks on Linux
// cover"), so a dispatch costs its handful of calls. The rules it follows (see
// ../shared/docs/platform-notes.md §3):
//   - the device is the first of MTLCopyAllDevices that is an Apple GPU (MTLGPUFamilyApple7)
//     sharing the system's memory, found without MTLCreateSystemDefaultDevice, which switches
//     a two-GPU Intel Mac to its discrete GPU; CoreGraphics is loaded first, without which
//     command-line programs are reported to find no device;
//   - buffers larger than maxBufferLength are refused with both sizes named;
//   - kernels are compiled at run time from source with fast math off (and, on macOS 15,
//     the safe math mode and the precise math functions that replace that setting), so exp,
//     division and the softmax behave like the CPU backend's float32 arithmetic;
//   - the device's recommendedMaxWorkingSetSize is the backend's memory budget;
//   - every call that may autorelease (device and library setup, buffer allocation and
//     release, making, encoding, committing and waiting for a command buffer) runs inside an
//     autorelease pool on a locked OS thread (pools are per thread, goroutines migrate);
//     command buffers and encoders are retained explicitly, so several can be in flight;
//   - a command buffer's error status and every NSError come back as Go errors with
//     Metal's own description, and for a command buffer out of memory, stopped for running
//     too long or refused after earlier GPU errors, words that say what to do.
package mtl
