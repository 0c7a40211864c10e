package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/janus-desktop/janus/model"
)

// waitFor polls cond until it holds, failing the test after a generous deadline (a hung
// server, not a slow one).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestQueueOrder: tickets run one at a time in the order they queued; one whose context ends
// while it waits leaves the queue and never runs.
func TestQueueOrder(t *testing.T) {
	q := newQueue(8)
	first, _, _ := q.admit()
	if err := first.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	gone, leave := context.WithCancel(context.Background())
	for i := range 5 {
		tk, _, ok := q.admit()
		if !ok {
			t.Fatal("not admitted")
		}
		ctx := context.Background()
		if i == 2 {
			ctx = gone
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer tk.done()
			if err := tk.wait(ctx); err != nil {
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
		}()
		waitFor(t, "ticket to queue", func() bool { _, w, _ := q.state(); return w == i+1 })
	}
	leave()
	waitFor(t, "cancelled ticket to leave", func() bool { _, w, _ := q.state(); return w == 4 })
	first.done()
	wg.Wait()
	if fmt.Sprint(order) != "[0 1 3 4]" {
		t.Errorf("ran in order %v, want [0 1 3 4]", order)
	}
	if busy, w, a := q.state(); busy || w != 0 || a != 0 {
		t.Errorf("after all: busy %v, %d waiting, %d admitted", busy, w, a)
	}
}

// holdFirstJob makes the server's next answer stop at its first piece until release is
// closed; started is closed when it is held.
func holdFirstJob(ts *testServer) (started, release chan struct{}) {
	started, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	ts.hooks.onText = func(ctx context.Context, _ int) {
		once.Do(func() {
			close(started)
			select {
			case <-release:
			case <-ctx.Done():
			}
		})
	}
	return started, release
}

// TestQueueFull: beyond the running request and MaxQueue waiting ones, requests get 429
// with Retry-After; the queued one runs after the first.
func TestQueueFull(t *testing.T) {
	ts := newTestServer(t, Options{MaxQueue: 1})
	started, release := holdFirstJob(ts)
	req := map[string]any{"max_tokens": 6, "messages": []any{userMsg("hi")}}
	results := make(chan int, 2)
	go func() {
		resp, _ := ts.post(t, "/v1/chat/completions", req)
		results <- resp.StatusCode
	}()
	<-started
	go func() {
		resp, _ := ts.post(t, "/v1/images/generations", map[string]any{"prompt": "x", "seed": 1})
		results <- resp.StatusCode
	}()
	waitFor(t, "second request to queue", func() bool { _, w, _ := ts.queue.state(); return w == 1 })
	for _, path := range []string{"/v1/chat/completions", "/v1/images/generations"} {
		resp, body := ts.post(t, path, req)
		checkError(t, "queue full", resp, body, 429, "queue_full", "")
		if e := decodeJSON[errorResp](t, body); !strings.Contains(e.Error.Message, "1 request is waiting") {
			t.Errorf("queue full: message %q does not say 1 request is waiting", e.Error.Message)
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
		}
	}
	close(release)
	for range 2 {
		if code := <-results; code != 200 {
			t.Errorf("a queued request got %d", code)
		}
	}
	// A handler leaves the queue just after its response is sent.
	waitFor(t, "the queue to drain", func() bool { busy, w, a := ts.queue.state(); return !busy && w == 0 && a == 0 })
}

// jobRecorder passes on the jobDone reports.
type jobRecorder struct {
	ch chan jobReport
}

type jobReport struct {
	kind   string
	tokens int
	err    error
}

func recordJobs(ts *testServer) *jobRecorder {
	r := &jobRecorder{ch: make(chan jobReport, 16)}
	ts.hooks.jobDone = func(kind string, tokens int, err error) { r.ch <- jobReport{kind, tokens, err} }
	return r
}

// TestDecodingOneAtATime: a request decodes its images only while it holds the server's one
// decoding slot (requests decode before they queue for the model, so each admitted one could
// hold a large photo's pixels at once), and one whose client leaves while it waits for the
// slot ends there, not decoding.
func TestDecodingOneAtATime(t *testing.T) {
	ts := newTestServer(t, Options{})
	jobs := recordJobs(ts)
	land, _ := fixtureImage(t, "synthetic_landscape_150x100.png")
	ts.decoding <- struct{}{} // another request decoding
	clientCtx, leave := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer leave()
	raw, _ := json.Marshal(map[string]any{"max_tokens": 2, "messages": []any{map[string]any{"role": "user", "content": []any{
		map[string]any{"type": "image_url", "image_url": map[string]any{"url": dataURL(land)}},
		map[string]any{"type": "text", "text": "what?"}}}}})
	req, _ := http.NewRequestWithContext(clientCtx, http.MethodPost, ts.url+"/v1/chat/completions", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d while another request held the decoding slot", resp.StatusCode)
	}
	select {
	case rep := <-jobs.ch:
		if !errors.Is(rep.err, context.Canceled) {
			t.Errorf("the request ended with %v, want context.Canceled", rep.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not end when its client left")
	}
	<-ts.decoding
	resp, body := ts.post(t, "/v1/chat/completions", json.RawMessage(raw))
	if resp.StatusCode != 200 {
		t.Fatalf("with the slot free: %d %s", resp.StatusCode, body)
	}
}

// TestCancelOnDisconnect: a client that leaves stops its job within one step: streamed or
// not, chat or image generation, running or still queued.
func TestCancelOnDisconnect(t *testing.T) {
	ts := newTestServer(t, Options{})
	jobs := recordJobs(ts)
	chatReq := func(stream bool) map[string]any {
		return map[string]any{"max_tokens": 400, "temperature": 1, "seed": 1, "stream": stream, "messages": []any{userMsg("Talk forever.")}}
	}
	for _, c := range []struct {
		name string
		path string
		body map[string]any
	}{
		{"chat", "/v1/chat/completions", chatReq(false)},
		{"chat streamed", "/v1/chat/completions", chatReq(true)},
		{"image", "/v1/images/generations", map[string]any{"prompt": "x", "seed": 3}},
		{"image streamed", "/v1/images/generations", map[string]any{"prompt": "x", "seed": 3, "stream": true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			clientCtx, leave := context.WithCancel(context.Background())
			const at = 3
			var after int // steps or pieces seen after the client left
			var mu sync.Mutex
			left := false
			step := func(ctx context.Context, n int) {
				mu.Lock()
				defer mu.Unlock()
				if left {
					after++
					return
				}
				if n == at {
					left = true
					leave()
					select {
					case <-ctx.Done():
					case <-time.After(30 * time.Second):
						t.Error("the job's context did not end when the client left")
					}
				}
			}
			ts.hooks.onText = step
			ts.hooks.onStep = func(ctx context.Context, p model.ImageProgress) { step(ctx, p.Token) }
			raw, _ := json.Marshal(c.body)
			req, _ := http.NewRequestWithContext(clientCtx, http.MethodPost, ts.url+c.path, bytes.NewReader(raw))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				// A stream's headers come first; reading its body fails once the client leaves.
				_, err = bytes.NewBuffer(nil).ReadFrom(resp.Body)
				resp.Body.Close()
			}
			if err == nil {
				t.Fatal("the request completed although the client left")
			}
			rep := <-jobs.ch
			if !errors.Is(rep.err, context.Canceled) {
				t.Errorf("job ended with %v, want context.Canceled", rep.err)
			}
			mu.Lock()
			defer mu.Unlock()
			// After the disconnect the job may finish the step it was in: a chat gives that
			// token's piece and its stream decoder may flush one more (2 in a CI run on a busy
			// machine); a generation takes no further step.
			if after > 2 {
				t.Errorf("%d more steps after the client left", after)
			}
		})
	}

	// A client that leaves while queued leaves the queue.
	started, release := holdFirstJob(ts)
	ts.hooks.onStep = nil
	first := make(chan int, 1)
	go func() {
		resp, _ := ts.post(t, "/v1/chat/completions", map[string]any{"max_tokens": 4, "messages": []any{userMsg("hi")}})
		first <- resp.StatusCode
	}()
	<-started
	clientCtx, leave := context.WithCancel(context.Background())
	queued := make(chan error, 1)
	go func() {
		raw, _ := json.Marshal(map[string]any{"prompt": "x"})
		req, _ := http.NewRequestWithContext(clientCtx, http.MethodPost, ts.url+"/v1/images/generations", bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		queued <- err
	}()
	waitFor(t, "request to queue", func() bool { _, w, _ := ts.queue.state(); return w == 1 })
	leave()
	if rep := <-jobs.ch; rep.kind != "image" || !errors.Is(rep.err, context.Canceled) {
		t.Errorf("queued job ended with %+v", rep)
	}
	if err := <-queued; err == nil {
		t.Error("the queued request completed although its client left")
	}
	waitFor(t, "queue to empty", func() bool { _, w, _ := ts.queue.state(); return w == 0 })
	close(release)
	if code := <-first; code != 200 {
		t.Errorf("first request: %d", code)
	}
	<-jobs.ch
}

// TestTurn: with Options.Turn the server's jobs wait for the app's turn on the model, a
// client that leaves while waiting for it cancels its job, and every turn taken is given
// back.
func TestTurn(t *testing.T) {
	gate := make(chan struct{}, 1) // the app's turn: full while the app runs a task
	var mu sync.Mutex
	taken, given := 0, 0
	ts := newTestServer(t, Options{Turn: func(ctx context.Context) (func(), error) {
		select {
		case gate <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		mu.Lock()
		taken++
		mu.Unlock()
		return func() {
			mu.Lock()
			given++
			mu.Unlock()
			<-gate
		}, nil
	}})
	jobs := recordJobs(ts)
	req := map[string]any{"max_tokens": 3, "messages": []any{userMsg("hi")}}
	chatOK(t, ts, req)

	gate <- struct{}{} // the app starts a long task
	clientCtx, leave := context.WithCancel(context.Background())
	failed := make(chan error, 1)
	go func() {
		raw, _ := json.Marshal(req)
		hr, _ := http.NewRequestWithContext(clientCtx, http.MethodPost, ts.url+"/v1/chat/completions", bytes.NewReader(raw))
		hr.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(hr)
		if err == nil {
			resp.Body.Close()
		}
		failed <- err
	}()
	<-jobs.ch // the first request's report
	waitFor(t, "the request to wait for the model", func() bool { busy, _, _ := ts.queue.state(); return busy })
	leave()
	if rep := <-jobs.ch; !errors.Is(rep.err, context.Canceled) {
		t.Errorf("the job waiting for its turn ended with %v", rep.err)
	}
	if err := <-failed; err == nil {
		t.Error("the request completed although its client left")
	}
	<-gate // the app's task ends
	chatOK(t, ts, req)
	waitFor(t, "the queue to drain", func() bool { busy, w, a := ts.queue.state(); return !busy && w == 0 && a == 0 })
	mu.Lock()
	defer mu.Unlock()
	if taken != 2 || given != 2 {
		t.Errorf("%d turns taken, %d given back; want 2 and 2", taken, given)
	}
}

// TestQueueFullMessage: the 429's message counts requests and seconds in words that read right.
func TestQueueFullMessage(t *testing.T) {
	for _, c := range []struct {
		waiting, retry int
		want           string
	}{
		{1, 1, "the server is busy: 1 request is waiting (or still being sent) behind the running one; retry in about 1 second"},
		{16, 40, "the server is busy: 16 requests are waiting (or still being sent) behind the running one; retry in about 40 seconds"},
	} {
		e := queueFull(c.waiting, c.retry)
		if e.message != c.want || e.status != 429 || e.retryAfter != c.retry {
			t.Errorf("queueFull(%d, %d) = %d %q (Retry-After %d), want 429 %q", c.waiting, c.retry, e.status, e.message, e.retryAfter, c.want)
		}
	}
}

// TestRetryAfterCountsTheRunningJob: the job running for longer than the average makes
// Retry-After at least as long as it has run (a fresh server said 1 s while its first job
// ran for minutes); every other admitted request adds the average, whether it waits or is
// still sending its body (those were left out: a burst was told 4 s and waited 10).
func TestRetryAfterCountsTheRunningJob(t *testing.T) {
	q := newQueue(2)
	running, _, _ := q.admit()
	if err := running.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	sending, _, _ := q.admit() // admitted, its body not yet read: not waiting yet
	q.mu.Lock()
	q.since = time.Now().Add(-29500 * time.Millisecond)
	got := q.retryAfterLocked()
	q.mu.Unlock()
	if got != 31 {
		t.Errorf("Retry-After %d s with a job running for 29.5 s and one being sent (average 1 s), want 31", got)
	}
	sending.done()
	running.done()
	q.mu.Lock()
	defer q.mu.Unlock()
	if got := q.retryAfterLocked(); got < 1 || got > 30 {
		t.Errorf("Retry-After %d s with nothing running, want about the average", got)
	}
}
