package tokenizer

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// streamDecode decodes ids one at a time and concatenates the pieces.
func streamDecode(tok *Tokenizer, ids []int32, skipSpecial bool) string {
	var b strings.Builder
	d := tok.NewStreamDecoder(skipSpecial)
	for _, id := range ids {
		b.WriteString(d.Add(id))
	}
	b.WriteString(d.Flush())
	return b.String()
}

// checkStreamDecoder checks that decoding one id at a time gives what Decode gives, with and
// without special tokens, on every golden line.
func checkStreamDecoder(t *testing.T, _ string, tok *Tokenizer, golden []goldenLine) {
	for i, g := range golden {
		for _, skip := range []bool{false, true} {
			want := tok.Decode(g.IDs, skip)
			if got := streamDecode(tok, g.IDs, skip); got != want {
				t.Fatalf("line %d skip=%v: stream %q, Decode %q", i+1, skip, got, want)
			}
		}
		if got := streamDecode(tok, g.IDs, false); got != g.Decoded {
			t.Fatalf("line %d: stream %q, golden %q", i+1, got, g.Decoded)
		}
	}
}

func TestStreamDecoderHoldsPartialCharacters(t *testing.T) {
	tok, err := Load(filepath.Join("testdata", "bytelevel"))
	if err != nil {
		t.Fatal(err)
	}
	// "a中b" as single bytes: the three bytes of 中 must come out together.
	ids := []int32{'a', 0xe4, 0xb8, 0xad, 'b'}
	want := []string{"a", "", "", "中", "b"}
	d := tok.NewStreamDecoder(false)
	for i, id := range ids {
		if got := d.Add(id); got != want[i] {
			t.Errorf("Add(%#x) = %q, want %q", id, got, want[i])
		}
	}
	if got := d.Flush(); got != "" {
		t.Errorf("Flush = %q", got)
	}
	// A character cut off at the end becomes U+FFFD on Flush, and the decoder starts over.
	d.Add(0xe4)
	if got := d.Flush(); got != "\uFFFD" {
		t.Errorf("Flush of a partial character = %q", got)
	}
	if got := d.Add('x'); got != "x" {
		t.Errorf("after Flush: %q", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	tok, golden := loadFixtureTokenizer(t, "deepseek-llm")
	if testing.Short() {
		golden = golden[:50]
	}
	done := make(chan error, 4)
	for w := range 4 {
		go func() {
			for i := range golden {
				g := golden[(i+w*37)%len(golden)]
				if got := tok.Encode(g.Text, false); !slices.Equal(got, g.IDs) {
					done <- fmt.Errorf("worker %d: %q encoded differently", w, g.Text)
					return
				}
				if got := streamDecode(tok, g.IDs, false); got != g.Decoded {
					done <- fmt.Errorf("worker %d: %q decoded differently", w, g.Text)
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
