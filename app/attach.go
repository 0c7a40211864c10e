package app

import (
	"errors"
	"image"
)

// Attachment limits: a file or picture beyond them is refused before it is decoded, so a
// dropped panorama or a disk image cannot exhaust memory.
const (
	// MaxAttachmentBytes is the largest image file accepted (50 MB).
	MaxAttachmentBytes = 50 << 20
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

// CheckImageFile tells whether path can be attached to a chat, reading only its header: it
// rejects folders, files that are not images (by their content), and files or pictures
// over the limits. The error is one line naming the file, for the window to show as is.
// It returns the picture's size.
func CheckImageFile(path string) (width, height int, err error) {
	panic("TODO")
}

// Thumbnail decodes the image file at path and scales it to fit size×size (never up), so a
// message holds a small picture rather than the full image. It decodes the whole file: call
// it off the UI goroutine.
func Thumbnail(path string, size int) (*image.NRGBA, error) {
	panic("TODO")
}
