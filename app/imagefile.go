package app

import (
	"fmt"
	"image"
	"strings"
	"unicode"

	"github.com/janus-desktop/janus/internal/pngfile"
	"github.com/janus-desktop/janus/model/imageproc"
)

// DecodeImageFile decodes the image file at path for showing it, within the attachment
// limits (CheckImageFile's: MaxAttachmentBytes, MaxAttachmentPixels), so that a damaged or
// enormous file in the history or on disk is refused with an error instead of exhausting
// memory. It reads the whole file: call it off the UI goroutine.
func DecodeImageFile(path string) (*image.NRGBA, error) {
	format, _, err := checkImageFile(path)
	if err != nil {
		return nil, err
	}
	img, err := imageproc.DecodeFile(path, imageproc.DecodeOptions{MaxPixels: MaxAttachmentPixels, MaxFileBytes: MaxAttachmentBytes})
	if err != nil {
		return nil, decodeError(path, format, err)
	}
	return img, nil
}

// EncodePNG encodes img as a PNG with meta in its text chunks, as SaveImage writes it, for
// keeping it in the store (Store.PutImage) without a temporary file.
func EncodePNG(img image.Image, meta ImageMeta) ([]byte, error) {
	data, err := pngfile.Encode(img, meta.PNGText())
	if err != nil {
		return nil, fmt.Errorf("encode png: %w", err)
	}
	return data, nil
}

// ImageFileName is the name a picture is offered to be saved under: the first words of its
// prompt (letters and digits, joined by hyphens, at most 40 characters; a longer first word,
// as a prompt in a script without spaces makes, cut there) and its seed, which tells the
// pictures of one prompt apart ("red-fox-in-fresh-snow-6544100515294014.png").
func ImageFileName(prompt string, seed uint64) string {
	const most = 40
	var words []string
	n := 0
	for _, w := range strings.FieldsFunc(strings.ToLower(prompt), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		r := []rune(w)
		if len(words) == 0 && len(r) > most {
			r = r[:most]
		}
		if n+len(r) > most {
			break
		}
		words = append(words, string(r))
		n += len(r) + 1
	}
	if len(words) == 0 {
		words = []string{"janus"}
	}
	return fmt.Sprintf("%s-%d.png", strings.Join(words, "-"), seed)
}
