package imageproc

import (
	"errors"
	"fmt"
	"image"
)

// gifFirstFrame is what Pillow uses of a GIF's first frame that image/gif hides: the colour
// table as stored (image/gif blanks the transparent entry to transparent black, Pillow keeps
// its colour) and the transparent index (Pillow fills the screen outside the frame with it).
type gifFirstFrame struct {
	palette     []byte // RGB triples
	transparent int    // -1 when the frame has no transparent index
}

// parseGIFFirstFrame walks the GIF block structure up to the first image descriptor.
func parseGIFFirstFrame(data []byte) (gifFirstFrame, error) {
	out := gifFirstFrame{transparent: -1}
	const screenEnd = 13
	if len(data) < screenEnd {
		return out, errors.New("truncated GIF header")
	}
	pos := screenEnd
	if flags := data[10]; flags&0x80 != 0 {
		n := 3 << ((flags & 7) + 1)
		if pos+n > len(data) {
			return out, errors.New("truncated GIF global colour table")
		}
		out.palette = data[pos : pos+n]
		pos += n
	}
	skipSubBlocks := func() error {
		for {
			if pos >= len(data) {
				return errors.New("truncated GIF extension")
			}
			n := int(data[pos])
			pos += 1 + n
			if n == 0 {
				return nil
			}
		}
	}
	for pos < len(data) {
		switch data[pos] {
		case 0x21: // extension
			if pos+2 > len(data) {
				return out, errors.New("truncated GIF extension")
			}
			label := data[pos+1]
			pos += 2
			if label == 0xf9 && pos+5 <= len(data) && data[pos] == 4 {
				out.transparent = -1
				if data[pos+1]&1 != 0 {
					out.transparent = int(data[pos+4])
				}
			}
			if err := skipSubBlocks(); err != nil {
				return out, err
			}
		case 0x2c: // image descriptor of the first frame
			if pos+10 > len(data) {
				return out, errors.New("truncated GIF image descriptor")
			}
			if flags := data[pos+9]; flags&0x80 != 0 {
				n := 3 << ((flags & 7) + 1)
				if pos+10+n > len(data) {
					return out, errors.New("truncated GIF local colour table")
				}
				out.palette = data[pos+10 : pos+10+n]
			}
			return out, nil
		default:
			return out, fmt.Errorf("unexpected GIF block 0x%02x at byte %d", data[pos], pos)
		}
	}
	return out, errors.New("GIF has no image")
}

// gifToRGB converts image/gif's first frame the way Pillow 9.4 loads frame 0 and converts it
// to RGB: palette colours as stored, and a frame smaller than the logical screen placed on a
// screen filled with the transparent index (or index 0 when there is none).
func gifToRGB(img image.Image, data []byte, cfg image.Config) (*image.NRGBA, error) {
	frame, ok := img.(*image.Paletted)
	if !ok {
		return ToRGB(img), nil
	}
	info, err := parseGIFFirstFrame(data)
	if err != nil {
		return nil, err
	}
	var lut [256][3]uint8
	for i := 0; i < len(lut) && 3*i+2 < len(info.palette); i++ {
		lut[i] = [3]uint8{info.palette[3*i], info.palette[3*i+1], info.palette[3*i+2]}
	}
	fill := lut[0]
	if info.transparent >= 0 {
		fill = lut[info.transparent]
	}
	dst := image.NewNRGBA(image.Rect(0, 0, cfg.Width, cfg.Height))
	for i := 0; i < len(dst.Pix); i += 4 {
		dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = fill[0], fill[1], fill[2], 0xff
	}
	r := frame.Rect.Intersect(dst.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		s := frame.Pix[frame.PixOffset(r.Min.X, y):]
		d := dst.Pix[dst.PixOffset(r.Min.X, y):]
		for x := 0; x < r.Dx(); x++ {
			c := lut[s[x]]
			d[4*x], d[4*x+1], d[4*x+2] = c[0], c[1], c[2]
		}
	}
	return dst, nil
}
