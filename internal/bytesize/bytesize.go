// Package bytesize writes sizes in bytes for people, in decimal units (10³, as the Hugging
// Face hub, file managers and memory vendors count), so that the window, the command line
// and the model's errors word a size alike.
package bytesize

import "fmt"

// Format rounds n for people: "4.2 GB", "640 MB", "340 kB", "512 bytes"; a negative n
// (memory left after what is held, which can fall short) gets a minus sign before its
// magnitude.
func Format(n int64) string {
	sign, m := "", float64(n)
	if n < 0 {
		sign, m = "-", -m
	}
	switch {
	case m >= 1e12:
		return fmt.Sprintf("%s%.1f TB", sign, m/1e12)
	case m >= 1e9:
		return fmt.Sprintf("%s%.1f GB", sign, m/1e9)
	case m >= 1e6:
		return fmt.Sprintf("%s%.0f MB", sign, m/1e6)
	case m >= 1e3:
		return fmt.Sprintf("%s%.0f kB", sign, m/1e3)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Precise writes n with two decimals, as the hub lists file sizes: "4.19 GB", "9.81 MB",
// "999 B", terabytes at most. It is for the command line's downloads and listings, where
// Format's rounding would hide a transfer's progress or two files' difference.
func Precise(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n), 0
	for f >= unit && i < 4 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.2f %cB", f, "kMGT"[i-1])
}
