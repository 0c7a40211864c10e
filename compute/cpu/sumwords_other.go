//go:build !amd64 || purego

package cpu

// sumWordsVector covers nothing here: SumWords's Go loop sums every word.
func sumWordsVector(w []uint64) (uint64, int) { return 0, 0 }
