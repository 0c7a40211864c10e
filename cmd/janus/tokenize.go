package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/janus-desktop/janus/model/tokenizer"
)

// runTokenize is `janus tokenize`: it encodes JSON strings read line by line from stdin to
// JSON arrays of token ids, or with --decode turns arrays of ids back into JSON strings.
func runTokenize(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("tokenize", stdout, stderr, "janus tokenize --tokenizer FILE|DIR|NAME [--decode] < lines", "",
		"Each input line is a JSON string, text in double quotes such as \"Hello\" (jq -R . quotes plain lines),",
		"or, with --decode, a JSON array of ids such as [270,266]; blank lines are skipped;",
		"each output line is its JSON array of ids (or decoded JSON string).", "")
	path := fs.String("tokenizer", "", "tokenizer.json file, model folder, or the name of a model 'janus models' lists (required)")
	decode := fs.Bool("decode", false, "read JSON arrays of ids and write the decoded JSON strings")
	addSpecial := fs.Bool("add-special", false, "when encoding, add the post-processor's special tokens (e.g. BOS)")
	skipSpecial := fs.Bool("skip-special", false, "when decoding, leave special tokens out")
	if err := parseArgs(fs, args, ""); err != nil {
		return err
	}
	if *path == "" {
		return usageError{errors.New("--tokenizer is required: a tokenizer.json, a model folder or the name of a model 'janus models' lists (janus tokenize -h lists the flags)")}
	}
	src, err := resolveTokenizer(*path)
	if err != nil {
		return err
	}
	tok, err := tokenizer.Load(src)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(stdout)
	err = eachLine(stdin, func(n int, line []byte) error {
		if len(bytes.TrimSpace(line)) == 0 {
			return nil // a blank line (often the last one of a hand-made file) holds no input
		}
		if *decode {
			return decodeLine(out, tok, n, line, *skipSpecial)
		}
		return encodeLine(out, tok, n, line, *addSpecial)
	})
	if ferr := out.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("write output: %w", ferr)
	}
	return err
}

// resolveTokenizer turns --tokenizer into a tokenizer.json file or a folder: a file is taken
// as given, anything else as resolveModel takes a --model.
func resolveTokenizer(arg string) (string, error) {
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		return arg, nil
	}
	return resolveModel(arg)
}

// eachLine calls fn with every line of r (1-based numbers), without its line ending.
func eachLine(r io.Reader, fn func(n int, line []byte) error) error {
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if ferr := fn(n, bytes.TrimRight(line, "\r\n")); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read input line %d: %w", n, err)
		}
	}
}

func encodeLine(w *bufio.Writer, tok *tokenizer.Tokenizer, n int, line []byte, addSpecial bool) error {
	var text string
	if err := json.Unmarshal(line, &text); err != nil {
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte{'"'}) {
			// Meant as JSON: the decoder's words say where it goes wrong.
			return fmt.Errorf(`input line %d is not a valid JSON string (write " and \ inside it as \" and \\): %w`, n, err)
		}
		return fmt.Errorf(`input line %d is not a JSON string: each line must be text in double quotes, e.g. "Hello" (jq -R . quotes plain lines)`, n)
	}
	buf := []byte{'['}
	for i, id := range tok.Encode(text, addSpecial) {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, int64(id), 10)
	}
	buf = append(buf, ']', '\n')
	_, err := w.Write(buf)
	return err
}

func decodeLine(w *bufio.Writer, tok *tokenizer.Tokenizer, n int, line []byte, skipSpecial bool) error {
	var raw []int64
	if err := json.Unmarshal(line, &raw); err != nil {
		return fmt.Errorf("input line %d is not a JSON array of integer ids, e.g. [270,266]", n)
	}
	ids := make([]int32, len(raw))
	for i, v := range raw {
		if v < 0 || v > math.MaxInt32 {
			return fmt.Errorf("input line %d: id %d at index %d is out of range", n, v, i)
		}
		if _, ok := tok.IDToken(int32(v)); !ok {
			return fmt.Errorf("input line %d: id %d at index %d is out of range: the vocabulary has no such token (ids 0 to %d)", n, v, i, tok.VocabSize()-1)
		}
		ids[i] = int32(v)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // keep <, > and & readable in special tokens
	return enc.Encode(tok.Decode(ids, skipSpecial))
}
