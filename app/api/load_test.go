package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/janus-desktop/janus/model"
)

// TestLoad32Clients: 32 clients on 127.0.0.1 send at once (chat streamed and not, with and
// without an image, and image generations), each with its own prompt and seed; every one
// gets exactly the answer the model gives that request alone, so no request was lost,
// answered twice or mixed with another.
func TestLoad32Clients(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	const clients = 32
	ts := newTestServer(t, Options{MaxQueue: clients})
	m := ts.m
	land, _ := fixtureImage(t, "synthetic_landscape_150x100.png")
	landImg, err := m.DecodeImage("land", land)
	if err != nil {
		t.Fatal(err)
	}

	type job struct {
		path   string
		body   map[string]any
		stream bool
		want   string // the answer, or the image pixels as a string
	}
	jobs := make([]job, clients)
	for i := range jobs {
		if i%4 == 3 {
			prompt := fmt.Sprintf("picture number %d", i)
			res, err := m.GenerateImages(context.Background(), prompt,
				model.GenerateImageOptions{N: 1, CFG: 5, Temperature: 1, Seed: uint64(100 + i), MaxMemoryBytes: -1}, nil)
			if err != nil {
				t.Fatal(err)
			}
			jobs[i] = job{path: "/v1/images/generations", body: map[string]any{"prompt": prompt, "seed": 100 + i},
				want: string(res.Images[0].Pix)}
			continue
		}
		q := fmt.Sprintf("Question %d: what do you see?", i)
		var imgs []*model.Image
		msg := userMsg(q)
		if i%2 == 0 {
			imgs = []*model.Image{landImg}
			msg = userMsg(q, dataURL(land))
		}
		res, err := m.Understand(context.Background(), q, imgs,
			model.AnswerOptions{MaxNewTokens: 16, Temperature: 1, TopP: model.DefaultTopP, TopK: model.DefaultTopK, Seed: uint64(i)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		jobs[i] = job{path: "/v1/chat/completions", stream: i%3 == 0, want: res.Text,
			body: map[string]any{"max_tokens": 16, "temperature": 1, "seed": i, "stream": i%3 == 0, "messages": []any{msg}}}
	}

	wants := map[string]bool{}
	for _, j := range jobs {
		wants[j.want] = true
	}
	if len(wants) != clients {
		t.Fatalf("only %d distinct answers for %d requests: a mix-up could go unnoticed", len(wants), clients)
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := map[string]int{}
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw, _ := json.Marshal(j.body)
			<-start
			resp, err := client.Post(ts.url+j.path, "application/json", bytes.NewReader(raw))
			if err != nil {
				t.Errorf("client %d: %v", i, err)
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				t.Errorf("client %d: status %d, %v: %.200s", i, resp.StatusCode, err, body)
				return
			}
			got, id := "", ""
			switch {
			case j.path == "/v1/images/generations":
				r := decodeJSON[imagesResp](t, body)
				img, _ := decodePNG(t, b64(t, r.Data[0].B64JSON))
				got, id = string(img.Pix), fmt.Sprint("image", r.Created, i)
			case j.stream:
				_, data := sseEvents(t, body)
				var text strings.Builder
				for _, d := range data[:len(data)-1] {
					var c struct {
						ID      string
						Choices []struct{ Delta struct{ Content string } }
					}
					if err := json.Unmarshal([]byte(d), &c); err != nil {
						t.Errorf("client %d: %v", i, err)
						return
					}
					id = c.ID
					if len(c.Choices) > 0 {
						text.WriteString(c.Choices[0].Delta.Content)
					}
				}
				got = text.String()
			default:
				c := decodeJSON[completion](t, body)
				got, id = c.content(t), c.ID
			}
			if got != j.want {
				t.Errorf("client %d got another answer than its own (%.40q, want %.40q)", i, got, j.want)
			}
			mu.Lock()
			ids[id]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if len(ids) != clients {
		t.Errorf("%d distinct response ids for %d clients", len(ids), clients)
	}
	// A handler leaves the queue just after its response is sent.
	waitFor(t, "the queue to drain", func() bool { busy, w, a := ts.queue.state(); return !busy && w == 0 && a == 0 })
}
