package vq

import (
	"context"
	"fmt"
	"image"

	"github.com/janus-desktop/janus/model/imageproc"
)

// DecodeToImages decodes grids like Decode and converts each image to 8-bit RGB with the
// official post-processing (spec §10, imageproc.Postprocess).
func (d *Decoder) DecodeToImages(ctx context.Context, grids [][]int32, onStage func(done, total int)) ([]*image.NRGBA, error) {
	dec, err := d.Decode(ctx, grids, onStage)
	if err != nil {
		return nil, err
	}
	s := d.p.ImageSize
	out := make([]*image.NRGBA, len(grids))
	for i := range out {
		if out[i], err = imageproc.Postprocess(dec[i*3*s*s:(i+1)*3*s*s], s, s); err != nil {
			return nil, fmt.Errorf("vq: image %d: %w", i, err)
		}
	}
	return out, nil
}
