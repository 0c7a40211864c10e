package app

import (
	"errors"
	"fmt"
	"image"
	_ "image/gif" // the attachment formats, for image.DecodeConfig's sniffing
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/disintegration/imaging"
	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/webp"

	"github.com/janus-desktop/janus/model/imageproc"
)

// Attachment limits: a file or picture beyond them is refused before it is decoded, so a
// dropped panorama or a disk image cannot exhaust memory.
const (
	// MaxAttachmentBytes is the largest image file accepted (50 MB).
	MaxAttachmentBytes = 50_000_000
	// MaxAttachmentPixels is the largest width×height accepted (50 megapixels).
	MaxAttachmentPixels = 50_000_000
	// ThumbnailSize is the long side of the thumbnails a chat shows, in pixels.
	ThumbnailSize = 160
)

// ErrNotImage is wrapped by CheckImageFile's error for a file that is not a PNG, JPEG, GIF,
// WebP or BMP image, whatever its extension says.
var ErrNotImage = errors.New("not an image")

// ErrTooLarge is wrapped by CheckImageFile's error for a file over the attachment limits.
var ErrTooLarge = errors.New("image too large")

// ErrDamagedImage is wrapped by the error for an image file whose pixels do not decode (cut
// short, corrupted), though its kind is known.
var ErrDamagedImage = errors.New("damaged image")

// damagedImage is a file of a known image kind that does not decode. It says so in one
// sentence for the window; the decoder's own words stay in the chain (errors.Is, logs).
type damagedImage struct {
	name, format string
	err          error
}

func (e *damagedImage) Error() string {
	return fmt.Sprintf("%s is a damaged or incomplete %s image: it cannot be read", e.name, strings.ToUpper(e.format))
}

func (e *damagedImage) Unwrap() []error { return []error{ErrDamagedImage, e.err} }

// decodeError is the error for path whose decoding failed with err: over the limits as
// it is, otherwise a damaged image.
func decodeError(path, format string, err error) error {
	name := filepath.Base(path)
	if errors.Is(err, imageproc.ErrTooLarge) {
		return fmt.Errorf("%s: %w: %w", name, ErrTooLarge, err)
	}
	return &damagedImage{name: name, format: format, err: err}
}

// CheckImageFile tells whether path can be attached to a chat, reading only its header: it
// rejects folders, files that are not images (by their content), and files or pictures
// over the limits. The error is one line naming the file, for the window to show as is.
// It returns the picture's size.
func CheckImageFile(path string) (width, height int, err error) {
	_, cfg, err := checkImageFile(path)
	return cfg.Width, cfg.Height, err
}

// checkImageFile is CheckImageFile, also returning the format ("png", "jpeg", ...).
func checkImageFile(path string) (string, image.Config, error) {
	name := filepath.Base(path)
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", image.Config{}, fmt.Errorf("%s: the file does not exist", name)
	case err != nil:
		return "", image.Config{}, fmt.Errorf("%s: %w", name, err)
	case st.IsDir():
		return "", image.Config{}, fmt.Errorf("%s is a folder: %w; drop image files", name, ErrNotImage)
	case !st.Mode().IsRegular():
		return "", image.Config{}, fmt.Errorf("%s is not a regular file: %w", name, ErrNotImage)
	case st.Size() > MaxAttachmentBytes:
		return "", image.Config{}, fmt.Errorf("%s is %s: %w (the limit is %s)", name, FormatBytes(st.Size()), ErrTooLarge, FormatBytes(MaxAttachmentBytes))
	}
	f, err := os.Open(path)
	if err != nil {
		return "", image.Config{}, fmt.Errorf("%s: %w", name, err)
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(f)
	switch {
	case errors.Is(err, image.ErrFormat), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF) && st.Size() < 64:
		return "", image.Config{}, notImage(f, name)
	case err == nil && !slices.Contains(readFormats, format):
		// A kind another package registered with image (TIFF) that the model's decoder
		// does not read: refused here, not when the answer starts.
		return "", image.Config{}, notImage(f, name)
	case err != nil:
		return "", image.Config{}, decodeError(path, format, err)
	case cfg.Width <= 0 || cfg.Height <= 0:
		return "", image.Config{}, fmt.Errorf("%s is an empty %s image (%d×%d)", name, format, cfg.Width, cfg.Height)
	case int64(cfg.Width)*int64(cfg.Height) > MaxAttachmentPixels:
		return "", image.Config{}, fmt.Errorf("%s is %d×%d pixels: %w (the limit is %d megapixels)",
			name, cfg.Width, cfg.Height, ErrTooLarge, MaxAttachmentPixels/1_000_000)
	case max(cfg.Width, cfg.Height) > imageproc.DefaultMaxSide:
		// The decoder's limit (DecodeImageFile): a strip within the pixel limit was taken here
		// and refused only when its thumbnail was made.
		return "", image.Config{}, fmt.Errorf("%s is %d×%d pixels: %w (the limit is %d pixels a side)",
			name, cfg.Width, cfg.Height, ErrTooLarge, imageproc.DefaultMaxSide)
	}
	return format, cfg, nil
}

// readFormats are the image package's names of the formats imageproc.Decode reads.
var readFormats = []string{"png", "jpeg", "gif", "webp", "bmp"}

// ImageExtensions are the file name extensions of the formats Janus reads: what a window's
// attach dialog lists, and what a pasted path must end in to be taken for a picture.
var ImageExtensions = []string{".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"}

// notImage is the error for f, which holds no picture Janus reads. One of a kind people take
// for a picture (a phone's HEIC photo, a TIFF scan, a PDF) says what it is and what to do,
// rather than that it is no image at all.
func notImage(f *os.File, name string) error {
	head := make([]byte, 1024)
	n, _ := f.ReadAt(head, 0)
	kind := imageproc.UnsupportedKind(head[:n])
	switch {
	case kind == "" && slices.Contains(ImageExtensions, strings.ToLower(filepath.Ext(name))):
		// "broken.png is not an image" read as a contradiction: the name says PNG.
		return fmt.Errorf("%s is %w, whatever its name says: its contents are not PNG, JPEG, GIF, WebP or BMP (a damaged file, or one renamed)", name, ErrNotImage)
	case kind == "":
		return fmt.Errorf("%s is %w: Janus reads PNG, JPEG, GIF, WebP and BMP", name, ErrNotImage)
	case kind == imageproc.KindEmpty:
		return notImageError(name + " is an empty file")
	case strings.HasSuffix(kind, " document"):
		return notImageError(name + " is " + kind + ", not a picture: take a screenshot of the page and drop that")
	case strings.HasSuffix(kind, " photo"):
		return notImageError(name + " is " + kind + ", which Janus cannot read: save it as JPEG first (on a Mac, open it in Preview and choose File > Export)")
	}
	return notImageError(name + " is " + kind + ", which Janus cannot read: save it as PNG or JPEG first")
}

// notImageError is an ErrNotImage whose message does not repeat "not an image", which a
// photo the decoder cannot read is not.
type notImageError string

func (e notImageError) Error() string { return string(e) }
func (e notImageError) Unwrap() error { return ErrNotImage }

// Thumbnail decodes the image file at path (DecodeImageFile: refused with CheckImageFile's
// errors first) and scales it to fit size×size (never up), so a message holds a small picture
// rather than the full image. It decodes the whole file: call it off the UI goroutine.
func Thumbnail(path string, size int) (*image.NRGBA, error) {
	if size < 1 {
		return nil, fmt.Errorf("thumbnail size %d", size)
	}
	img, err := DecodeImageFile(path)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	if b.Dx() <= size && b.Dy() <= size {
		return img, nil
	}
	return imaging.Fit(img, size, size, imaging.Lanczos), nil
}

// readAttachment checks the image file at path (checkImageFile), reads it and returns its
// reference (digest, format, name and size) with its bytes.
func readAttachment(path string) (ImageRef, []byte, error) {
	format, cfg, err := checkImageFile(path)
	if err != nil {
		return ImageRef{}, nil, err
	}
	data, err := readAtMost(path, MaxAttachmentBytes)
	if err != nil {
		return ImageRef{}, nil, fmt.Errorf("attach %s: %w", filepath.Base(path), err)
	}
	ref := contentRef(data, formatExt(format))
	ref.Width, ref.Height = cfg.Width, cfg.Height
	// A picture of the store (from Create, or pasted) is named by its digest, which says
	// nothing to people: it has no name.
	if name := filepath.Base(path); name != ref.SHA256+ref.Ext {
		ref.Name = name
	}
	return ref, data, nil
}

// readAtMost reads the file at path, refusing one that has grown beyond limit bytes since it
// was checked (it is never read whole).
func readAtMost(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: the file grew past %s", ErrTooLarge, FormatBytes(limit))
	}
	return data, nil
}
