package tokenizer

import "unicode/utf8"

// GPT-2's byte-level alphabet: every byte is shown as a printable character so that BPE
// vocabularies can be stored as text. Bytes that are printable in Latin-1 ('!'..'~',
// '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68 bytes map, in order, to U+0100..U+0143.

// byteChars maps a byte to its character in the byte-level alphabet. It is filled once by
// newByteChars and never written afterwards.
var byteChars = newByteChars()

func isSelfByte(b int) bool {
	return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
}

func newByteChars() (table [256]rune) {
	n := 0
	for b := 0; b < 256; b++ {
		if isSelfByte(b) {
			table[b] = rune(b)
		} else {
			table[b] = rune(256 + n)
			n++
		}
	}
	return table
}

// shiftedBytes lists, in order, the bytes that map to U+0100 and up.
var shiftedBytes = newShiftedBytes()

func newShiftedBytes() (out [68]byte) {
	n := 0
	for b := 0; b < 256; b++ {
		if !isSelfByte(b) {
			out[n] = byte(b)
			n++
		}
	}
	return out
}

// charByte returns the byte a byte-level character stands for.
func charByte(r rune) (byte, bool) {
	switch {
	case r < 256 && isSelfByte(int(r)):
		return byte(r), true
	case r >= 256 && r < 256+68:
		return shiftedBytes[r-256], true
	}
	return 0, false
}

// appendByteLevel appends the byte-level form of s (one alphabet character per byte of s).
func appendByteLevel(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = utf8.AppendRune(dst, byteChars[s[i]])
	}
	return dst
}

// byteLevelString returns the byte-level form of s.
func byteLevelString(s string) string {
	return string(appendByteLevel(make([]byte, 0, len(s)*2), s))
}

// appendTokenBytes appends the bytes a byte-level token stands for. Like Hugging Face's
// ByteLevel decoder, a token holding any character outside the alphabet is taken as its own
// UTF-8 text instead.
func appendTokenBytes(dst []byte, tok string) []byte {
	start := len(dst)
	for _, r := range tok {
		b, ok := charByte(r)
		if !ok {
			return append(dst[:start], tok...)
		}
		dst = append(dst, b)
	}
	return dst
}
