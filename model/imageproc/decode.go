package imageproc

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"
)

// Decoding limits used when DecodeOptions leaves a field zero. 2^26 pixels (a 8192×8192
// photo) decodes into 256 MiB of NRGBA; larger inputs are refused before any pixel is read.
const (
	DefaultMaxPixels    = 1 << 26
	DefaultMaxSide      = 16384
	DefaultMaxFileBytes = 512 << 20
)

// ErrUnknownFormat is wrapped by decoding errors for data that is not PNG, JPEG, GIF, WebP or BMP.
var ErrUnknownFormat = errors.New("unknown image format (supported: PNG, JPEG, GIF, WebP, BMP)")

// ErrTooLarge is wrapped by decoding errors for images over the DecodeOptions limits.
var ErrTooLarge = errors.New("image too large")

// DecodeOptions bounds and adjusts decoding; the zero value gives the defaults.
type DecodeOptions struct {
	// MaxPixels is the largest width×height accepted (0: DefaultMaxPixels).
	MaxPixels int64
	// MaxSide is the largest width or height accepted (0: DefaultMaxSide).
	MaxSide int
	// MaxFileBytes bounds what DecodeFile reads (0: DefaultMaxFileBytes).
	MaxFileBytes int64
	// IgnoreOrientation keeps JPEG pixels as stored, as the official load_pil_images does
	// (it never calls exif_transpose); by default the EXIF orientation is applied, as the
	// official gradio demos do, so photos are seen upright.
	IgnoreOrientation bool
}

func (o DecodeOptions) maxPixels() int64 {
	if o.MaxPixels > 0 {
		return o.MaxPixels
	}
	return DefaultMaxPixels
}

func (o DecodeOptions) maxSide() int {
	if o.MaxSide > 0 {
		return o.MaxSide
	}
	return DefaultMaxSide
}

func (o DecodeOptions) maxFileBytes() int64 {
	if o.MaxFileBytes > 0 {
		return o.MaxFileBytes
	}
	return DefaultMaxFileBytes
}

// imageFormat is a container format recognised by its magic bytes.
type imageFormat int

const (
	formatUnknown imageFormat = iota
	formatPNG
	formatJPEG
	formatGIF
	formatWebP
	formatBMP
)

func (f imageFormat) String() string {
	switch f {
	case formatPNG:
		return "PNG"
	case formatJPEG:
		return "JPEG"
	case formatGIF:
		return "GIF"
	case formatWebP:
		return "WebP"
	case formatBMP:
		return "BMP"
	}
	return "unknown"
}

// sniffFormat looks at magic bytes only; the decoders are called directly rather than through
// image.Decode so that what is accepted does not depend on which packages registered formats.
func sniffFormat(data []byte) imageFormat {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return formatPNG
	case bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}):
		return formatJPEG
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return formatGIF
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return formatWebP
	case bytes.HasPrefix(data, []byte("BM")):
		return formatBMP
	}
	return formatUnknown
}

func (f imageFormat) decodeConfig(r io.Reader) (image.Config, error) {
	switch f {
	case formatPNG:
		return png.DecodeConfig(r)
	case formatJPEG:
		return jpeg.DecodeConfig(r)
	case formatGIF:
		return gif.DecodeConfig(r)
	case formatWebP:
		return webp.DecodeConfig(r)
	case formatBMP:
		return bmp.DecodeConfig(r)
	}
	return image.Config{}, ErrUnknownFormat
}

func (f imageFormat) decode(r io.Reader) (image.Image, error) {
	switch f {
	case formatPNG:
		return png.Decode(r)
	case formatJPEG:
		return jpeg.Decode(r)
	case formatGIF:
		return gif.Decode(r)
	case formatWebP:
		return webp.Decode(r)
	case formatBMP:
		return bmp.Decode(r)
	}
	return nil, ErrUnknownFormat
}

// CheckFile reads only the header of the image file at path and reports what DecodeFile
// would refuse from it alone: a missing file, one over opts' limits, a kind it does not read.
// A file it passes can still turn out damaged past its header.
func CheckFile(path string, opts DecodeOptions) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open image: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return fmt.Errorf("read image %s: %w", path, err)
	} else if st.IsDir() {
		return fmt.Errorf("read image %s: it is a folder", path)
	} else if st.Size() > opts.maxFileBytes() {
		return fmt.Errorf("read image %s: file larger than %d bytes: %w", path, opts.maxFileBytes(), ErrTooLarge)
	}
	head := make([]byte, 1024)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read image %s: %w", path, err)
	}
	_, _, err = readHeader(path, head[:n], f, opts)
	return err
}

// readHeader tells the format of the data that begins with head and goes on in rest (nil:
// head is all of it), reads its header and checks its size against opts, with the errors
// Decode gives: a kind it does not read named (UnsupportedKind), a header that does not
// read, a picture over the limits. name labels the errors.
func readHeader(name string, head []byte, rest io.Reader, opts DecodeOptions) (imageFormat, image.Config, error) {
	format := sniffFormat(head)
	if format == formatUnknown {
		if kind := UnsupportedKind(head); kind != "" {
			return format, image.Config{}, fmt.Errorf("decode image %s: %w", name, &UnsupportedError{Kind: kind})
		}
		return format, image.Config{}, fmt.Errorf("decode image %s: %w", name, ErrUnknownFormat)
	}
	r := io.Reader(bytes.NewReader(head))
	if rest != nil {
		r = io.MultiReader(r, rest)
	}
	var cfg image.Config
	err := recoverPanic(func() (err error) {
		cfg, err = format.decodeConfig(r)
		return err
	})
	if err != nil {
		return format, cfg, fmt.Errorf("read %s header of %s: %w", format, name, err)
	}
	if err := checkSize(cfg.Width, cfg.Height, opts); err != nil {
		return format, cfg, fmt.Errorf("decode %s image %s: %w", format, name, err)
	}
	return format, cfg, nil
}

// DecodeFile reads and decodes the image file at path; see Decode.
func DecodeFile(path string, opts DecodeOptions) (*image.NRGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open image: %w", err)
	}
	defer f.Close()
	limit := opts.maxFileBytes()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read image %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("read image %s: file larger than %d bytes: %w", path, limit, ErrTooLarge)
	}
	return Decode(path, data, opts)
}

// Decode decodes an encoded image into an opaque *image.NRGBA (alpha 255) holding what
// Pillow 9.4's Image.open(...).convert("RGB") gives for the same data: bit for bit for PNG
// (every colour type and depth), GIF, BMP and WebP (lossless and lossy); for JPEG within 3
// levels in a few percent of the values, because image/jpeg's inverse DCT is not
// libjpeg-turbo's. name only labels errors (a file name or "clipboard"). JPEG EXIF
// orientation is applied unless opts.IgnoreOrientation is set.
func Decode(name string, data []byte, opts DecodeOptions) (*image.NRGBA, error) {
	format, cfg, err := readHeader(name, data, nil, opts)
	if err != nil {
		return nil, err
	}
	var img image.Image
	err = recoverPanic(func() (err error) {
		img, err = format.decode(bytes.NewReader(data))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("decode %s image %s: %w", format, name, err)
	}
	if b := img.Bounds(); b.Dx() > cfg.Width || b.Dy() > cfg.Height {
		// The header check above is only worth something if the decoder honoured it.
		return nil, fmt.Errorf("decode %s image %s: decoded %dx%d exceeds the header's %dx%d",
			format, name, b.Dx(), b.Dy(), cfg.Width, cfg.Height)
	}
	var rgb *image.NRGBA
	switch format {
	case formatPNG:
		rgb = pngToRGB(img, data)
	case formatGIF:
		rgb, err = gifToRGB(img, data, cfg)
	case formatJPEG:
		rgb = jpegToRGB(img)
	case formatWebP:
		rgb = webpToRGB(img)
	default:
		rgb = ToRGB(img)
	}
	if err != nil {
		return nil, fmt.Errorf("decode %s image %s: %w", format, name, err)
	}
	if format == formatJPEG && !opts.IgnoreOrientation {
		rgb = applyOrientation(rgb, jpegOrientation(data))
	}
	return rgb, nil
}

func checkSize(w, h int, opts DecodeOptions) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("header says %dx%d: the image has no pixels", w, h)
	}
	if max(w, h) > opts.maxSide() {
		return fmt.Errorf("%dx%d has a side over %d pixels: %w", w, h, opts.maxSide(), ErrTooLarge)
	}
	if int64(w)*int64(h) > opts.maxPixels() {
		return fmt.Errorf("%dx%d is over %d pixels: %w", w, h, opts.maxPixels(), ErrTooLarge)
	}
	return nil
}

// recoverPanic runs fn and turns a panic inside it into an error: the decoders are fed
// untrusted files and a malformed one must never take the app down.
func recoverPanic(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder panicked on malformed data: %v", r)
		}
	}()
	return fn()
}
