package model

import (
	"fmt"

	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/vq"
	"github.com/janus-desktop/janus/model/weights"
)

// LoadVQ loads only the VQ decoder of the model folder dir, for turning image token grids
// into pictures without the language model: it reads a few MB of weights instead of GBs.
// It runs on opts.Backend (required), opts.Context cancels the load; the other options do
// not apply (OwnBackend aside).
// Free the decoder with its Free method. With opts.OwnBackend the decoder owns the backend
// and Free closes it (vq.Decoder.OwnBackend); a LoadVQ that fails closes it itself.
func LoadVQ(dir string, opts Options) (d *vq.Decoder, err error) {
	held := false // d owns the backend
	defer closeOwned(opts, &held)
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, err
	}
	be := opts.Backend
	if be == nil {
		return nil, errNoBackend
	}
	ck, err := checkpoint.Open(dir)
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	d, err = vq.Load(be, weights.NewLoaderWith(ck, be, weights.LoaderOptions{Context: opts.Context}), vq.ParamsFromConfig(cfg.VQ))
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	if err = be.Sync(); err != nil {
		d.Free()
		return nil, err
	}
	if opts.OwnBackend {
		d.OwnBackend()
		held = true
	}
	return d, nil
}
