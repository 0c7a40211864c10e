package prompt

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/tokenizer"
)

// testdataProcessor is the processor setup of the testdata tokenizer folders: the class
// defaults with 4 image tokens.
func testdataProcessor(*testing.T) config.Processor { return config.DefaultProcessor(4) }

// tinyProcessor is tiny-a's processor setup as config.Load resolves it.
func tinyProcessor(t *testing.T) config.Processor {
	t.Helper()
	cfg, err := config.Load(fixtures.Path(t, "models", "tiny-a"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Processor
}

// loadBuilder loads a folder's tokenizer and builds its prompt format with proc.
func loadBuilder(t *testing.T, dir string, proc config.Processor) *Builder {
	t.Helper()
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBuilder(tok, proc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// byteIDs is an independent oracle for the byte-level test tokenizers (no merges): BOS, then
// every listed special text as its id and every other byte as itself.
func byteIDs(text string, bos int32, specials map[string]int32) []int32 {
	ids := []int32{bos}
	for len(text) > 0 {
		matched := false
		for s, id := range specials {
			if strings.HasPrefix(text, s) {
				ids = append(ids, id)
				text = text[len(s):]
				matched = true
				break
			}
		}
		if !matched {
			ids = append(ids, int32(text[0]))
			text = text[1:]
		}
	}
	return ids
}

type tinyGolden struct {
	SpecialTokenIDs map[string]int32 `json:"special_token_ids"`
	Understanding   struct {
		PromptText              string  `json:"prompt_text"`
		SystemPrompt            string  `json:"system_prompt"`
		InputIDsBeforeExpansion []int32 `json:"input_ids_before_expansion"`
		InputIDs                []int32 `json:"input_ids"`
		ImageTokenID            int32   `json:"image_token_id"`
		NumImageTokens          int     `json:"num_image_tokens"`
		ImageTokenPositions     []int   `json:"image_token_positions"`
		EOSID                   int32   `json:"eos_id"`
		GreedyTokens            []int32 `json:"greedy_tokens"`
		GreedyText              string  `json:"greedy_text"`
	} `json:"understanding"`
	Generation struct {
		PromptText     string  `json:"prompt_text"`
		InputIDs       []int32 `json:"input_ids"`
		UncondInputIDs []int32 `json:"uncond_input_ids"`
		PadID          int32   `json:"pad_id"`
		ParallelSize   int     `json:"parallel_size"`
	} `json:"generation"`
}

func TestTinyAGolden(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	var g tinyGolden
	fixtures.JSON(t, fixtures.Path(t, "golden", "tiny-a", "golden.json"), &g)
	b := loadBuilder(t, dir, tinyProcessor(t))
	tok := b.Tokenizer()
	for text, want := range g.SpecialTokenIDs {
		if id, ok := tok.TokenID(text); !ok || id != want {
			t.Errorf("TokenID(%q) = %d, %v, want %d", text, id, ok, want)
		}
	}
	if user, assistant := b.Roles(); user != "<|User|>" || assistant != "<|Assistant|>" {
		t.Errorf("roles %q %q, want the Janus-Pro tokens", user, assistant)
	}
	if g.Understanding.SystemPrompt != DefaultSystemPrompt {
		t.Errorf("system prompt differs from the golden's")
	}
	u := g.Understanding
	// The golden conversation writes the tag in the text; Images writes it for the caller.
	for name, conv := range map[string][]Message{
		"tag in text":  {{Role: User, Text: "<image_placeholder>\nDescribe this image."}, {Role: Assistant}},
		"images field": {{Role: User, Text: "Describe this image.", Images: 1}},
	} {
		t.Run(name, func(t *testing.T) {
			text, err := b.UnderstandingText(conv)
			if err != nil {
				t.Fatal(err)
			}
			if text != u.PromptText {
				t.Errorf("prompt text\n got %q\nwant %q", text, u.PromptText)
			}
			if got := tok.Encode(text, true); !slices.Equal(got, u.InputIDsBeforeExpansion) {
				t.Errorf("ids before expansion\n got %v\nwant %v", got, u.InputIDsBeforeExpansion)
			}
			ids, pos, err := b.UnderstandingIDs(conv)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids, u.InputIDs) {
				t.Errorf("input ids\n got %v\nwant %v", ids, u.InputIDs)
			}
			if len(pos) != 1 || !slices.Equal(pos[0], u.ImageTokenPositions) {
				t.Errorf("image positions %v, want [%v]", pos, u.ImageTokenPositions)
			}
		})
	}
	if b.ImageTokenID() != u.ImageTokenID || b.NumImageTokens() != u.NumImageTokens {
		t.Errorf("image token %d x %d, want %d x %d", b.ImageTokenID(), b.NumImageTokens(), u.ImageTokenID, u.NumImageTokens)
	}
	if eos, ok := tok.EOS(); !ok || eos != u.EOSID {
		t.Errorf("EOS = %d, want %d", eos, u.EOSID)
	}
	if got := tok.Decode(u.GreedyTokens, true); got != u.GreedyText {
		t.Errorf("greedy text %q, want %q", got, u.GreedyText)
	}

	gen := g.Generation
	if text := b.GenerationText("A red circle above a blue square."); text != gen.PromptText {
		t.Errorf("generation prompt %q, want %q", text, gen.PromptText)
	}
	cond, uncond, err := b.GenerationIDs("A red circle above a blue square.")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cond, gen.InputIDs) || !slices.Equal(uncond, gen.UncondInputIDs) {
		t.Errorf("generation ids\n got %v\n     %v\nwant %v\n     %v", cond, uncond, gen.InputIDs, gen.UncondInputIDs)
	}
	if pad, err := b.PadID(); err != nil || pad != gen.PadID {
		t.Errorf("pad = %d, %v, want %d", pad, err, gen.PadID)
	}
	rows, err := CFGRows(cond, uncond, gen.ParallelSize)
	if err != nil || len(rows) != 2 || !slices.Equal(rows[0], gen.InputIDs) || !slices.Equal(rows[1], gen.UncondInputIDs) {
		t.Errorf("CFG rows %v, %v", rows, err)
	}
}

func TestPlainRoles(t *testing.T) {
	b := loadBuilder(t, filepath.Join("testdata", "plain-roles"), testdataProcessor(t))
	specials := map[string]int32{"<image_placeholder>": 259, "<｜end▁of▁sentence｜>": 257, "<begin_of_image>": 260}
	tests := []struct {
		name     string
		conv     []Message
		wantText string
	}{
		{"understanding (spec 7.1)", []Message{{Role: User, Text: "Convert the formula into latex code.", Images: 1}},
			DefaultSystemPrompt + "\n\nUser: <image_placeholder>\nConvert the formula into latex code.\n\nAssistant:"},
		{"multi-turn", []Message{
			{Role: User, Text: "What is this?", Images: 1},
			{Role: Assistant, Text: "  A cat.  "},
			{Role: User, Text: "And this?", Images: 2},
			{Role: Assistant},
		}, DefaultSystemPrompt + "\n\nUser: <image_placeholder>\nWhat is this?\n\nAssistant: A cat.<｜end▁of▁sentence｜>" +
			"User: <image_placeholder>\n<image_placeholder>\nAnd this?\n\nAssistant:"},
		{"empty user turn", []Message{{Role: User}}, DefaultSystemPrompt + "\n\nUser:Assistant:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text, err := b.UnderstandingText(tc.conv)
			if err != nil {
				t.Fatal(err)
			}
			if text != tc.wantText {
				t.Fatalf("text\n got %q\nwant %q", text, tc.wantText)
			}
			ids, pos, err := b.UnderstandingIDs(tc.conv)
			if err != nil {
				t.Fatal(err)
			}
			// Expand the oracle's ids by hand: each placeholder becomes 260, 4 x 259, 261.
			var want []int32
			var wantPos [][]int
			for _, id := range byteIDs(tc.wantText, 256, specials) {
				if id != 259 {
					want = append(want, id)
					continue
				}
				want = append(want, 260)
				wantPos = append(wantPos, []int{len(want), len(want) + 1, len(want) + 2, len(want) + 3})
				want = append(want, 259, 259, 259, 259, 261)
			}
			if !slices.Equal(ids, want) {
				t.Errorf("ids\n got %v\nwant %v", ids, want)
			}
			if !slices.EqualFunc(pos, wantPos, slices.Equal[[]int]) {
				t.Errorf("positions %v, want %v", pos, wantPos)
			}
		})
	}
	cond, uncond, err := b.GenerationIDs("a cat")
	if err != nil {
		t.Fatal(err)
	}
	wantCond := byteIDs("User: a cat\n\nAssistant:<begin_of_image>", 256, specials)
	if !slices.Equal(cond, wantCond) {
		t.Errorf("generation ids %v, want %v", cond, wantCond)
	}
	if len(uncond) != len(cond) || uncond[0] != 256 || uncond[len(uncond)-1] != 260 {
		t.Fatalf("uncond %v", uncond)
	}
	for _, id := range uncond[1 : len(uncond)-1] {
		if id != 258 {
			t.Fatalf("uncond %v should be padded with 258", uncond)
		}
	}
}

func TestMissingImageTagIsAdded(t *testing.T) {
	b := loadBuilder(t, filepath.Join("testdata", "no-image-tag"), testdataProcessor(t))
	if b.ImageTokenID() != 262 {
		t.Fatalf("added image tag id %d, want 262", b.ImageTokenID())
	}
	ids, pos, err := b.UnderstandingIDs([]Message{{Role: User, Text: "hi", Images: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pos) != 1 || ids[pos[0][0]] != 262 || ids[pos[0][0]-1] != 260 || ids[pos[0][3]+1] != 261 {
		t.Errorf("expansion %v at %v", ids, pos)
	}
}

func TestCFGRows(t *testing.T) {
	cond, uncond := []int32{1, 5, 6, 9}, []int32{1, 0, 0, 9}
	rows, err := CFGRows(cond, uncond, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 {
		t.Fatalf("%d rows", len(rows))
	}
	for i, r := range rows {
		want := cond
		if i%2 == 1 {
			want = uncond
		}
		if !slices.Equal(r, want) {
			t.Errorf("row %d = %v, want %v", i, r, want)
		}
	}
	rows[0][0] = 42
	if rows[2][0] != 1 || cond[0] != 1 {
		t.Error("rows share memory")
	}
	for _, bad := range []struct {
		c, u []int32
		p    int
	}{{cond, uncond, 0}, {cond, uncond[:2], 1}} {
		if _, err := CFGRows(bad.c, bad.u, bad.p); err == nil {
			t.Errorf("CFGRows(%v, %v, %d) accepted", bad.c, bad.u, bad.p)
		}
	}
}

func TestAddSpecialTokenKeepsPlaceholder(t *testing.T) {
	b := loadBuilder(t, filepath.Join("testdata", "plain-roles"), testdataProcessor(t))
	b.cfg.AddSpecialToken = true
	ids, pos, err := b.ExpandImages([]int32{256, 'a', 259, 'b'})
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{256, 'a', 259, 260, 259, 259, 259, 259, 261, 'b'}
	if !slices.Equal(ids, want) || !slices.Equal(pos[0], []int{4, 5, 6, 7}) {
		t.Errorf("ids %v pos %v, want %v", ids, pos, want)
	}
}

func TestConversationErrors(t *testing.T) {
	b := loadBuilder(t, filepath.Join("testdata", "plain-roles"), testdataProcessor(t))
	tests := []struct {
		name string
		conv []Message
		want string
	}{
		{"empty", nil, "empty"},
		{"starts with assistant", []Message{{Role: Assistant, Text: "hi"}}, "alternate"},
		{"two users", []Message{{Role: User}, {Role: User}}, "alternate"},
		{"ends with an answer", []Message{{Role: User, Text: "q"}, {Role: Assistant, Text: "a"}}, "must end"},
		{"negative images", []Message{{Role: User, Images: -1}}, "images"},
		{"unknown role", []Message{{Role: Role(7)}}, "Role(7)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := b.UnderstandingIDs(tc.conv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestMissingTokens(t *testing.T) {
	tok, err := tokenizer.Load(filepath.Join("testdata", "plain-roles"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultProcessor(2)
	cfg.ImageStartTag = "<nope>"
	cfg.PadTag = "<no-pad>"
	b, err := NewBuilder(tok, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.UnderstandingIDs([]Message{{Role: User, Images: 1}}); err == nil || !strings.Contains(err.Error(), "<nope>") {
		t.Errorf("missing start tag: %v", err)
	}
	if _, _, err := b.GenerationIDs("a cat"); err == nil || !strings.Contains(err.Error(), "<nope>") {
		t.Errorf("generation without the start tag: %v", err)
	}
	// The pad tag is missing but the tokenizer names a pad token.
	if pad, err := b.PadID(); err != nil || pad != 258 {
		t.Errorf("PadID = %d, %v, want the tokenizer's pad 258", pad, err)
	}
	noPad := loadBuilder(t, plainRolesWith(t, `{"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"}`, ""), cfg)
	if _, err := noPad.PadID(); err == nil || !strings.Contains(err.Error(), "<no-pad>") {
		t.Errorf("no pad tag and no pad token: %v", err)
	}
}

// plainRolesWith copies testdata/plain-roles to a temporary folder with the given
// special_tokens_map.json and, when eos is not empty, the EOS of tokenizer_config.json
// replaced by it.
func plainRolesWith(t *testing.T, specialTokensMap, eos string) string {
	t.Helper()
	src, dir := filepath.Join("testdata", "plain-roles"), t.TempDir()
	files := map[string]string{"special_tokens_map.json": specialTokensMap}
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = string(b)
	}
	if eos != "" {
		const stored = `"content": "<｜end▁of▁sentence｜>"`
		cfg := files["tokenizer_config.json"]
		if !strings.Contains(cfg, stored) {
			t.Fatalf("tokenizer_config.json of plain-roles has no %s", stored)
		}
		files["tokenizer_config.json"] = strings.Replace(cfg, stored, `"content": "`+eos+`"`, 1)
	}
	for f, content := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestBuilderEOS: the builder resolves the EOS token once, closes earlier answers with its
// text, and refuses a tokenizer that names none or names one it lacks, instead of writing a
// multi-turn template without the closing token.
func TestBuilderEOS(t *testing.T) {
	cfg := testdataProcessor(t)
	b := loadBuilder(t, filepath.Join("testdata", "plain-roles"), cfg)
	if b.EOSID() != 257 {
		t.Errorf("EOSID = %d, want 257", b.EOSID())
	}
	multi := []Message{{Role: User, Text: "q"}, {Role: Assistant, Text: "a"}, {Role: User, Text: "q2"}}
	text, err := b.UnderstandingText(multi)
	if err != nil {
		t.Fatal(err)
	}
	if want := DefaultSystemPrompt + "\n\nUser: q\n\nAssistant: a<｜end▁of▁sentence｜>User: q2\n\nAssistant:"; text != want {
		t.Errorf("multi-turn text %q, want %q", text, want)
	}

	bare, err := tokenizer.Load(filepath.Join("testdata", "plain-roles", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := tokenizer.Load(plainRolesWith(t, `{"eos_token": "<no-such-eos>"}`, "<no-such-eos>"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := unknown.EOS(); ok {
		t.Fatal("the edited tokenizer still has an EOS token")
	}
	for _, tc := range []struct {
		name string
		tok  *tokenizer.Tokenizer
	}{
		{"tokenizer.json alone", bare},
		{"EOS not in the vocabulary", unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if b, err := NewBuilder(tc.tok, cfg); err == nil || !strings.Contains(err.Error(), "eos_token") {
				t.Errorf("NewBuilder = %v, %v, want an error naming eos_token", b, err)
			}
		})
	}
}

func TestNewBuilderRejects(t *testing.T) {
	tok, err := tokenizer.Load(filepath.Join("testdata", "plain-roles"))
	if err != nil {
		t.Fatal(err)
	}
	with := func(edit func(*config.Processor)) config.Processor {
		p := testdataProcessor(t)
		edit(&p)
		return p
	}
	tests := []struct {
		name string
		tok  *tokenizer.Tokenizer
		proc config.Processor
		want string
	}{
		{"zero config", tok, config.Processor{}, "num_image_tokens 0"},
		{"no image tokens", tok, with(func(p *config.Processor) { p.NumImageTokens = 0 }), "num_image_tokens 0"},
		{"other template", tok, with(func(p *config.Processor) { p.SFTFormat = "llama" }), `sft_format "llama"`},
		{"empty tag", tok, with(func(p *config.Processor) { p.ImageTag = "" }), "must not be empty"},
		{"no tokenizer", nil, testdataProcessor(t), "needs a tokenizer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewBuilder(tc.tok, tc.proc); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestFamily: the family, and so the role texts, follow the tokenizer: Janus-Pro's has the
// user role as an added token, Janus-1.3B's does not. Adding the image tag to a tokenizer
// does not change its family.
func TestFamily(t *testing.T) {
	tests := []struct {
		name            string
		dir             string
		proc            func(t *testing.T) config.Processor
		want            Family
		user, assistant string
	}{
		{"tiny-a", fixtures.Path(t, "models", "tiny-a"), tinyProcessor, JanusPro, "<|User|>", "<|Assistant|>"},
		{"plain roles", filepath.Join("testdata", "plain-roles"), testdataProcessor, Janus, "User", "Assistant"},
		{"no image tag", filepath.Join("testdata", "no-image-tag"), testdataProcessor, Janus, "User", "Assistant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := loadBuilder(t, tc.dir, tc.proc(t))
			if b.Family() != tc.want || FamilyOf(b.Tokenizer()) != tc.want {
				t.Errorf("family %q (of the builder's tokenizer %q), want %q", b.Family(), FamilyOf(b.Tokenizer()), tc.want)
			}
			if user, assistant := b.Roles(); user != tc.user || assistant != tc.assistant {
				t.Errorf("roles %q %q, want %q %q", user, assistant, tc.user, tc.assistant)
			}
		})
	}
}

// TestPythonStrip: the template strips as Python's str.strip(), which also removes the
// separators U+001C..U+001F that Go's unicode.IsSpace keeps.
func TestPythonStrip(t *testing.T) {
	b := loadBuilder(t, filepath.Join("testdata", "plain-roles"), testdataProcessor(t))
	tests := []struct {
		name, text, want string
	}{
		{"spaces and newlines", " \t a cat \n\n", "a cat"},
		{"file and unit separators", "\x1c\x1da cat\x1e\x1f", "a cat"},
		{"no-break and ideographic spaces", "\u00a0a cat\u3000", "a cat"},
		{"inner separators stay", "a\x1fcat", "a\x1fcat"},
		{"zero-width space stays", "\u200ba cat", "\u200ba cat"},
		{"only separators", "\x1c \x1f", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := b.GenerationText(tc.text)
			want := "User: " + tc.want + "\n\nAssistant:<begin_of_image>"
			if tc.want == "" {
				want = "User:Assistant:<begin_of_image>"
			}
			if got != want {
				t.Errorf("GenerationText(%q) = %q, want %q", tc.text, got, want)
			}
		})
	}
}
