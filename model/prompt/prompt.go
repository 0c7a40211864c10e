// Package prompt builds the token sequences Janus and Janus-Pro are prompted with: the
// "deepseek" SFT template of the official VLChatProcessor for (multi-turn) image understanding,
// the expansion of each image placeholder into the image's token slots, and the conditional /
// unconditional prompt rows of classifier-free-guided image generation.
//
// Every special token is looked up in the tokenizer by its text (from processor_config.json,
// as config.Load resolves it, and the tokenizer's own config), never by a fixed id: the ids
// differ between releases. Janus-Pro writes the roles as its added role tokens; Janus-1.3B,
// whose tokenizer lacks them, writes them as plain words. This package decides the family
// from the tokenizer (FamilyOf) and spells the roles (Family.Roles); nothing else does.
package prompt

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/janus-desktop/janus/model/config"
	"github.com/janus-desktop/janus/model/tokenizer"
)

// DefaultSystemPrompt is VLChatProcessor's fixed system prompt, used for understanding.
const DefaultSystemPrompt = "You are a helpful language and vision assistant. " +
	"You are able to understand the visual content that the user provides, " +
	"and assist the user with a variety of tasks using natural language."

// Role is who speaks a message.
type Role int

// The two roles of the template; conversations alternate between them, starting with User.
const (
	User Role = iota
	Assistant
)

// String names the role in error messages.
func (r Role) String() string {
	switch r {
	case User:
		return "user"
	case Assistant:
		return "assistant"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// Message is one turn of a conversation.
type Message struct {
	// Role picks the template's speaker label for the turn.
	Role Role
	// Text is the turn's text as typed; the template adds the labels and separators.
	Text string
	// Images is the number of images attached to the message: each puts one image tag and a
	// newline before Text, as the official examples write "<image_placeholder>\n{question}".
	// An image tag written in Text itself also counts as an image.
	Images int
}

// Family is the model generation, which decides how the template writes the roles.
type Family string

// Model families.
const (
	// Janus (Janus-1.3B), whose tokenizer has no role tokens, writes the roles as plain text.
	Janus Family = "Janus"
	// JanusPro (Janus-Pro-1B/7B) writes them as its added role tokens.
	JanusPro Family = "Janus-Pro"
)

// Roles returns the texts the family's template writes before user and assistant turns.
// This is the one place the role strings are spelled.
func (f Family) Roles() (user, assistant string) {
	if f == JanusPro {
		return "<|User|>", "<|Assistant|>"
	}
	return "User", "Assistant"
}

// FamilyOf tells the family a tokenizer belongs to: Janus-Pro's has its user role as an
// added token.
func FamilyOf(tok *tokenizer.Tokenizer) Family {
	user, _ := JanusPro.Roles()
	if id, ok := tok.TokenID(user); ok && tok.IsAdded(id) {
		return JanusPro
	}
	return Janus
}

// checkProcessor rejects what the builder cannot work with. config.Load has already checked
// a processor_config.json it read; this guards Processor values made by hand.
func checkProcessor(c config.Processor) error {
	switch {
	case c.NumImageTokens <= 0:
		return fmt.Errorf("num_image_tokens %d is not positive", c.NumImageTokens)
	case c.SFTFormat != config.SFTDeepSeek:
		return fmt.Errorf("sft_format %q is not supported (only %q)", c.SFTFormat, config.SFTDeepSeek)
	case c.ImageTag == "" || c.ImageStartTag == "" || c.ImageEndTag == "" || c.PadTag == "":
		return errors.New("image_tag, image_start_tag, image_end_tag and pad_tag must not be empty")
	}
	return nil
}

// Builder turns conversations into token ids for one model.
type Builder struct {
	tok *tokenizer.Tokenizer
	cfg config.Processor
	// SystemPrompt is the system prompt of understanding conversations
	// (DefaultSystemPrompt unless changed).
	SystemPrompt string

	family                  Family
	userRole, assistantRole string
	imageID                 int32
	// eosID and eosText are the tokenizer's EOS token, which ends answers and, as text,
	// closes earlier assistant turns of the template.
	eosID   int32
	eosText string
}

// NewBuilder prepares the prompt format for a tokenizer and the processor settings of
// config.Load (processor_config.json). As the official processor does, a tokenizer without
// the image tag gets it as a new special token; use Tokenizer to decode with the tokenizer the
// builder encodes with. The tokenizer must name an EOS token (a model folder's config does;
// tokenizer.json alone does not): the template closes earlier answers with its text.
func NewBuilder(tok *tokenizer.Tokenizer, cfg config.Processor) (*Builder, error) {
	if tok == nil {
		return nil, errors.New("prompt builder needs a tokenizer")
	}
	if err := checkProcessor(cfg); err != nil {
		return nil, fmt.Errorf("processor config: %w", err)
	}
	eosID, ok := tok.EOS()
	if !ok {
		return nil, errors.New("tokenizer names no eos_token, which ends answers and closes earlier ones in the template (load the model folder, not tokenizer.json alone)")
	}
	eosText, ok := tok.IDToken(eosID)
	if !ok || eosText == "" {
		return nil, fmt.Errorf("tokenizer has no text for its eos_token id %d, which closes earlier answers in the template", eosID)
	}
	family := FamilyOf(tok)
	if _, ok := tok.TokenID(cfg.ImageTag); !ok {
		tok = tok.AddSpecialTokens(cfg.ImageTag)
	}
	b := &Builder{tok: tok, cfg: cfg, SystemPrompt: DefaultSystemPrompt, family: family, eosID: eosID, eosText: eosText}
	b.userRole, b.assistantRole = family.Roles()
	b.imageID, _ = tok.TokenID(cfg.ImageTag)
	return b, nil
}

// Tokenizer returns the tokenizer the builder encodes with.
func (b *Builder) Tokenizer() *tokenizer.Tokenizer { return b.tok }

// Family is the family of the builder's tokenizer, which decides the role texts.
func (b *Builder) Family() Family { return b.family }

// Roles returns the role texts of the template (Family.Roles of the builder's family).
func (b *Builder) Roles() (user, assistant string) { return b.userRole, b.assistantRole }

// EOSID is the id of the tokenizer's EOS token, which ends an answer.
func (b *Builder) EOSID() int32 { return b.eosID }

// ImageTokenID is the id of the image placeholder token.
func (b *Builder) ImageTokenID() int32 { return b.imageID }

// NumImageTokens is the number of token slots each image fills.
func (b *Builder) NumImageTokens() int { return b.cfg.NumImageTokens }

func (b *Builder) requireID(text, what string) (int32, error) {
	id, ok := b.tok.TokenID(text)
	if !ok {
		return 0, fmt.Errorf("tokenizer has no %s token %q", what, text)
	}
	return id, nil
}

// normalize checks the conversation and appends the empty assistant turn the model answers
// in when the conversation ends with the user.
func normalize(conv []Message) ([]Message, error) {
	if len(conv) == 0 {
		return nil, errors.New("empty conversation")
	}
	for i, m := range conv {
		want := User
		if i%2 == 1 {
			want = Assistant
		}
		if m.Role != want {
			return nil, fmt.Errorf("message %d is from the %v, want the %v (turns alternate, starting with the user)", i, m.Role, want)
		}
		if m.Images < 0 {
			return nil, fmt.Errorf("message %d has %d images", i, m.Images)
		}
	}
	last := conv[len(conv)-1]
	switch {
	case last.Role == User:
		conv = append(conv[:len(conv):len(conv)], Message{Role: Assistant})
	case pyStrip(last.Text) != "" || last.Images > 0:
		return nil, errors.New("conversation must end with a user message or an empty assistant message")
	}
	return conv, nil
}

// template is apply_sft_template_for_multi_turn_prompts with sft_format "deepseek".
func (b *Builder) template(conv []Message, system string) string {
	var sb strings.Builder
	if system != "" {
		sb.WriteString(system)
		sb.WriteString("\n\n")
	}
	for i, m := range conv {
		role := b.userRole
		if m.Role == Assistant {
			role = b.assistantRole
		}
		content := pyStrip(strings.Repeat(b.cfg.ImageTag+"\n", m.Images) + m.Text)
		if content == "" {
			sb.WriteString(role + ":")
			continue
		}
		sb.WriteString(role + ": " + content)
		if i%2 == 0 {
			sb.WriteString("\n\n")
		} else {
			sb.WriteString(b.eosText)
		}
	}
	return pyStrip(sb.String())
}

// pyStrip is Python's str.strip(), which the template applies: unlike strings.TrimSpace it
// also removes the separators U+001C..U+001F, which Python counts as whitespace.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) })
}

// UnderstandingText returns the prompt text of an understanding conversation. A conversation
// ending with a user message gets the empty assistant turn appended.
func (b *Builder) UnderstandingText(conv []Message) (string, error) {
	conv, err := normalize(conv)
	if err != nil {
		return "", err
	}
	return b.template(conv, b.SystemPrompt), nil
}

// UnderstandingIDs returns the token ids of an understanding conversation with every image
// placeholder expanded, and for each image (in order) the positions of its NumImageTokens
// slots, which the image features replace.
func (b *Builder) UnderstandingIDs(conv []Message) (ids []int32, imagePositions [][]int, err error) {
	text, err := b.UnderstandingText(conv)
	if err != nil {
		return nil, nil, err
	}
	return b.ExpandImages(b.tok.Encode(text, true))
}

// ExpandImages replaces each image placeholder id by <begin_of_image>, NumImageTokens
// placeholders and <end_of_image> (VLChatProcessor.add_image_token; with add_special_token the
// original placeholder is kept in front). It returns the new ids and each image's slots.
func (b *Builder) ExpandImages(ids []int32) ([]int32, [][]int, error) {
	n := 0
	for _, id := range ids {
		if id == b.imageID {
			n++
		}
	}
	if n == 0 {
		return append([]int32(nil), ids...), nil, nil
	}
	boi, err := b.requireID(b.cfg.ImageStartTag, "image start")
	if err != nil {
		return nil, nil, err
	}
	eoi, err := b.requireID(b.cfg.ImageEndTag, "image end")
	if err != nil {
		return nil, nil, err
	}
	k := b.cfg.NumImageTokens
	out := make([]int32, 0, len(ids)+n*(k+2))
	positions := make([][]int, 0, n)
	for _, id := range ids {
		if id != b.imageID {
			out = append(out, id)
			continue
		}
		if b.cfg.AddSpecialToken {
			out = append(out, id)
		}
		out = append(out, boi)
		slots := make([]int, k)
		for j := range slots {
			slots[j] = len(out)
			out = append(out, b.imageID)
		}
		out = append(out, eoi)
		positions = append(positions, slots)
	}
	return out, positions, nil
}

// GenerationText returns the prompt text of image generation: the template with no system
// prompt, then the image start tag.
func (b *Builder) GenerationText(prompt string) string {
	return b.template([]Message{{Role: User, Text: prompt}, {Role: Assistant}}, "") + b.cfg.ImageStartTag
}

// PadID is the id the unconditional generation prompt is padded with: the pad tag's token
// (as VLChatProcessor.pad_id), or the tokenizer's pad token when the tag is not a token.
func (b *Builder) PadID() (int32, error) {
	if id, ok := b.tok.TokenID(b.cfg.PadTag); ok {
		return id, nil
	}
	if id, ok := b.tok.Pad(); ok {
		return id, nil
	}
	return 0, fmt.Errorf("tokenizer has neither the pad tag %q nor a pad token", b.cfg.PadTag)
}

// GenerationIDs returns the conditional prompt of image generation (BOS, the prompt, the image
// start token) and the unconditional one, which keeps the first and last ids and pads the rest.
func (b *Builder) GenerationIDs(prompt string) (cond, uncond []int32, err error) {
	text := b.GenerationText(prompt)
	pad, err := b.PadID()
	if err != nil {
		return nil, nil, err
	}
	boi, err := b.requireID(b.cfg.ImageStartTag, "image start")
	if err != nil {
		return nil, nil, err
	}
	cond = b.tok.Encode(text, true)
	// The unconditional row keeps the last id: it must be the image start token the image
	// tokens follow, not the tag's text spelled out by a tokenizer that lacks it.
	if len(cond) < 2 || cond[len(cond)-1] != boi {
		return nil, nil, fmt.Errorf("generation prompt %q does not encode to at least 2 ids ending with the image start token %d", text, boi)
	}
	uncond = make([]int32, len(cond))
	uncond[0], uncond[len(cond)-1] = cond[0], cond[len(cond)-1]
	for i := 1; i < len(cond)-1; i++ {
		uncond[i] = pad
	}
	return cond, uncond, nil
}

// CFGRows lays out the prompt rows of parallel guided generations: row 2k is the conditional
// prompt and row 2k+1 the unconditional one, for k < parallel. The rows share no memory.
func CFGRows(cond, uncond []int32, parallel int) ([][]int32, error) {
	if parallel <= 0 {
		return nil, fmt.Errorf("parallel images %d is not positive", parallel)
	}
	if len(cond) != len(uncond) {
		return nil, fmt.Errorf("conditional (%d ids) and unconditional (%d ids) prompts differ in length", len(cond), len(uncond))
	}
	rows := make([][]int32, 2*parallel)
	for k := range parallel {
		rows[2*k] = append([]int32(nil), cond...)
		rows[2*k+1] = append([]int32(nil), uncond...)
	}
	return rows, nil
}
