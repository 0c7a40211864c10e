package checkpoint_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/model/checkpoint"
)

// TestSafetensorsHeaderLengthLikePickle opens safetensors files whose header length's first
// byte is 0x80 followed by a byte ≤ 5, which is also how a legacy pickle checkpoint begins.
func TestSafetensorsHeaderLengthLikePickle(t *testing.T) {
	for _, size := range []int{0x80, 0x180, 0x280, 0x580} {
		header := `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
		header += strings.Repeat(" ", size-len(header))
		raw := binary.LittleEndian.AppendUint64(nil, uint64(size))
		raw = append(raw, header...)
		raw = binary.LittleEndian.AppendUint32(raw, 0x3f800000) // 1.0
		raw = binary.LittleEndian.AppendUint32(raw, 0x40000000) // 2.0
		path := filepath.Join(t.TempDir(), "model.safetensors")
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		ck, err := checkpoint.Open(path)
		if err != nil {
			t.Fatalf("header of %#x bytes: %v", size, err)
		}
		got := make([]float32, 2)
		if err := ck.Float32("w", got); err != nil || got[0] != 1 || got[1] != 2 {
			t.Errorf("header of %#x bytes: w = %v, %v", size, got, err)
		}
		ck.Close()
	}
}
