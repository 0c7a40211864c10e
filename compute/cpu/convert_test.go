package cpu

import (
	"encoding/binary"
	"math"

	"github.com/janus-desktop/janus/compute"
)

// le encodes vals as little-endian elements of dtype dt, as checkpoints store them.
func le(dt compute.DType, vals []float32) []byte {
	var out []byte
	for _, v := range vals {
		switch dt {
		case compute.F32:
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		case compute.F16:
			out = binary.LittleEndian.AppendUint16(out, f32ToF16(v))
		case compute.BF16:
			out = binary.LittleEndian.AppendUint16(out, f32ToBF16(v))
		}
	}
	return out
}
