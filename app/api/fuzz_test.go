package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
)

// FuzzParseRequests: no request body makes the checks panic, and what they accept is a
// conversation the model can take (alternating turns, first and last the user's) or a
// generation within the limits.
func FuzzParseRequests(f *testing.F) {
	for _, seed := range []string{
		`{"model": "default", "messages": [{"role": "user", "content": "hi"}]}`,
		`{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}], "stop": ["x"], "max_tokens": 5, "temperature": 0.5, "top_p": 0.9, "seed": 3}`,
		`{"messages": [{"role": "user", "content": null}, {"role": "user", "content": [{"type": "image_url", "image_url": "file:///x.png"}]}]}`,
		`{"prompt": "a fox", "n": 3, "seed": 1, "cfg": 4.5, "temperature": 0, "size": "96x96", "stream": true, "partial_images": 2}`,
		`{"messages": [{"role": "assistant", "content": "x"}]}`,
		`{"messages": "x", "stop": 3}`,
		`[]`, `null`, `{"n": -1}`,
	} {
		f.Add([]byte(seed))
	}
	m := tinyA(f)
	s, err := NewServer(m, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var cr chatRequest
		if json.Unmarshal(body, &cr) == nil {
			job, e := s.parseChat(context.Background(), &cr)
			if (job == nil) == (e == nil) {
				t.Fatalf("parseChat gave job %v and error %v", job, e)
			}
			if job != nil {
				turns := job.turns
				if len(turns)%2 != 1 {
					t.Fatalf("%d turns: want the user's last", len(turns))
				}
				for i, tr := range turns {
					if tr.assistant != (i%2 == 1) || (tr.assistant && len(tr.images) > 0) {
						t.Fatalf("turn %d is from the wrong speaker or an answer holds images", i)
					}
				}
				if o := job.opts; o.MaxNewTokens < 1 || o.MaxNewTokens > s.lim.MaxTokens || o.Validate() != nil {
					t.Fatalf("accepted options %+v", o)
				}
			}
			if e != nil && (e.status < 400 || e.status > 499 || e.message == "") {
				t.Fatalf("error %+v", e)
			}
		}
		var ir imageRequest
		if json.Unmarshal(body, &ir) == nil {
			job, e := s.parseImages(context.Background(), &ir)
			if (job == nil) == (e == nil) {
				t.Fatalf("parseImages gave job %v and error %v", job, e)
			}
			if job != nil && (job.opts.N < 1 || job.opts.N > MaxImagesPerGeneration || job.prompt == "" || job.opts.Validate() != nil) {
				t.Fatalf("accepted %+v", job.opts)
			}
		}
	})
}
