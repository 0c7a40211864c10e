package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// tokenName is a special token as transformers writes it: a string, an AddedToken object with
// "content", or null.
type tokenName string

// UnmarshalJSON accepts the three forms transformers writes.
func (n *tokenName) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		*n = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*n = tokenName(s)
		return nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return errors.New("special token is neither a string nor an object with \"content\"")
	}
	*n = tokenName(obj.Content)
	return nil
}

// specialTokensJSON is the shared part of tokenizer_config.json and special_tokens_map.json.
type specialTokensJSON struct {
	BOS                     tokenName   `json:"bos_token"`
	EOS                     tokenName   `json:"eos_token"`
	Pad                     tokenName   `json:"pad_token"`
	Unk                     tokenName   `json:"unk_token"`
	AdditionalSpecialTokens []tokenName `json:"additional_special_tokens"`
}

type tokenizerConfigJSON struct {
	specialTokensJSON
	AddBOS         *bool  `json:"add_bos_token"`
	AddEOS         *bool  `json:"add_eos_token"`
	TokenizerClass string `json:"tokenizer_class"`
}

// transformersConfig is what transformers reads beside tokenizer.json.
type transformersConfig struct {
	names      specialNames
	additional []string
	addBOS     *bool
	addEOS     *bool
	class      string
}

func readJSONIfPresent(path string, v any) (bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("decode %s: %w", path, err)
	}
	return true, nil
}

// readTransformersConfig reads tokenizer_config.json and special_tokens_map.json from dir;
// either may be missing. As in transformers, a non-null entry of special_tokens_map.json wins
// over tokenizer_config.json.
func readTransformersConfig(dir string) (*transformersConfig, error) {
	var tc tokenizerConfigJSON
	if _, err := readJSONIfPresent(filepath.Join(dir, "tokenizer_config.json"), &tc); err != nil {
		return nil, err
	}
	var sm specialTokensJSON
	if _, err := readJSONIfPresent(filepath.Join(dir, "special_tokens_map.json"), &sm); err != nil {
		return nil, err
	}
	pick := func(m, c tokenName) string {
		if m != "" {
			return string(m)
		}
		return string(c)
	}
	cfg := &transformersConfig{
		names: specialNames{
			bos: pick(sm.BOS, tc.BOS),
			eos: pick(sm.EOS, tc.EOS),
			pad: pick(sm.Pad, tc.Pad),
			unk: pick(sm.Unk, tc.Unk),
		},
		addBOS: tc.AddBOS,
		addEOS: tc.AddEOS,
		class:  tc.TokenizerClass,
	}
	for _, list := range [][]tokenName{tc.AdditionalSpecialTokens, sm.AdditionalSpecialTokens} {
		for _, n := range list {
			if n != "" {
				cfg.additional = append(cfg.additional, string(n))
			}
		}
	}
	return cfg, nil
}

// markSpecial flags the tokens with the given texts as special (unknown texts are ignored).
func (t *Tokenizer) markSpecial(names []string) {
	for _, name := range names {
		if id, ok := t.namedID(name); ok {
			t.special[id] = true
		}
	}
}

// llamaStyleClasses rebuild their post-processor from add_bos_token / add_eos_token when
// loaded (transformers' update_post_processor), whatever tokenizer.json says.
var llamaStyleClasses = map[string]bool{
	"LlamaTokenizer": true, "LlamaTokenizerFast": true,
	"CodeLlamaTokenizer": true, "CodeLlamaTokenizerFast": true,
	"GemmaTokenizer": true, "GemmaTokenizerFast": true,
}

// applyConfig takes over the special-token names and, where transformers would, replaces the
// post-processor by BOS/EOS according to add_bos_token / add_eos_token.
func (t *Tokenizer) applyConfig(cfg *transformersConfig) error {
	t.names = cfg.names
	t.configSpecial = append([]string{cfg.names.bos, cfg.names.eos, cfg.names.pad, cfg.names.unk}, cfg.additional...)
	t.markSpecial(t.configSpecial)
	llama := llamaStyleClasses[cfg.class]
	if !llama && cfg.addBOS == nil && cfg.addEOS == nil {
		return nil
	}
	addBOS, addEOS := llama, false
	if cfg.addBOS != nil {
		addBOS = *cfg.addBOS
	}
	if cfg.addEOS != nil {
		addEOS = *cfg.addEOS
	}
	var p postProcessor
	if addBOS {
		id, ok := t.BOS()
		if !ok {
			return fmt.Errorf("add_bos_token is set but bos_token %q is not a token", cfg.names.bos)
		}
		p.prefix = []int32{id}
	}
	if addEOS {
		id, ok := t.EOS()
		if !ok {
			return fmt.Errorf("add_eos_token is set but eos_token %q is not a token", cfg.names.eos)
		}
		p.suffix = []int32{id}
	}
	t.post = p
	return nil
}
