//go:build !windows

package atomicfile

// ignorableSyncError: where folders can be synced, every failure to sync one matters.
func ignorableSyncError(error) bool { return false }
