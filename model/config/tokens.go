package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// Tokenizer file names inside a model folder.
const (
	TokenizerFile         = "tokenizer.json"
	TokenizerConfigFile   = "tokenizer_config.json"
	SpecialTokensMapFile  = "special_tokens_map.json"
	janusProUserRoleToken = "<|User|>"
)

// Family is the model generation, which decides the prompt roles (spec §7.1).
type Family string

// Model families. FamilyUnknown means the folder has no tokenizer files to tell.
const (
	FamilyUnknown Family = ""
	// Janus (Janus-1.3B) writes the roles as plain text "User" / "Assistant".
	Janus Family = "Janus"
	// JanusPro (Janus-Pro-1B/7B) has the special role tokens <|User|> / <|Assistant|>.
	JanusPro Family = "Janus-Pro"
)

// SpecialTokens is what a model folder's tokenizer files say about special tokens. It reads
// only the small parts of the files it needs, so that describing a model does not depend on a
// full tokenizer.
type SpecialTokens struct {
	// BOS, EOS, Pad and Unk are the token strings from special_tokens_map.json, else from
	// tokenizer_config.json; empty when neither names one.
	BOS, EOS, Pad, Unk string
	// Additional lists additional_special_tokens.
	Additional []string
	// IDs maps added tokens to their ids, from tokenizer.json's added_tokens and
	// tokenizer_config.json's added_tokens_decoder.
	IDs map[string]int
	// Files lists the tokenizer files found.
	Files []string
}

// ID returns the id of an added token.
func (t *SpecialTokens) ID(token string) (int, bool) {
	id, ok := t.IDs[token]
	return id, ok
}

// Family tells Janus-Pro (whose tokenizer defines the <|User|> role token) from Janus.
func (t *SpecialTokens) Family() Family {
	if len(t.Files) == 0 {
		return FamilyUnknown
	}
	if _, ok := t.IDs[janusProUserRoleToken]; ok || slices.Contains(t.Additional, janusProUserRoleToken) {
		return JanusPro
	}
	return Janus
}

// DetectFamily reads the tokenizer files of dir and tells Janus-Pro from Janus.
func DetectFamily(dir string) (Family, error) {
	t, err := LoadSpecialTokens(dir)
	if err != nil {
		return FamilyUnknown, err
	}
	return t.Family(), nil
}

// LoadSpecialTokens reads special_tokens_map.json, tokenizer_config.json and the
// added_tokens of tokenizer.json from dir. Missing files are skipped; unreadable or malformed
// ones are errors.
func LoadSpecialTokens(dir string) (*SpecialTokens, error) {
	t := &SpecialTokens{IDs: map[string]int{}}

	var tc struct {
		BOS        json.RawMessage            `json:"bos_token"`
		EOS        json.RawMessage            `json:"eos_token"`
		Pad        json.RawMessage            `json:"pad_token"`
		Unk        json.RawMessage            `json:"unk_token"`
		Additional []json.RawMessage          `json:"additional_special_tokens"`
		Decoder    map[string]json.RawMessage `json:"added_tokens_decoder"`
	}
	if ok, err := readTokenizerJSON(dir, TokenizerConfigFile, &tc, t); err != nil {
		return nil, err
	} else if ok {
		if err := t.takeNamed(TokenizerConfigFile, tc.BOS, tc.EOS, tc.Pad, tc.Unk, tc.Additional); err != nil {
			return nil, err
		}
		for idStr, raw := range tc.Decoder {
			id, err := strconv.Atoi(idStr)
			if err != nil {
				return nil, fmt.Errorf("%s: added_tokens_decoder key %q is not an id", filepath.Join(dir, TokenizerConfigFile), idStr)
			}
			content, err := tokenContent(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: added_tokens_decoder[%s]: %w", filepath.Join(dir, TokenizerConfigFile), idStr, err)
			}
			t.IDs[content] = id
		}
	}

	// special_tokens_map.json wins over tokenizer_config.json, as in transformers.
	var sm struct {
		BOS        json.RawMessage   `json:"bos_token"`
		EOS        json.RawMessage   `json:"eos_token"`
		Pad        json.RawMessage   `json:"pad_token"`
		Unk        json.RawMessage   `json:"unk_token"`
		Additional []json.RawMessage `json:"additional_special_tokens"`
	}
	if ok, err := readTokenizerJSON(dir, SpecialTokensMapFile, &sm, t); err != nil {
		return nil, err
	} else if ok {
		if err := t.takeNamed(SpecialTokensMapFile, sm.BOS, sm.EOS, sm.Pad, sm.Unk, sm.Additional); err != nil {
			return nil, err
		}
	}

	var tj struct {
		AddedTokens []struct {
			ID      *int    `json:"id"`
			Content *string `json:"content"`
		} `json:"added_tokens"`
	}
	if ok, err := readTokenizerJSON(dir, TokenizerFile, &tj, t); err != nil {
		return nil, err
	} else if ok {
		for i, a := range tj.AddedTokens {
			if a.ID == nil || a.Content == nil {
				return nil, fmt.Errorf("%s: added_tokens[%d] lacks id or content", filepath.Join(dir, TokenizerFile), i)
			}
			t.IDs[*a.Content] = *a.ID
		}
	}
	return t, nil
}

// readTokenizerJSON decodes dir/name into v when the file exists.
func readTokenizerJSON(dir, name string, v any, t *SpecialTokens) (bool, error) {
	path := filepath.Join(dir, name)
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read tokenizer file: %w", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("decode %s: %w", path, err)
	}
	t.Files = append(t.Files, name)
	return true, nil
}

// takeNamed sets the named special tokens that the file defines (a later file overrides).
func (t *SpecialTokens) takeNamed(file string, bos, eos, pad, unk json.RawMessage, additional []json.RawMessage) error {
	for _, f := range []struct {
		key string
		raw json.RawMessage
		dst *string
	}{{"bos_token", bos, &t.BOS}, {"eos_token", eos, &t.EOS}, {"pad_token", pad, &t.Pad}, {"unk_token", unk, &t.Unk}} {
		if len(f.raw) == 0 || string(f.raw) == "null" {
			continue
		}
		s, err := tokenContent(f.raw)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", file, f.key, err)
		}
		*f.dst = s
	}
	if additional != nil {
		t.Additional = t.Additional[:0]
		for i, raw := range additional {
			s, err := tokenContent(raw)
			if err != nil {
				return fmt.Errorf("%s: additional_special_tokens[%d]: %w", file, i, err)
			}
			t.Additional = append(t.Additional, s)
		}
	}
	return nil
}

// tokenContent reads a token written either as a string or as an AddedToken object.
func tokenContent(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Content == nil {
		return "", fmt.Errorf("want a string or an object with content, got %s", abbreviate(raw))
	}
	return *obj.Content, nil
}
