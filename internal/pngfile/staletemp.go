package pngfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// StaleTempAge is the age from which RemoveStaleTemps takes a temporary file of Write for
// the leftover of a killed process: Write keeps one only for the moment it takes to write
// an image, so a younger one may belong to a run still writing into the same folder.
const StaleTempAge = 10 * time.Minute

// tempName matches the names atomicfile.TempPattern gives for a PNG: ".NAME.png.DIGITS.tmp" (os.CreateTemp
// puts decimal digits where the pattern has its *).
var tempName = regexp.MustCompile(`^\..+\.(?i:png)\.[0-9]+\.tmp$`)

// RemoveStaleTemps deletes the temporary files Write left in dir when its process was
// killed mid-write (".NAME.png.NNN.tmp"), if they are at least olderThan old, and returns
// the paths it removed and those of the younger ones it kept (they may belong to a run still
// writing). Files of any other name, folders and symlinks are never touched.
func RemoveStaleTemps(dir string, olderThan time.Duration) (removed, kept []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("look for stale temporary files: %w", err)
	}
	var errs []error
	now := time.Now()
	for _, e := range entries {
		if !e.Type().IsRegular() || !tempName.MatchString(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile: its writer finished
		}
		p := filepath.Join(dir, e.Name())
		if now.Sub(info.ModTime()) < olderThan {
			kept = append(kept, p)
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove stale temporary file: %w", err))
			continue
		}
		removed = append(removed, p)
	}
	return removed, kept, errors.Join(errs...)
}
