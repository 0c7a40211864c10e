package model

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
	total := memTotal("/proc/meminfo")
	if limit := cgroupLimit("/sys/fs/cgroup/memory.max"); limit > 0 && (total <= 0 || limit < total) {
		return limit
	}
	return total
}

// memTotal reads the MemTotal line ("MemTotal:  16318048 kB") of a meminfo file.
func memTotal(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "MemTotal:" {
			continue
		}
		kb, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil || kb <= 0 {
			return 0
		}
		if len(fields) == 3 && fields[2] != "kB" {
			return 0
		}
		return kb * 1024
	}
	return 0
}

// cgroupLimit reads a cgroup v2 memory.max file: a byte count, or "max" for none (0).
func cgroupLimit(path string) int64 {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}
