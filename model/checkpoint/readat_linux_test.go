//go:build !checkpoint_nommap

package checkpoint_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/checkpoint/checkpointtest"
)

// TestReadAt checks that ReadAt reads any range of a tensor's bytes without mapping them
// into the process (the map's Rss in /proc/self/smaps stays near zero, where reading through
// Raw raises it), and refuses ranges outside the tensor, unknown names and a closed
// checkpoint.
func TestReadAt(t *testing.T) {
	const n = 8 << 20
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i*7 + i>>12)
	}
	path := filepath.Join(t.TempDir(), "model.safetensors")
	err := checkpointtest.WriteSafetensors(path, []checkpointtest.Tensor{
		{Name: "small", DType: checkpoint.F32, Shape: []int{4}, Data: make([]byte, 16)},
		{Name: "big", DType: checkpoint.BF16, Shape: []int{n / 2}, Data: data},
	}, checkpointtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	got := make([]byte, n)
	for _, r := range [][2]int{{0, n}, {n / 2, n/2 + 4096}, {n - 3, n}, {17, 17}} {
		if err := ck.ReadAt("big", got[:r[1]-r[0]], int64(r[0])); err != nil {
			t.Fatalf("ReadAt [%d, %d): %v", r[0], r[1], err)
		}
		if !bytes.Equal(got[:r[1]-r[0]], data[r[0]:r[1]]) {
			t.Fatalf("ReadAt [%d, %d) read other bytes", r[0], r[1])
		}
	}
	if rss := mappedRss(t, path); rss > n/8 {
		t.Errorf("Rss of the map %d kB after reading %d MB with ReadAt", rss>>10, n>>20)
	}
	for _, tc := range []struct {
		name string
		n    int
		off  int64
		want string
	}{
		{"big", 2, n - 1, "outside"},
		{"big", 1, -1, "outside"},
		{"small", 17, 0, "outside"},
		{"none", 1, 0, "no such tensor"},
	} {
		if err := ck.ReadAt(tc.name, make([]byte, tc.n), tc.off); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadAt(%q, %d bytes at %d) = %v, want an error containing %q", tc.name, tc.n, tc.off, err, tc.want)
		}
	}
	raw, err := ck.Raw("big")
	if err != nil {
		t.Fatal(err)
	}
	var sum int
	for i := 0; i < len(raw); i += 4096 {
		sum += int(raw[i])
	}
	if rss := mappedRss(t, path); rss < n/2 {
		t.Fatalf("%d kB of the map resident after reading %d MB through Raw (sum %d): the check above cannot see residency here", rss>>10, n>>20, sum)
	}
	ck.Close()
	if err := ck.ReadAt("big", got[:1], 0); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("ReadAt after Close = %v, want an error saying it is closed", err)
	}
}

// mappedRss is the resident size in bytes of this process's mappings of path.
func mappedRss(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	total, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if fields := strings.Fields(line); len(fields) > 0 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = strings.HasSuffix(line, " "+path)
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			kb, err := strconv.Atoi(strings.Fields(line)[1])
			if err != nil {
				t.Fatal(err)
			}
			total += kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}
