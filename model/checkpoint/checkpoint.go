// Package checkpoint reads model weights as Hugging Face ships them: safetensors files and
// PyTorch zip checkpoints (pytorch_model.bin), single or sharded with an index file. Files
// are memory-mapped, so opening a checkpoint reads only headers; tensor bytes are paged in
// when a caller asks for them.
package checkpoint

// DType is a tensor element type as named in safetensors headers.
type DType string

// Element types found in checkpoints.
const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	Bool DType = "BOOL"
)

// TensorInfo describes one tensor of a checkpoint.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int
	// File is the path of the file that holds the tensor.
	File string
}

// Checkpoint is an open set of tensors from one or more weight files.
//
// API (implemented in this package):
//
//	Open(path string) (*Checkpoint, error)  // a weight file, an index .json, or a model folder
//	(*Checkpoint).Tensors() []TensorInfo    // every tensor, in file order
//	(*Checkpoint).Info(name) (TensorInfo, bool)
//	(*Checkpoint).Raw(name) ([]byte, error) // little-endian contiguous bytes, valid until Close
//	(*Checkpoint).Float32(name, dst []float32) error
//	(*Checkpoint).Files() []string
//	(*Checkpoint).Close() error
type Checkpoint struct {
}
