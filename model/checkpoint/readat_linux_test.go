//go:build !checkpoint_nommap

package checkpoint_test

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestReadAtMapsNothing checks that ReadAt reads a tensor without mapping its bytes into
// the process: the map's Rss in /proc/self/smaps stays near zero, where reading through Raw
// raises it.
func TestReadAtMapsNothing(t *testing.T) {
	const n = 8 << 20
	ck, path, data := openBig(t, n)
	got := make([]byte, n)
	if err := ck.ReadAt("big", got, 0); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAt of the whole tensor: %v, same bytes %v", err, bytes.Equal(got, data))
	}
	if rss := mappedRss(t, path); rss > n/8 {
		t.Errorf("Rss of the map %d kB after reading %d MB with ReadAt", rss>>10, n>>20)
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
