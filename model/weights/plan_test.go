package weights

import (
	"slices"
	"testing"
)

// TestRecorder: a Recorder lists each tensor once, a fused one with its whole shape, with the
// part its prefix gives and the kind of the call.
func TestRecorder(t *testing.T) {
	var r Recorder
	if qkv := r.MatrixSplit(VisionPrefix+"blocks.0.attn.qkv.weight", 3, 12, 4); len(qkv) != 3 {
		t.Fatalf("MatrixSplit gave %d tensors, want 3", len(qkv))
	}
	r.F32Split(VisionPrefix+"blocks.0.attn.qkv.bias", 3, 12)
	r.Matrix(AlignerPrefix+"layers.0.weight", 8, 4)
	r.F32(GenVisionPrefix+"decoder.conv_in.bias", 8)
	r.Matrix(GenAlignerPrefix+"layers.0.weight", 8, 4)
	r.Matrix(GenHeadPrefix+"vision_head.weight", 8, 4)
	r.Matrix(GenEmbedName, 16, 4)
	r.F32(LLMPrefix+"model.norm.weight", 4)
	r.Matrix(LLMPrefix+"lm_head.weight", 16, 4)
	want := []Spec{
		{VisionPrefix + "blocks.0.attn.qkv.weight", []int{12, 4}, PartVision, Matrix},
		{VisionPrefix + "blocks.0.attn.qkv.bias", []int{12}, PartVision, Dense},
		{AlignerPrefix + "layers.0.weight", []int{8, 4}, PartAligner, Matrix},
		{GenVisionPrefix + "decoder.conv_in.bias", []int{8}, PartVQ, Dense},
		{GenAlignerPrefix + "layers.0.weight", []int{8, 4}, PartGen, Matrix},
		{GenHeadPrefix + "vision_head.weight", []int{8, 4}, PartGen, Matrix},
		{GenEmbedName, []int{16, 4}, PartGen, Matrix},
		{LLMPrefix + "model.norm.weight", []int{4}, PartLLM, Dense},
		{LLMPrefix + "lm_head.weight", []int{16, 4}, PartLMHead, Matrix},
	}
	got := r.Specs()
	if !slices.EqualFunc(got, want, func(a, b Spec) bool {
		return a.Name == b.Name && slices.Equal(a.Shape, b.Shape) && a.Part == b.Part && a.Kind == b.Kind
	}) {
		t.Errorf("recorded\n%v\nwant\n%v", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("a name under no state-dict prefix was recorded without a panic")
		}
	}()
	r.F32("encoder.weight", 1)
}
