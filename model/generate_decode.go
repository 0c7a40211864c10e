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
// opts.Backend / BackendName / Threads pick the backend and opts.Context cancels the load;
// the other options do not apply.
// Free the decoder with its Free method. When LoadVQ opened the backend (opts.Backend is
// nil), the decoder owns it and Free closes it; on failure LoadVQ closes it itself.
func LoadVQ(dir string, opts Options) (d *vq.Decoder, err error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, err
	}
	be, own, err := openBackend(opts)
	if err != nil {
		return nil, err
	}
	if own {
		defer func() {
			if err != nil {
				be.Close()
			}
		}()
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
	if own {
		d.OwnBackend()
	}
	return d, nil
}
