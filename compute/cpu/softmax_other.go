//go:build !amd64 || purego

package cpu

// The BF16 mode, the only user of softmaxRowWide, runs on amd64 only (hasBF16).

func scaleMax8(x []float32, scale float32) float32 { panic("cpu: the BF16 mode is amd64 only") }
func expSum8(x []float32, shift float32) float32   { panic("cpu: the BF16 mode is amd64 only") }
func scale8(x []float32, s float32)                { panic("cpu: the BF16 mode is amd64 only") }
