package app

import "github.com/janus-desktop/janus/internal/bytesize"

// FormatBytes writes a size for people, rounded in decimal units ("4.2 GB", "640 MB"), as
// the window and the app's messages show sizes: bytesize.Format.
func FormatBytes(n int64) string { return bytesize.Format(n) }

// PreciseBytes writes a size with two decimals, as the hub lists file sizes ("4.19 GB"), for
// the command line's downloads and listings and where a transfer stopped: bytesize.Precise.
func PreciseBytes(n int64) string { return bytesize.Precise(n) }
