// Package pngfile writes the app's and the CLI's PNG files: the generation settings in text
// chunks (image/png cannot write them, so they are spliced in after IHDR), written atomically
// (a temporary file, then a rename, so no half-written file is ever left), and the temporary
// files of a killed writer removed later.
package pngfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"strings"
	"unicode/utf8"

	"github.com/janus-desktop/janus/internal/atomicfile"
)

// TextField is one PNG text chunk: a keyword (1-79 Latin-1 characters, for example
// "prompt", "seed", "cfg", "temperature", "model") and its value.
type TextField struct {
	// Key is the keyword; Write rejects one that is empty, too long or not Latin-1.
	Key string
	// Value is the text; it goes in a tEXt chunk when Latin-1, else in a UTF-8 iTXt chunk.
	Value string
}

// ErrExists is wrapped by Write when the target exists and overwriting was not asked for.
var ErrExists = atomicfile.ErrExists

const pngSignature = "\x89PNG\r\n\x1a\n"

// Encode encodes img as PNG with the text fields stored, in order, right after IHDR:
// as tEXt when the value is Latin-1, as uncompressed iTXt (UTF-8) otherwise, so that any
// prompt survives. Keys must be 1-79 printable Latin-1 characters without leading, trailing
// or double spaces; values must pass CheckValue.
func Encode(img image.Image, text []TextField) ([]byte, error) {
	chunks := make([][]byte, 0, len(text))
	for _, f := range text {
		c, err := textChunk(f)
		if err != nil {
			return nil, err
		}
		chunks = append(chunks, c)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode PNG: %w", err)
	}
	raw := buf.Bytes()
	// image/png always writes the signature and then IHDR (13 data bytes): 8+4+4+13+4.
	const afterIHDR = 8 + 25
	if len(raw) < afterIHDR || string(raw[:8]) != pngSignature || string(raw[12:16]) != "IHDR" {
		return nil, errors.New("encode PNG: encoder output does not start with IHDR")
	}
	out := make([]byte, 0, len(raw)+64*len(chunks))
	out = append(out, raw[:afterIHDR]...)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return append(out, raw[afterIHDR:]...), nil
}

// CheckValue reports why Encode would refuse s as a text value: a NUL character, which ends
// the text in a PNG text chunk, or bytes that are not UTF-8. Callers check what they will
// write before the work that makes the image, which a refusal would otherwise throw away.
// The message goes after the value's name ("the prompt contains a NUL character ...").
func CheckValue(s string) error {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return fmt.Errorf("contains a NUL character (at byte %d)", i)
	}
	if !utf8.ValidString(s) {
		// Nor is it read as Latin-1 (latin1): such a value fits neither tEXt nor iTXt.
		return errors.New("is not valid UTF-8 text")
	}
	return nil
}

// textChunk builds a complete tEXt or iTXt chunk (length, type, data, CRC-32).
func textChunk(f TextField) ([]byte, error) {
	key, ok := latin1(f.Key)
	if !ok || len(key) < 1 || len(key) > 79 {
		return nil, fmt.Errorf("PNG text key %q: want 1-79 Latin-1 characters", f.Key)
	}
	for i, c := range key {
		printable := (c >= 32 && c <= 126) || c >= 161
		spaceOK := c != ' ' || (i > 0 && i < len(key)-1 && key[i-1] != ' ')
		if !printable || !spaceOK {
			return nil, fmt.Errorf("PNG text key %q: only printable characters and single inner spaces allowed", f.Key)
		}
	}
	if err := CheckValue(f.Value); err != nil {
		return nil, fmt.Errorf("PNG text %q: value %w", f.Key, err)
	}
	var typ string
	data := append([]byte(nil), key...)
	if val, ok := latin1(f.Value); ok {
		typ = "tEXt"
		data = append(data, 0)
		data = append(data, val...)
	} else {
		typ = "iTXt"
		// NUL, compression flag 0, method 0, empty language tag, empty translated keyword.
		data = append(data, 0, 0, 0, 0, 0)
		data = append(data, f.Value...)
	}
	return pngChunk(typ, data), nil
}

// latin1 converts s to ISO 8859-1 bytes, reporting false when a rune does not fit.
func latin1(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff || r == utf8.RuneError {
			return nil, false
		}
		out = append(out, byte(r))
	}
	return out, true
}

func pngChunk(typ string, data []byte) []byte {
	c := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(c, uint32(len(data)))
	copy(c[4:], typ)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// ReadText returns the tEXt and iTXt (uncompressed) fields of a PNG in file order,
// checking every chunk's CRC; compressed text chunks are skipped.
func ReadText(data []byte) ([]TextField, error) {
	if len(data) < 8 || string(data[:8]) != pngSignature {
		return nil, errors.New("read PNG text: not a PNG")
	}
	var out []TextField
	for pos := 8; ; {
		if pos+12 > len(data) {
			return nil, fmt.Errorf("read PNG text: truncated chunk at byte %d", pos)
		}
		n := int(binary.BigEndian.Uint32(data[pos:]))
		if n > len(data)-pos-12 {
			return nil, fmt.Errorf("read PNG text: chunk at byte %d claims %d bytes", pos, n)
		}
		typ := string(data[pos+4 : pos+8])
		body := data[pos+8 : pos+8+n]
		if crc32.ChecksumIEEE(data[pos+4:pos+8+n]) != binary.BigEndian.Uint32(data[pos+8+n:]) {
			return nil, fmt.Errorf("read PNG text: CRC mismatch in %s chunk at byte %d", typ, pos)
		}
		switch typ {
		case "tEXt":
			key, val, ok := bytes.Cut(body, []byte{0})
			if !ok {
				return nil, fmt.Errorf("read PNG text: tEXt chunk at byte %d has no separator", pos)
			}
			out = append(out, TextField{Key: fromLatin1(key), Value: fromLatin1(val)})
		case "iTXt":
			key, rest, ok := bytes.Cut(body, []byte{0})
			if !ok || len(rest) < 2 {
				return nil, fmt.Errorf("read PNG text: malformed iTXt chunk at byte %d", pos)
			}
			if rest[0] == 0 { // uncompressed
				_, afterLang, ok1 := bytes.Cut(rest[2:], []byte{0}) // language tag
				_, val, ok2 := bytes.Cut(afterLang, []byte{0})      // translated keyword
				if !ok1 || !ok2 {
					return nil, fmt.Errorf("read PNG text: malformed iTXt chunk at byte %d", pos)
				}
				out = append(out, TextField{Key: fromLatin1(key), Value: string(val)})
			}
		case "IEND":
			return out, nil
		}
		pos += 12 + n
	}
}

func fromLatin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// Write writes img with its text fields (see Encode) to path atomically (temporary
// file in the same folder, fsync, rename, fsync of the folder), so a crash never leaves a
// partial image. Without overwrite an existing path is left alone and the error wraps
// ErrExists.
func Write(path string, img image.Image, text []TextField, overwrite bool) error {
	data, err := Encode(img, text)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return atomicfile.Write(path, data, atomicfile.Options{NoOverwrite: !overwrite})
}
