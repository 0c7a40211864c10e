package tokenizer

import (
	"encoding/json"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// A small JSON scanner for tokenizer.json. encoding/json spends most of a load on the
// 100,000-entry vocab and merges through reflection and a separate validation pass; this
// scanner validates the document once while walking it, parses vocab and merges directly, and
// hands every other (small) value to encoding/json.

// jsonScanner walks a JSON document.
type jsonScanner struct {
	data []byte
	pos  int
}

// maxJSONDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxJSONDepth = 128

func (s *jsonScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("JSON at byte %d: %s", s.pos, fmt.Sprintf(format, args...))
}

func (s *jsonScanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *jsonScanner) peek() byte {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

func (s *jsonScanner) expect(c byte) error {
	if s.peek() != c {
		if s.pos >= len(s.data) {
			return s.errorf("unexpected end of input, want %q", c)
		}
		return s.errorf("found %q, want %q", s.data[s.pos], c)
	}
	s.pos++
	return nil
}

// rawString scans a string and returns its raw contents (between the quotes) and whether they
// hold escapes; escapes and control characters are validated.
func (s *jsonScanner) rawString() ([]byte, bool, error) {
	if err := s.expect('"'); err != nil {
		return nil, false, err
	}
	start := s.pos
	escaped := false
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			raw := s.data[start:s.pos]
			s.pos++
			return raw, escaped, nil
		case c == '\\':
			escaped = true
			if s.pos+1 >= len(s.data) {
				return nil, false, s.errorf("unterminated escape")
			}
			switch s.data[s.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.pos += 2
			case 'u':
				if s.pos+6 > len(s.data) {
					return nil, false, s.errorf("short \\u escape")
				}
				for _, h := range s.data[s.pos+2 : s.pos+6] {
					if hexValue(h) < 0 {
						return nil, false, s.errorf("bad \\u escape")
					}
				}
				s.pos += 6
			default:
				return nil, false, s.errorf("bad escape \\%c", s.data[s.pos+1])
			}
		case c < 0x20:
			return nil, false, s.errorf("control character in string")
		default:
			s.pos++
		}
	}
	return nil, false, s.errorf("unterminated string")
}

func hexValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// appendString appends the decoded value of a string's raw contents, exactly as encoding/json
// decodes it (invalid UTF-8 and lone surrogates become U+FFFD).
func appendString(dst, raw []byte, escaped bool) []byte {
	if !escaped && utf8.Valid(raw) {
		return append(dst, raw...)
	}
	if !utf8.Valid(raw) {
		var v string
		quoted := make([]byte, 0, len(raw)+2)
		quoted = append(append(append(quoted, '"'), raw...), '"')
		if json.Unmarshal(quoted, &v) == nil {
			return append(dst, v...)
		}
	}
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := rune(hex4(raw[i+2:]))
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					r2 = rune(hex4(raw[i+2:]))
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, raw[i+1])
		}
		i += 2
	}
	return dst
}

func hex4(b []byte) int {
	return hexValue(b[0])<<12 | hexValue(b[1])<<8 | hexValue(b[2])<<4 | hexValue(b[3])
}

// str scans a string and returns its decoded value.
func (s *jsonScanner) str() (string, error) {
	raw, esc, err := s.rawString()
	if err != nil {
		return "", err
	}
	if !esc && utf8.Valid(raw) {
		return string(raw), nil
	}
	return string(appendString(nil, raw, esc)), nil
}

// integer scans a JSON number that must be an integer in [lo, hi].
func (s *jsonScanner) integer(lo, hi int64) (int64, error) {
	s.skipSpace()
	start := s.pos
	if err := s.skipNumber(); err != nil {
		return 0, err
	}
	// Fast path for the plain non-negative integers vocab ids are.
	if n := s.pos - start; n > 0 && n <= 9 {
		v := int64(0)
		plain := true
		for _, c := range s.data[start:s.pos] {
			if c < '0' || c > '9' {
				plain = false
				break
			}
			v = v*10 + int64(c-'0')
		}
		if plain {
			if v < lo || v > hi {
				return 0, s.errorf("%d is out of range [%d, %d]", v, lo, hi)
			}
			return v, nil
		}
	}
	var v int64
	if err := json.Unmarshal(s.data[start:s.pos], &v); err != nil {
		return 0, s.errorf("%s is not an integer", s.data[start:s.pos])
	}
	if v < lo || v > hi {
		return 0, s.errorf("%d is out of range [%d, %d]", v, lo, hi)
	}
	return v, nil
}

func (s *jsonScanner) skipNumber() error {
	d := s.data
	start := s.pos
	if s.pos < len(d) && d[s.pos] == '-' {
		s.pos++
	}
	digits := func() int {
		n := 0
		for s.pos < len(d) && d[s.pos] >= '0' && d[s.pos] <= '9' {
			s.pos++
			n++
		}
		return n
	}
	if s.pos < len(d) && d[s.pos] == '0' {
		s.pos++
	} else if digits() == 0 {
		s.pos = start
		return s.errorf("bad number")
	}
	if s.pos < len(d) && d[s.pos] == '.' {
		s.pos++
		if digits() == 0 {
			return s.errorf("bad number")
		}
	}
	if s.pos < len(d) && (d[s.pos] == 'e' || d[s.pos] == 'E') {
		s.pos++
		if s.pos < len(d) && (d[s.pos] == '+' || d[s.pos] == '-') {
			s.pos++
		}
		if digits() == 0 {
			return s.errorf("bad number")
		}
	}
	return nil
}

// skipValue scans and validates any value.
func (s *jsonScanner) skipValue(depth int) error {
	if depth > maxJSONDepth {
		return s.errorf("nesting too deep")
	}
	switch c := s.peek(); {
	case c == '"':
		_, _, err := s.rawString()
		return err
	case c == '{':
		return s.object(depth, func(string) error { return s.skipValue(depth + 1) })
	case c == '[':
		return s.array(depth, func() error { return s.skipValue(depth + 1) })
	case c == '-' || (c >= '0' && c <= '9'):
		return s.skipNumber()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == 0 && s.pos >= len(s.data):
		return s.errorf("unexpected end of input")
	default:
		return s.errorf("unexpected %q", c)
	}
}

func (s *jsonScanner) literal(word string) error {
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return s.errorf("bad literal")
	}
	s.pos += len(word)
	return nil
}

// rawValue scans any value and returns its bytes.
func (s *jsonScanner) rawValue(depth int) (json.RawMessage, error) {
	s.skipSpace()
	start := s.pos
	if err := s.skipValue(depth); err != nil {
		return nil, err
	}
	return s.data[start:s.pos], nil
}

// object scans an object, calling member for each key with the scanner at its value; member
// must consume the value.
func (s *jsonScanner) object(depth int, member func(key string) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	for {
		key, err := s.str()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.errorf("want ',' or '}' in object")
		}
	}
}

// array scans an array, calling elem with the scanner at each element.
func (s *jsonScanner) array(depth int, elem func() error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.peek() == ']' {
		s.pos++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.errorf("want ',' or ']' in array")
		}
	}
}

// end checks that nothing but white space follows the document.
func (s *jsonScanner) end() error {
	s.skipSpace()
	if s.pos != len(s.data) {
		return s.errorf("unexpected data after the document")
	}
	return nil
}

// isNullAt reports whether the next value is null, consuming it if so.
func (s *jsonScanner) isNullAt() bool {
	if s.peek() == 'n' && s.literal("null") == nil {
		return true
	}
	return false
}

// parseVocab reads the vocab object into a map and an id-indexed token table ("" where an id
// has no token). Keys are decoded into one shared buffer so that the 100,000+ strings cost one
// allocation, and the table is filled in file order rather than by walking the map.
func (s *jsonScanner) parseVocab() (map[string]int32, []string, error) {
	type entry struct {
		start, end int
		id         int32
	}
	// Size the buffers from the rest of the document: a vocab entry takes at least 8 bytes
	// of JSON and its key rarely more than half of it.
	rest := len(s.data) - s.pos
	buf := make([]byte, 0, rest/4)
	entries := make([]entry, 0, rest/24)
	if err := s.expect('{'); err != nil {
		return nil, nil, err
	}
	if s.peek() == '}' {
		s.pos++
		return map[string]int32{}, nil, nil
	}
	for {
		raw, esc, err := s.rawString()
		if err != nil {
			return nil, nil, err
		}
		start := len(buf)
		buf = appendString(buf, raw, esc)
		if err := s.expect(':'); err != nil {
			return nil, nil, err
		}
		id, err := s.integer(0, maxTokenID)
		if err != nil {
			return nil, nil, fmt.Errorf("vocab entry %q: %w", buf[start:], err)
		}
		entries = append(entries, entry{start, len(buf), int32(id)})
		if c := s.peek(); c == ',' {
			s.pos++
			continue
		} else if c == '}' {
			s.pos++
			break
		}
		return nil, nil, s.errorf("want ',' or '}' in vocab")
	}
	all := string(buf)
	vocab := make(map[string]int32, len(entries))
	maxID := int32(-1)
	for _, e := range entries {
		vocab[all[e.start:e.end]] = e.id // a repeated key keeps its last id, as in encoding/json
		maxID = max(maxID, e.id)
	}
	tokens := make([]string, maxID+1)
	for _, e := range entries {
		if vocab[all[e.start:e.end]] == e.id { // skip entries a repeated key overrode
			tokens[e.id] = all[e.start:e.end]
		}
	}
	return vocab, tokens, nil
}

// parseMerges reads merges in either form HF writes, "a b" strings or ["a", "b"] pairs, and
// calls add for each with the two token texts (valid only during the call).
func (s *jsonScanner) parseMerges(add func(rank int, a, b []byte) error) error {
	var bufA, bufB []byte
	rank := 0
	return s.array(0, func() error {
		switch s.peek() {
		case '"':
			raw, esc, err := s.rawString()
			if err != nil {
				return err
			}
			line := appendString(bufA[:0], raw, esc)
			bufA = line
			if len(line) >= 8 && string(line[:8]) == "#version" {
				return nil // HF skips the version header of merges.txt
			}
			sp := -1
			for i, c := range line {
				if c == ' ' {
					if sp >= 0 {
						sp = -2
						break
					}
					sp = i
				}
			}
			if sp < 0 {
				return fmt.Errorf("merge %d (%q) is not two tokens separated by one space", rank+1, line)
			}
			rank++
			return add(rank-1, line[:sp], line[sp+1:])
		case '[':
			n := 0
			err := s.array(1, func() error {
				raw, esc, err := s.rawString()
				if err != nil {
					return err
				}
				switch n {
				case 0:
					bufA = appendString(bufA[:0], raw, esc)
				case 1:
					bufB = appendString(bufB[:0], raw, esc)
				}
				n++
				return nil
			})
			if err != nil {
				return err
			}
			if n != 2 {
				return fmt.Errorf("merge %d has %d parts, want 2", rank+1, n)
			}
			rank++
			return add(rank-1, bufA, bufB)
		}
		return s.errorf("merge %d is neither a string nor a pair", rank+1)
	})
}
