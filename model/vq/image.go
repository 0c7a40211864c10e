package vq

import (
	"context"
	"fmt"
	"image"

	"github.com/janus-desktop/janus/model/imageproc"
)

// DecodeToImages decodes grids like Decode and converts each image to 8-bit RGB with the
// official post-processing (spec §10, imageproc.Postprocess). Each image is converted as soon
// as it is decoded, so only one float32 image is held at a time.
func (d *Decoder) DecodeToImages(ctx context.Context, grids [][]int32, onStage func(done, total int)) ([]*image.NRGBA, error) {
	out := make([]*image.NRGBA, len(grids))
	err := d.DecodeEachImage(ctx, grids, onStage, func(i int, img *image.NRGBA) error {
		out[i] = img
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DecodeEachImage decodes grids in order like DecodeToImages but hands each picture to emit
// as soon as it is ready instead of collecting them, so that a caller writing files holds
// one image at a time however many grids there are. Every grid is checked (CheckGrids)
// before the first is decoded; an error from emit stops the decode and is returned.
func (d *Decoder) DecodeEachImage(ctx context.Context, grids [][]int32, onStage func(done, total int), emit func(i int, img *image.NRGBA) error) error {
	s := d.p.ImageSize
	return d.decodeEach(ctx, grids, onStage, func(i int, pixels []float32) error {
		img, err := imageproc.Postprocess(pixels, s, s)
		if err != nil {
			return fmt.Errorf("vq: image %d: %w", i, err)
		}
		return emit(i, img)
	})
}
