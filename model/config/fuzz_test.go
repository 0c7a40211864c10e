package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
)

// FuzzLoad feeds arbitrary config.json and processor_config.json contents to Load: it must
// return a config or an error, never panic, and a config it returns must be self-consistent.
func FuzzLoad(f *testing.F) {
	for _, dir := range [][]string{{"real-configs", "janus-pro-7b"}, {"real-configs", "janus-1.3b"}, {"models", "tiny-a"}} {
		root := fixtures.Path(f, dir...)
		cfg, err := os.ReadFile(filepath.Join(root, ConfigFile))
		if err != nil {
			f.Fatal(err)
		}
		proc, err := os.ReadFile(filepath.Join(root, ProcessorFile))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(cfg, proc)
	}
	f.Add([]byte(`{"vision_config": {"cls": "CLIPVisionTower", "params": {"select_layer": -2147483648, "image_size": 0}}}`), []byte(`{}`))
	f.Add([]byte(`{"gen_vision_config": {"cls": "VQ-16", "params": {"ch_mult": [1e300, -1], "image_token_size": 1}}}`), []byte(`null`))
	f.Add([]byte(`{"language_config": {"num_attention_heads": 0, "head_dim": 3, "rope_scaling": {}}}`), []byte(`[]`))
	f.Add([]byte(`{"vision_config": {"cls": "CLIPVisionTower", "params": {"image_size": 390, "pixel_mean": [0, 0, 0]}}}`), []byte(`{"sft_format": "plain"}`))
	f.Fuzz(func(t *testing.T, cfgJSON, procJSON []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ConfigFile), cfgJSON, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ProcessorFile), procJSON, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(dir)
		if err != nil {
			return
		}
		v, l, q := cfg.Vision, cfg.LLM, cfg.VQ
		if v.Layers < 1 || v.Tokens != v.Grid*v.Grid || v.Grid < 1 || v.Grid != v.ImageSize/v.PatchSize || v.HeadDim*v.Heads != v.Width {
			t.Fatalf("accepted an inconsistent ViT: %+v", v)
		}
		if l.Layers < 1 || l.HeadDim < 1 || l.Heads%l.KVHeads != 0 || l.Vocab < 1 {
			t.Fatalf("accepted an inconsistent LLM: %+v", l)
		}
		if q.Grid*q.Downsample != q.ImageSize || q.ImageTokens != q.Grid*q.Grid || q.CodebookSize != cfg.GenEmbed.Size {
			t.Fatalf("accepted an inconsistent VQ: %+v", q)
		}
		if cfg.Processor.NumImageTokens != v.Tokens || cfg.Processor.SFTFormat != SFTDeepSeek || cfg.Aligner.OutputDim() != l.Hidden {
			t.Fatalf("accepted inconsistent links: %+v", cfg)
		}
	})
}
