// Package tokenizer loads Hugging Face tokenizer.json files of the byte-level BPE family (the
// DeepSeek-LLM vocabulary of Janus, and GPT-2, Llama 3, Qwen, DeepSeek-V3, GPT-4o style ones)
// and encodes and decodes text exactly as Hugging Face does, token for token.
//
// Supported parts of tokenizer.json:
//
//   - model: BPE with merges as "a b" strings or ["a", "b"] pairs, ignore_merges,
//     continuing_subword_prefix / end_of_word_suffix, unk_token with fuse_unk (dropout and
//     byte_fallback are rejected: inference needs neither);
//   - normalizer: NFC, NFD, NFKC, NFKD, Replace, Prepend, Strip, ByteLevel, Sequence, none;
//   - pre_tokenizer: Split (Regex or String pattern, every behaviour, invert), ByteLevel
//     (add_prefix_space, use_regex with GPT-2's pattern), Digits, Punctuation, Whitespace,
//     WhitespaceSplit, Sequence;
//   - added_tokens (special or not, single_word, lstrip, rstrip, normalized), matched before
//     everything else, leftmost and longest first, as HF's Aho-Corasick pass does: tokens with
//     normalized=false in the raw text, the others in the normalized text between them;
//   - post_processor: TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing,
//     Sequence; for a model folder, transformers' rule that Llama-style tokenizers take BOS/EOS
//     from tokenizer_config.json's add_bos_token / add_eos_token;
//   - decoder: ByteLevel, Replace, Strip, Fuse, Sequence (per-token steps, then ByteLevel).
//
// Decoding follows Hugging Face with clean_up_tokenization_spaces off. Added tokens are written
// as their text rather than run through the ByteLevel decoder: that is what transformers.js
// (and so the golden files) does; Hugging Face's Rust code has varied across releases here,
// and it only matters for added tokens made of byte-level alphabet characters (DeepSeek-LLM's
// 13 one-character byte tokens). Invalid UTF-8 becomes U+FFFD per maximal subpart, as Rust's
// String::from_utf8_lossy does. StreamDecoder produces the same text token by token.
//
// Regular expressions. HF compiles Split patterns with Oniguruma, which has look-ahead
// (\s+(?!\S)) that Go's regexp lacks, and whose \s is Unicode White_Space. Patterns are parsed
// by github.com/dlclark/regexp2/v2, whose \s, \p{..} and case folding match that, with '^'/'$'
// as line anchors (Oniguruma's default syntax). A small backtracking matcher (rxmatch.go) then
// runs the parse tree for the constructs pre-tokenizer patterns use; anything else runs on
// regexp2 itself. The matcher exists for speed (regexp2's per-call set-up dominated pipelines
// that run five patterns over many small pieces) and is checked against regexp2 by
// TestRegexMatcherAgainstRegexp2 and FuzzRegexMatcher.
//
// Other hand-written parts and why: the JSON scanner (jsonscan.go) parses the vocab and
// merges directly, since encoding/json spent most of a load on them through reflection; the
// byte trie for added tokens replaces an Aho-Corasick library (lists are short); the UTF-8
// replacement is written out because Go's standard functions replace invalid bytes one by one
// or run by run, not per maximal subpart.
//
// Its speed, with the command that measures it, is in docs/performance.md ("The tokenizer,
// measured").
//
// Tokenizers are safe for concurrent use. Encoding caches the BPE result of each word up to
// 256 bytes (100,000 words at most per tokenizer).
package tokenizer
