package checkpoint_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/checkpoint/checkpointtest"
)

// openBig writes a safetensors file with a 16-byte F32 tensor "small" and a BF16 tensor "big"
// of n bytes, opens it (closed when the test ends), and returns it, its path and big's bytes.
func openBig(t *testing.T, n int) (*checkpoint.Checkpoint, string, []byte) {
	t.Helper()
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
	t.Cleanup(func() { ck.Close() })
	return ck, path, data
}

// TestReadAt: ReadAt reads any range of a tensor's bytes, and refuses ranges outside the
// tensor, unknown names, a closed checkpoint and a file cut short after it was opened, with
// an error that says which.
func TestReadAt(t *testing.T) {
	const n = 1 << 16
	ck, path, data := openBig(t, n)
	got := make([]byte, n)
	for _, r := range [][2]int{{0, n}, {n / 2, n/2 + 4096}, {n - 3, n}, {17, 17}} {
		if err := ck.ReadAt("big", got[:r[1]-r[0]], int64(r[0])); err != nil {
			t.Fatalf("ReadAt [%d, %d): %v", r[0], r[1], err)
		}
		if !bytes.Equal(got[:r[1]-r[0]], data[r[0]:r[1]]) {
			t.Fatalf("ReadAt [%d, %d) read other bytes", r[0], r[1])
		}
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

	// The file loses its last kilobyte after Open: a read that reaches it fails, one before it
	// still works.
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, st.Size()-1024); err != nil {
		t.Fatal(err)
	}
	if err := ck.ReadAt("big", got, 0); !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), `"big"`) {
		t.Errorf("ReadAt past the cut = %v, want io.ErrUnexpectedEOF naming the tensor", err)
	}
	if err := ck.ReadAt("big", got[:1024], 0); err != nil || !bytes.Equal(got[:1024], data[:1024]) {
		t.Errorf("ReadAt before the cut: %v", err)
	}

	ck.Close()
	if err := ck.ReadAt("big", got[:1], 0); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("ReadAt after Close = %v, want an error saying it is closed", err)
	}
}
