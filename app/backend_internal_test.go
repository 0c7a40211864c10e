package app

import (
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// labelBackend is a backend that only answers what backendLabel asks.
type labelBackend struct {
	compute.Backend
	name, kernels, device string
	threads               int
}

func (b labelBackend) Name() string { return b.name }

type cpuLike struct{ labelBackend }

func (b cpuLike) Threads() int    { return b.threads }
func (b cpuLike) Kernels() string { return b.kernels }

type gpuLike struct{ labelBackend }

func (b gpuLike) Device() string { return b.device }

func TestBackendLabel(t *testing.T) {
	for _, tc := range []struct {
		be   compute.Backend
		want string
	}{
		{cpuLike{labelBackend{name: "cpu", threads: 8, kernels: "avx512"}}, "CPU · 8 threads · AVX-512"},
		{cpuLike{labelBackend{name: "cpu", threads: 2, kernels: "avx512+amx"}}, "CPU · 2 threads · AVX-512 + AMX"},
		{cpuLike{labelBackend{name: "cpu", threads: 2, kernels: "avx512+vdpbf16ps"}}, "CPU · 2 threads · AVX-512 BF16"},
		{cpuLike{labelBackend{name: "cpu", threads: 2, kernels: "avx2-fma"}}, "CPU · 2 threads · AVX2"},
		{cpuLike{labelBackend{name: "cpu", threads: 1, kernels: "generic"}}, "CPU · 1 thread"},
		{gpuLike{labelBackend{name: "metal", device: "Apple M2 Pro"}}, "Metal · Apple M2 Pro"},
		{gpuLike{labelBackend{name: "metal-sim", device: "simulated Metal device"}}, "Metal (simulated) · simulated Metal device"},
		{labelBackend{name: "vulkan"}, "Vulkan"},
	} {
		if got := backendLabel(tc.be); got != tc.want {
			t.Errorf("backendLabel(%s) = %q, want %q", tc.be.Name(), got, tc.want)
		}
	}
}

type bf16Like struct {
	labelBackend
	bf16 string
}

func (b bf16Like) BF16Kernels() string { return b.bf16 }

func TestFastArithmetic(t *testing.T) {
	for _, tc := range []struct {
		be   compute.Backend
		want string
	}{
		{bf16Like{labelBackend{name: "cpu"}, "avx512+amx"}, "AMX"},
		{bf16Like{labelBackend{name: "cpu"}, "avx512"}, "AVX-512 BF16"},
		{bf16Like{labelBackend{name: "cpu"}, "avx512+vdpbf16ps"}, "AVX-512 BF16"},
		{bf16Like{labelBackend{name: "cpu"}, ""}, ""},
		{gpuLike{labelBackend{name: "metal"}}, ""},
	} {
		if got := fastArithmetic(tc.be); got != tc.want {
			t.Errorf("fastArithmetic(%v) = %q, want %q", tc.be, got, tc.want)
		}
	}
}
