// Package cpu is the portable compute.Backend: every op of the compute interface in plain
// Go (no cgo, no assembly yet), on ordinary memory, spread over the cores by a small worker
// pool that each Backend owns.
//
// Tensors: F32 tensors hold a []float32, F16 and BF16 tensors (weights for Linear and
// Embedding) a []uint16 that those ops widen on use. Reshape shares the slice. Ops run
// synchronously: when a method returns, dst holds the result, so Sync has nothing to wait
// for and Read is a copy. Shape mismatches panic with a message naming the op and operand.
//
// Numerics follow PyTorch's float32 CPU ops: products and sums in float32; LayerNorm and
// GroupNorm statistics in float64 (more accurate than torch's float32 Welford), with torch's
// folded scale-and-shift; RMSNorm rounded step by step like transformers' LlamaRMSNorm; GELU
// (erf form) and SiLU evaluated in float64 and rounded once; RoPE frequencies, angles, cos and
// sin in float32 like transformers; softmax in float32 with the max subtracted and the
// probabilities normalised before they weight V. On the PyTorch fixture in testdata the
// elementwise ops and norms agree within about one float32 ulp, Linear exactly, and the
// summing ops (convolution, attention) within a few ulps, the effect of summation order.
//
// Determinism: every op splits its work into fixed blocks of output rows or tiles, and
// every dot product is summed strictly in order of k whatever kernel, tile or K block
// computes it, so results are bit for bit the same for any thread count.
//
// Why hand-written matrix kernels: no Go BLAS is fast enough (gonum's sgemm measured about
// 9 GFLOP/s) and none widens BF16/F16 weights on the fly. Linear, Conv2D (as im2col blocks)
// and Attention (as two products per block of query rows) all run on the few small kernels
// of kernels.go, so SIMD assembly can later replace them one by one; what the kernels do and
// why they are shaped as they are is described there.
//
// Measured on the development machine (2 cores of an AMD EPYC "Turin", Zen 5, shared with
// other jobs, so the numbers are noisy and the 2-thread runs only scale when the second core
// happens to be free), with go test -run X -bench . -benchtime 3x -count 2, best run;
// GFLOP/s counts 2·M·N·K (attention: both products, causal pairs only), GB/s the bytes that
// must come from memory once:
//
//	                                      1 thread                2 threads (best seen)
//	Linear [1×2048]·[5632×2048]ᵀ BF16     4.2 GFLOP/s  4.2 GB/s    4.8 GFLOP/s  4.8 GB/s
//	Linear [1×2048]·[5632×2048]ᵀ F32      6.4 GFLOP/s 12.7 GB/s    6.1 GFLOP/s 12.2 GB/s
//	Linear [4×2048]·[5632×2048]ᵀ BF16     7.6 GFLOP/s             13.8 GFLOP/s
//	Linear [630×2048]·[2048×2048]ᵀ F32    9.7 GFLOP/s             10.3 GFLOP/s (core busy)
//	Linear [630×2048]·[2048×2048]ᵀ BF16   9.3 GFLOP/s             19.8 GFLOP/s
//	Conv2D 3×3 128→128 at 96×96           9.6 GFLOP/s             19.2 GFLOP/s
//	Conv2D 16×16/16 3→1024 at 384×384     9.6 GFLOP/s             18.2 GFLOP/s
//	Attention 630 causal, 16 heads ×128   6.9 GFLOP/s             14.2 GFLOP/s
//	Attention 576 full (ViT shape)        6.8 GFLOP/s             15.5 GFLOP/s
//	Attention 1 query over 630 keys       2.5 GFLOP/s  5.1 GB/s    3.8 GFLOP/s  7.6 GB/s
//
// Scalar Go tops out near one multiply-add per cycle per core, so even the one-row Linear
// (GEMV) is bound by arithmetic and BF16 widening rather than by memory bandwidth; SIMD
// kernels are what will change that.
package cpu
