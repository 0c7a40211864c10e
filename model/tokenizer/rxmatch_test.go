package tokenizer

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
	"github.com/dlclark/regexp2/v2/syntax"

	"github.com/janus-desktop/janus/internal/fixtures"
)

// extraMatcherPatterns exercise the matcher's constructs beyond the fixture patterns: lazy
// loops, anchors, optional groups, literals, atomic groups, look-ahead of several characters.
var extraMatcherPatterns = []string{
	gpt2Pattern,
	`\p{N}{1,3}`,
	`\w+|[^\w\s]+`,
	`a*?b|a+?|^x|y$|\Az|w\z|v\Z`,
	`(?:ab|a)(?:bc)?c|ab(?=cd)|a(?!bc)`,
	`(?>a+)b|(?:x|xy)z`,
	`.*?=|[^=]{2,4}`,
	`x*`,
}

// fixturePatterns collects the Split regexes of the fixture tokenizers, read from the files
// themselves (their classes hold code points that copying through an editor can normalise
// away): DeepSeek-LLM's from the repository, the other four's when the optional extras are
// present. The other patterns are checked either way.
func fixturePatterns(t testing.TB) []string {
	var out []string
	for _, name := range vocabularies {
		path, ok := fixtures.Find("tokenizers", name, "tokenizer.json")
		if !ok {
			t.Logf("fixture patterns of %s unavailable: tokenizers/%s is an optional extra", name, name)
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Logf("fixture patterns unavailable: %v", err)
			return nil
		}
		// Only pre_tokenizer is needed: stop at it rather than scan the vocabulary after it.
		var pre json.RawMessage
		sc := &jsonScanner{data: data}
		err = sc.object(0, func(key string) error {
			if key != "pre_tokenizer" {
				return sc.skipValue(1)
			}
			var err error
			if pre, err = sc.rawValue(1); err == nil {
				err = errStopScan
			}
			return err
		})
		if err != nil && !errors.Is(err, errStopScan) {
			t.Fatalf("%s: %v", path, err)
		}
		var walk func(raw json.RawMessage)
		walk = func(raw json.RawMessage) {
			c, err := parseComponent(raw, "pre-tokenizer")
			if err != nil {
				t.Fatal(err)
			}
			for _, sub := range c.Pretokenizers {
				walk(sub)
			}
			if c.Pattern != nil && c.Pattern.Regex != nil {
				out = append(out, *c.Pattern.Regex)
			}
		}
		if pre != nil {
			walk(pre)
		}
	}
	return out
}

// errStopScan ends a scan of tokenizer.json once the member wanted has been read.
var errStopScan = errors.New("stop scanning")

// regexp2Matches lists the matches regexp2 finds, as HF reports them (empty matches right
// after a match skipped).
func regexp2Matches(t testing.TB, re *regexp2.Regexp, runes []rune) [][2]int {
	var out [][2]int
	lastEnd := -1
	err := re.FindRunesMatches(runes, 0, func(v regexp2.MatchView) bool {
		idx, n, _ := v.GroupRange(0)
		if n == 0 && idx == lastEnd {
			return true
		}
		lastEnd = idx + n
		out = append(out, [2]int{idx, idx + n})
		return true
	})
	if err != nil {
		t.Fatalf("regexp2: %v", err)
	}
	return out
}

func fastMatches(c *compiledRegex, runes []rune) [][2]int {
	var out [][2]int
	var m rxMachine
	c.eachMatch(runes, &m, func(s, e int) { out = append(out, [2]int{s, e}) })
	return out
}

type matcherPair struct {
	pattern string
	fast    *compiledRegex
	slow    *regexp2.Regexp
}

func compileMatcherPairs(t testing.TB) []matcherPair {
	t.Helper()
	var out []matcherPair
	for _, p := range append(fixturePatterns(t), extraMatcherPatterns...) {
		f, ok := compileFast(p, syntax.RegexOptions(regexOptions))
		if !ok {
			t.Fatalf("fast matcher declined %q", p)
		}
		slow, err := regexp2.Compile(p, regexOptions, regexp2.OptionMaxBacktrackingStackSize(-1))
		if err != nil {
			t.Fatalf("regexp2 %q: %v", p, err)
		}
		out = append(out, matcherPair{p, &compiledRegex{fast: f}, slow})
	}
	return out
}

func checkMatcherPairs(t *testing.T, pairs []matcherPair, text string) {
	runes := []rune(text)
	for _, p := range pairs {
		want := regexp2Matches(t, p.slow, runes)
		if got := fastMatches(p.fast, runes); !slices.Equal(got, want) {
			t.Fatalf("pattern %q on %q:\n got %v\nwant %v", p.pattern, text, got, want)
		}
	}
}

func TestRegexMatcherAgainstRegexp2(t *testing.T) {
	pairs := compileMatcherPairs(t)
	texts := []string{
		"", "a", "Hello, world!", "  leading and trailing  ", "tabs\tand\nnewlines\r\n\r\n",
		"it's they're I'M we'LL ſ'ſ 'S", "12345 1,234.56 ٣٤٥ Ⅻ ½", "aab abc abcd axbc xyz xz ===a=b",
		"ab\nx\ny\n", "z w v\n", "中文字符 かなカナ 한국어", "emoji 👍🏽 🇯🇵", "\u0085\u00a0\u2028\ufeff x",
	}
	for _, text := range texts {
		checkMatcherPairs(t, pairs, text)
	}
	// The golden corpus (the same 296 texts for every vocabulary) covers every script and
	// whitespace case.
	for _, g := range readGolden(t, fixtures.Path(t, "tokenizers", "golden-deepseek-llm.jsonl")) {
		checkMatcherPairs(t, pairs, g.Text)
	}
}

func FuzzRegexMatcher(f *testing.F) {
	for _, s := range []string{"", "Hello, world!", "a  \n\tb", "x's 12345", "中文 テスト", "ab\ncd$", "aaab=c"} {
		f.Add(s)
	}
	pairs := compileMatcherPairs(f)
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) {
			t.Skip("regexp2 and the matcher both see U+FFFD; covered by the encode fuzz test")
		}
		checkMatcherPairs(t, pairs, text)
	})
}
