package model

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadMemoryFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		read    func(string) int64
		content string // "" with missing: no file
		missing bool
		want    int64
	}{
		{"meminfo", memTotal, "MemFree:  100 kB\nMemTotal:       24683620 kB\n", false, 24683620 * 1024},
		{"meminfo without MemTotal", memTotal, "MemFree: 100 kB\n", false, 0},
		{"meminfo other unit", memTotal, "MemTotal: 5 MB\n", false, 0},
		{"meminfo garbage", memTotal, "MemTotal: lots kB\n", false, 0},
		{"meminfo missing", memTotal, "", true, 0},
		{"cgroup limit", cgroupLimit, "8589934592\n", false, 8 << 30},
		{"cgroup unlimited", cgroupLimit, "max\n", false, 0},
		{"cgroup missing", cgroupLimit, "", true, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "none")
			if !tt.missing {
				path = write(string(rune('a'+i)), tt.content)
			}
			if got := tt.read(path); got != tt.want {
				t.Fatalf("read %q = %d, want %d", tt.content, got, tt.want)
			}
		})
	}
	if physicalMemory() <= 0 {
		t.Fatal("no physical memory size on linux")
	}
}
