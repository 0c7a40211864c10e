package tokenizer

import "unicode/utf8"

// UTF-8 decoding with U+FFFD replacement by "maximal subparts" (Unicode §3.9, the WHATWG
// decoder, Rust's String::from_utf8_lossy and JavaScript's TextDecoder all agree on it). Go's
// strings.ToValidUTF8 merges invalid runs and utf8.DecodeRune replaces byte by byte, so neither
// reproduces the reference decoders on truncated sequences.

// seqInfo returns how many bytes a sequence led by b needs and the allowed range of its second
// byte; need == 0 marks a byte that cannot start a sequence.
func seqInfo(b byte) (need int, lo, hi byte) {
	switch {
	case b < 0x80:
		return 1, 0, 0
	case b >= 0xC2 && b <= 0xDF:
		return 2, 0x80, 0xBF
	case b == 0xE0:
		return 3, 0xA0, 0xBF
	case b == 0xED:
		return 3, 0x80, 0x9F
	case b >= 0xE1 && b <= 0xEF:
		return 3, 0x80, 0xBF
	case b == 0xF0:
		return 4, 0x90, 0xBF
	case b >= 0xF1 && b <= 0xF3:
		return 4, 0x80, 0xBF
	case b == 0xF4:
		return 4, 0x80, 0x8F
	}
	return 0, 0, 0
}

// scanSequence examines the sequence starting at p[0]. It returns the number of bytes it
// covers and whether they form a valid character; complete is false when p ends inside a
// sequence that could still become valid.
func scanSequence(p []byte) (n int, valid, complete bool) {
	need, lo, hi := seqInfo(p[0])
	switch need {
	case 0:
		return 1, false, true
	case 1:
		return 1, true, true
	}
	for i := 1; i < need; i++ {
		if i >= len(p) {
			return i, false, false
		}
		c := p[i]
		if i == 1 {
			if c < lo || c > hi {
				return 1, false, true
			}
		} else if c < 0x80 || c > 0xBF {
			return i, false, true
		}
	}
	return need, true, true
}

// appendLossy appends p decoded as UTF-8, each maximal invalid subpart replaced by U+FFFD.
func appendLossy(dst []byte, p []byte) []byte {
	for len(p) > 0 {
		n, valid, _ := scanSequence(p)
		if valid {
			dst = append(dst, p[:n]...)
		} else {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		}
		p = p[n:]
	}
	return dst
}

// settledPrefix returns the length of the longest prefix of p whose lossy decoding cannot
// change when more bytes are appended: everything except a trailing incomplete sequence.
func settledPrefix(p []byte) int {
	i := 0
	for i < len(p) {
		n, _, complete := scanSequence(p[i:])
		if !complete {
			return i
		}
		i += n
	}
	return i
}
