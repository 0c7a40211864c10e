//go:build !linux

package cpu

// hugePageAdvice does nothing where transparent huge pages cannot be asked for.
func hugePageAdvice([]byte, bool) {}
