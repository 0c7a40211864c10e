//go:build !linux

package cpu

// adviseHugePages does nothing where transparent huge pages cannot be asked for.
func adviseHugePages([]byte) {}
