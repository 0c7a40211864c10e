package app

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// physicalMemory is MemTotal from /proc/meminfo, or the cgroup v2 memory.max when a
// container is limited below it; 0 when neither can be read.
func physicalMemory() int64 {
	total := int64(0)
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) == 3 && fields[0] == "MemTotal:" && fields[2] == "kB" {
				if kb, err := strconv.ParseInt(fields[1], 10, 64); err == nil && kb > 0 {
					total = kb * 1024
				}
				break
			}
		}
		f.Close()
	}
	if raw, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if limit, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64); err == nil && limit > 0 && (total <= 0 || limit < total) {
			return limit
		}
	}
	return total
}
