package imageproc

import "bytes"

// UnsupportedError is Decode's error for data of a kind it recognises but does not read: a
// phone's HEIC photo, a scan's TIFF, a PDF. It wraps ErrUnknownFormat.
type UnsupportedError struct {
	// Kind names the data, with its article: "a HEIC photo", "a PDF document".
	Kind string
}

// KindEmpty is what UnsupportedKind calls no bytes at all.
const KindEmpty = "an empty file"

func (e *UnsupportedError) Error() string {
	if e.Kind == KindEmpty {
		return "the file is empty"
	}
	return e.Kind + ", which cannot be read (supported: PNG, JPEG, GIF, WebP, BMP)"
}

func (e *UnsupportedError) Unwrap() error { return ErrUnknownFormat }

// UnsupportedKind names the kind of file head (a file's first bytes; 1 KB is enough) begins
// when it is one people take for a picture that Decode does not read, with its article ("a
// HEIC photo"), KindEmpty for no bytes, else "": the names of photos end in "photo", of
// documents that are no picture at all (PDF) in "document". It tells by the content, as
// Decode does, so that a message can say what the file is rather than that it is no image.
func UnsupportedKind(head []byte) string {
	start := head[:min(len(head), 1024)] // where an SVG file's root element is
	switch {
	case len(head) == 0:
		return KindEmpty
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		// ISO base media files: the major brand says which.
		switch string(head[8:12]) {
		case "heic", "heix", "hevc", "hevx", "heim", "heis":
			return "a HEIC photo"
		case "mif1", "msf1":
			return "a HEIF photo"
		case "avif", "avis":
			return "an AVIF image"
		}
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return "a TIFF image"
	case bytes.HasPrefix(head, []byte{0xff, 0x0a}), bytes.HasPrefix(head, []byte("\x00\x00\x00\x0cJXL \r\n\x87\n")):
		return "a JPEG XL image"
	case bytes.HasPrefix(head, []byte("8BPS")):
		return "a Photoshop file"
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return "a PDF document"
	case bytes.Contains(start, []byte("<svg")) && !bytes.Contains(bytes.ToLower(start), []byte("<html")):
		return "an SVG drawing" // (a web page drawing one is no SVG file)
	}
	return ""
}
