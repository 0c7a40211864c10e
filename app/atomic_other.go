//go:build !windows

package app

// ignorableSyncError: every error syncing a folder matters where folders can be synced.
func ignorableSyncError(error) bool { return false }
