package imageproc

import (
	"encoding/binary"
	"image"

	"github.com/disintegration/imaging"
)

// jpegOrientation returns the EXIF orientation (1..8) of a JPEG, or 1 when it has none or
// the Exif block is malformed. Like Pillow, it reads the first APP1 "Exif" segment's IFD0.
func jpegOrientation(data []byte) int {
	pos := 2 // after SOI
	for pos+4 <= len(data) {
		if data[pos] != 0xff {
			return 1
		}
		marker := data[pos+1]
		if marker == 0xff { // fill byte
			pos++
			continue
		}
		if marker == 0xd8 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7) {
			pos += 2
			continue
		}
		if marker == 0xda || marker == 0xd9 { // start of scan or end: no Exif before it
			return 1
		}
		n := int(binary.BigEndian.Uint16(data[pos+2:]))
		if n < 2 || pos+2+n > len(data) {
			return 1
		}
		seg := data[pos+4 : pos+2+n]
		if marker == 0xe1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		pos += 2 + n
	}
	return 1
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF-structured Exif block.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var order binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 1
	}
	if order.Uint16(t[2:]) != 42 {
		return 1
	}
	ifd := int(order.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 1
	}
	count := int(order.Uint16(t[ifd:]))
	for i := 0; i < count; i++ {
		e := ifd + 2 + 12*i
		if e+12 > len(t) {
			return 1
		}
		if order.Uint16(t[e:]) != 0x0112 {
			continue
		}
		var v int
		switch order.Uint16(t[e+2:]) {
		case 3: // SHORT
			v = int(order.Uint16(t[e+8:]))
		case 4: // LONG
			v = int(order.Uint32(t[e+8:]))
		default:
			return 1
		}
		if v < 1 || v > 8 {
			return 1
		}
		return v
	}
	return 1
}

// applyOrientation turns stored pixels upright as PIL's ImageOps.exif_transpose does; the
// flips and rotations only move pixels, so colours are unchanged.
func applyOrientation(img *image.NRGBA, orientation int) *image.NRGBA {
	switch orientation {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img)
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img)
	}
	return img
}
