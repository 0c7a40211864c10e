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

// TestEvict checks that Evict takes a tensor's mapped pages out of the process's resident
// memory (the map's Rss in /proc/self/smaps) and that the tensor still reads back intact.
func TestEvict(t *testing.T) {
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
	raw, err := ck.Raw("big")
	if err != nil {
		t.Fatal(err)
	}
	var sum int
	for i := 0; i < len(raw); i += 4096 {
		sum += int(raw[i])
	}
	before := mappedRss(t, path)
	if before < n/2 {
		t.Fatalf("%d kB of the map resident after reading %d MB (sum %d): cannot see residency here", before>>10, n>>20, sum)
	}
	ck.Evict("big", n/2, n/2)
	ck.Evict("no such tensor", 0, n)
	ck.Evict("big", n/2, n) // past the end: ignored
	half := mappedRss(t, path)
	if half > before*3/4 || half < before/4 {
		t.Errorf("Rss of the map %d kB after evicting half the tensor, %d kB before", half>>10, before>>10)
	}
	ck.Evict("big", 0, n)
	if after := mappedRss(t, path); after > before/8 {
		t.Errorf("Rss of the map %d kB after Evict, %d kB before", after>>10, before>>10)
	}
	again, err := ck.Raw("big")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Error("the tensor's bytes changed after Evict")
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
