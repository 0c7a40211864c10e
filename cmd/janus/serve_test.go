package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/internal/pngfile"
)

// lockedBuffer is a stderr the server goroutine and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServe runs `janus serve args` on a free loopback port until the test ends and
// returns its base URL.
func startServe(t *testing.T, args ...string) (string, *lockedBuffer) {
	t.Helper()
	return startServeIn(t, nil, args...)
}

// startServeIn is startServe with the folders --model NAME is looked up in.
func startServeIn(t *testing.T, roots []string, args ...string) (string, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &lockedBuffer{}
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, append(args, "--addr", "127.0.0.1:0", "--threads", "2"), io.Discard, stderr, roots, func(a string) { addr <- a })
	}()
	select {
	case a := <-addr:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v\n%s", err, stderr)
			}
		})
		return "http://" + a, stderr
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v\n%s", err, stderr)
	}
	return "", nil
}

func postJSON(t *testing.T, url string, body any) []byte {
	t.Helper()
	raw, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d %v: %s", url, resp.StatusCode, err, out)
	}
	return out
}

// TestServeMatchesCLI: `janus serve` answers as `janus understand` does for the same
// question, image and sampling flags, and its PNGs are, byte for byte, the files `janus
// generate` writes for the same prompt, seeds, CFG and temperature.
func TestServeMatchesCLI(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	imgPath := fixtures.Path(t, "inputs", "synthetic_landscape_150x100.png")
	url, stderr := startServe(t, "--model", dir)
	if !strings.Contains(stderr.String(), "serving tiny-a on http://127.0.0.1:") {
		t.Errorf("stderr does not say where it serves:\n%s", stderr)
	}

	for _, flags := range [][]string{
		{"--max-new-tokens", "20"},
		{"--max-new-tokens", "20", "--temperature", "0.8", "--seed", "5", "--top-p", "0.9", "--top-k", "20"},
	} {
		var out, errOut bytes.Buffer
		args := append([]string{"--model", dir, "--image", imgPath, "--prompt", "What is in the picture?", "--json", "--threads", "2"}, flags...)
		if err := runUnderstand(context.Background(), args, strings.NewReader(""), &out, &errOut); err != nil {
			t.Fatalf("understand: %v\n%s", err, errOut.String())
		}
		var cli understandResult
		if err := json.Unmarshal(out.Bytes(), &cli); err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(imgPath)
		req := map[string]any{"model": "tiny-a", "messages": []any{map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:image/png;base64," + base64.StdEncoding.EncodeToString(raw)}},
			map[string]any{"type": "text", "text": "What is in the picture?"},
		}}}}
		for i := 0; i+1 < len(flags); i += 2 {
			key := map[string]string{"--max-new-tokens": "max_tokens", "--temperature": "temperature", "--seed": "seed", "--top-p": "top_p", "--top-k": "top_k"}[flags[i]]
			var v any
			_ = json.Unmarshal([]byte(flags[i+1]), &v)
			req[key] = v
		}
		var got struct {
			Choices []struct{ Message struct{ Content string } }
			Usage   struct{ PromptTokens, CompletionTokens int } `json:"usage"`
		}
		body := postJSON(t, url+"/v1/chat/completions", req)
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Choices) != 1 || got.Choices[0].Message.Content != cli.Text {
			t.Errorf("flags %v: server %s, janus understand %q", flags, body, cli.Text)
		}
	}

	outDir := t.TempDir()
	res, errOut, err := runGen(t, "--model", dir, "--prompt", "A red fox", "--n", "2", "--seed", "9", "--cfg", "3",
		"--temperature", "0.8", "--out", filepath.Join(outDir, "fox.png"), "--threads", "2")
	if err != nil {
		t.Fatalf("generate: %v\n%s", err, errOut)
	}
	body := postJSON(t, url+"/v1/images/generations", map[string]any{"prompt": "A red fox", "n": 2, "seed": 9, "cfg": 3, "temperature": 0.8})
	var got struct {
		Data []struct {
			B64JSON string `json:"b64_json"`
		}
	}
	if err := json.Unmarshal(body, &got); err != nil || len(got.Data) != 2 {
		t.Fatalf("images: %v %.200s", err, body)
	}
	for i, path := range res.paths() {
		file, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		png, err := base64.StdEncoding.DecodeString(got.Data[i].B64JSON)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(png, file) {
			t.Errorf("image %d: the server's PNG (%d bytes) is not %s (%d bytes)", i, len(png), path, len(file))
		}
		// Same pixels and text chunks, decoded (says which differs, should the bytes).
		if !bytes.Equal(decodePNGBytes(t, png), decodePNG(t, path)) {
			t.Errorf("image %d: pixels differ", i)
		}
		gotText, err1 := pngfile.ReadText(png)
		wantText, err2 := pngfile.ReadText(file)
		if err1 != nil || err2 != nil || !slices.Equal(gotText, wantText) || len(wantText) < 6 {
			t.Errorf("image %d: text chunks %v (%v), janus generate's %v (%v)", i, gotText, err1, wantText, err2)
		}
	}
}

// decodePNGBytes is decodePNG for bytes in memory.
func decodePNGBytes(t *testing.T, raw []byte) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.png")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return decodePNG(t, path)
}

// TestServeModelChoice: without --model the first complete model found is served, named as
// 'janus models' names it, and the others are listed as not loaded.
func TestServeModelChoice(t *testing.T) {
	src := fixtures.Path(t, "models", "tiny-a")
	root := t.TempDir()
	for _, name := range []string{"alpha", "beta"} {
		dst := filepath.Join(root, name)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		files, _ := os.ReadDir(src)
		for _, f := range files {
			if err := os.Symlink(filepath.Join(src, f.Name()), filepath.Join(dst, f.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	done := make(chan error, 1)
	stderr := &lockedBuffer{}
	go func() {
		done <- serve(ctx, []string{"--addr", "127.0.0.1:0", "--threads", "1"}, io.Discard, stderr, []string{root}, func(a string) { addr <- a })
	}()
	var url string
	select {
	case a := <-addr:
		url = "http://" + a
	case err := <-done:
		t.Fatalf("serve: %v\n%s", err, stderr)
	}
	resp, err := http.Get(url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Data []struct {
			ID     string
			Loaded bool
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil || len(list.Data) != 2 || list.Data[0].ID != "alpha" || !list.Data[0].Loaded || list.Data[1].ID != "beta" || list.Data[1].Loaded {
		t.Errorf("models: %+v %v", list, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	if !strings.Contains(stderr.String(), "stopped") {
		t.Errorf("no 'stopped' on stderr:\n%s", stderr)
	}
}

// TestServeWeights: serve loads the weight format and precision its flags name, as janus
// understand does: with Q4 weights both give the same answer, which is not the answer of
// the stored weights (on tiny-a, Q4 changes the greedy tokens).
func TestServeWeights(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	imgPath := fixtures.Path(t, "inputs", "synthetic_landscape_150x100.png")
	raw, err := os.ReadFile(imgPath)
	if err != nil {
		t.Fatal(err)
	}
	understand := func(flags ...string) string {
		var out, errOut bytes.Buffer
		args := append([]string{"--model", dir, "--image", imgPath, "--prompt", "What is in the picture?", "--json", "--threads", "2", "--max-new-tokens", "12"}, flags...)
		if err := runUnderstand(context.Background(), args, strings.NewReader(""), &out, &errOut); err != nil {
			t.Fatalf("understand %v: %v\n%s", flags, err, errOut.String())
		}
		var r understandResult
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		return r.Text
	}
	flags := []string{"--weights", "q4", "--precision", "bf16"}
	url, _ := startServe(t, append([]string{"--model", dir}, flags...)...)
	body := postJSON(t, url+"/v1/chat/completions", map[string]any{"model": "tiny-a", "max_tokens": 12, "messages": []any{map[string]any{"role": "user", "content": []any{
		map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:image/png;base64," + base64.StdEncoding.EncodeToString(raw)}},
		map[string]any{"type": "text", "text": "What is in the picture?"},
	}}}})
	var got struct {
		Choices []struct{ Message struct{ Content string } }
	}
	if err := json.Unmarshal(body, &got); err != nil || len(got.Choices) != 1 {
		t.Fatalf("server answered %s (%v)", body, err)
	}
	want, stored := understand(flags...), understand("--weights", "stored")
	if got.Choices[0].Message.Content != want {
		t.Errorf("serve %v answered %q, janus understand %q", flags, got.Choices[0].Message.Content, want)
	}
	if want == stored {
		t.Errorf("Q4 and the stored weights both answer %q: the test shows nothing here", want)
	}
}

func TestServeFlagErrors(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", dir, "--addr", "nonsense"}, "want HOST:PORT"},
		{[]string{"--model", dir, "--max-queue", "0"}, "--max-queue 0"},
		{[]string{"--model", dir, "--threads", "-1"}, "--threads -1"},
		{[]string{"--model", dir, "--weights", "q3"}, `--weights "q3"`},
		{[]string{"--model", dir, "--precision", "fp8"}, "precision"},
		{[]string{"--weights", "q3"}, `--weights "q3"`}, // before looking for a model
		{[]string{"--model", dir, "--allow-images-from", filepath.Join(t.TempDir(), "none")}, "is not a folder"},
		{[]string{"--model", filepath.Join(t.TempDir(), "none")}, "none"},
		{[]string{}, "no model found"},
		{[]string{"--model", dir, "stray"}, "unexpected argument"},
		{[]string{"--model", dir, "--addr", "127.0.0.1:99999"}, "--addr 127.0.0.1:99999: the port must be 1–65535"},
		{[]string{"--model", dir, "--addr", "127.0.0.1:http"}, "--addr 127.0.0.1:http: the port must be 1–65535"},
	} {
		// Any free port, unless the case names one: the default may be in use on this machine.
		args := append([]string{"--addr", "127.0.0.1:0"}, c.args...)
		var stderr bytes.Buffer
		err := serve(context.Background(), args, io.Discard, &stderr, nil, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("serve %q: %v, want an error with %q", c.args, err, c.want)
		}
		if strings.Contains(c.want, "--addr") && strings.Contains(stderr.String(), "loading") {
			t.Errorf("serve %q loads the model before it checks --addr:\n%s", c.args, stderr.String())
		}
	}
}

// TestServeListens: janus serve opens its port before it loads the model, so a busy port
// is told at once and in words; a failed load closes the port again.
func TestServeListens(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	var stderr bytes.Buffer
	err = serve(context.Background(), []string{"--model", dir, "--addr", busy.Addr().String()}, io.Discard, &stderr, nil, nil)
	want := "port " + port + " on 127.0.0.1 is already in use (another `janus serve`, or the desktop app's API switch, which also defaults to 8765?): choose another with --addr"
	if err == nil || err.Error() != want {
		t.Errorf("on a busy port: %v, want %q", err, want)
	}
	if strings.Contains(stderr.String(), "loading") {
		t.Errorf("on a busy port the model was loaded first:\n%s", stderr.String())
	}

	// A model that fails to load, on a port that was free: the port is free again after.
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := free.Addr().String()
	free.Close()
	err = serve(context.Background(), []string{"--model", filepath.Join(t.TempDir(), "none"), "--addr", addr}, io.Discard, io.Discard, nil, nil)
	if err == nil {
		t.Fatal("serve of a missing model succeeded")
	}
	again, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("after a failed load the port is still open: %v", err)
	}
	again.Close()
}

func TestIsLoopback(t *testing.T) {
	for _, c := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8765", true}, {"localhost:1", true}, {"[::1]:80", true}, {"127.0.0.2:80", true},
		{"0.0.0.0:8765", false}, {":8765", false}, {"192.168.1.4:80", false}, {"[::]:80", false}, {"example.com:80", false},
	} {
		if got, err := isLoopback(c.addr); err != nil || got != c.want {
			t.Errorf("isLoopback(%q) = %v, %v; want %v", c.addr, got, err, c.want)
		}
	}
	if _, err := isLoopback("8765"); err == nil {
		t.Error("isLoopback accepts a bare port")
	}
}

// TestServeWarnsWithoutKey: listening beyond loopback without a key prints a warning; with a
// key (flag or JANUS_API_KEY) it does not.
func TestServeWarnsWithoutKey(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	for _, c := range []struct {
		args []string
		env  string
		warn bool
	}{
		{[]string{"--addr", "0.0.0.0:0"}, "", true},
		{[]string{"--addr", "0.0.0.0:0", "--api-key", "k"}, "", false},
		{[]string{"--addr", "0.0.0.0:0"}, "k", false},
		{[]string{"--addr", "127.0.0.1:0"}, "", false},
	} {
		t.Setenv("JANUS_API_KEY", c.env)
		ctx, cancel := context.WithCancel(context.Background())
		stderr := &lockedBuffer{}
		done := make(chan error, 1)
		go func() {
			done <- serve(ctx, append([]string{"--model", dir, "--threads", "1"}, c.args...), io.Discard, stderr, nil, func(string) { cancel() })
		}()
		if err := <-done; err != nil {
			t.Fatalf("serve %v: %v", c.args, err)
		}
		cancel()
		if got := strings.Contains(stderr.String(), "warning:"); got != c.warn {
			t.Errorf("serve %v (JANUS_API_KEY %q): warning %v, want %v:\n%s", c.args, c.env, got, c.warn, stderr)
		}
		// On all interfaces, the URL printed is one a client can use, and the line says so.
		all := strings.HasPrefix(c.args[1], "0.0.0.0")
		if !strings.Contains(stderr.String(), "serving tiny-a on http://127.0.0.1:") || strings.Contains(stderr.String(), "[::]") ||
			strings.Contains(stderr.String(), "listens on all interfaces") != all {
			t.Errorf("serve %v: stderr does not say where to reach it:\n%s", c.args, stderr)
		}
	}
}

// TestServeKeyTrimmed: a key with a newline or spaces around it (JANUS_API_KEY read from a
// file, a pasted --api-key) is the key without them; one of only whitespace, which would
// leave the server open, is refused before the model loads.
func TestServeKeyTrimmed(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	for _, c := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--api-key", " \n"}, "", "--api-key is only whitespace"},
		{nil, "\t ", "JANUS_API_KEY is only whitespace"},
	} {
		t.Setenv("JANUS_API_KEY", c.env)
		ctx, cancel := context.WithCancel(context.Background())
		stderr := &lockedBuffer{}
		// Should it start, it stops at once: the test then fails instead of serving on.
		err := serve(ctx, append([]string{"--model", dir, "--addr", "127.0.0.1:0"}, c.args...), io.Discard, stderr, nil, func(string) { cancel() })
		cancel()
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(stderr.String(), "loading") {
			t.Errorf("serve %q (JANUS_API_KEY %q): %v, want an error with %q before loading:\n%s", c.args, c.env, err, c.want, stderr)
		}
	}
	for _, c := range []struct {
		args []string
		env  string
	}{
		{nil, "sesame\n"},
		{[]string{"--api-key", " sesame "}, ""},
	} {
		t.Setenv("JANUS_API_KEY", c.env)
		url, _ := startServe(t, append([]string{"--model", dir}, c.args...)...)
		for header, want := range map[string]int{"Bearer sesame": http.StatusOK, "": http.StatusUnauthorized} {
			req, _ := http.NewRequest(http.MethodGet, url+"/v1/models", nil)
			if header != "" {
				req.Header.Set("Authorization", header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("serve %q (JANUS_API_KEY %q), Authorization %q: status %d, want %d", c.args, c.env, header, resp.StatusCode, want)
			}
		}
	}
}

// TestServeAllowHost: requests must name the server as localhost, its address or a name
// --allow-host gives; a DNS rebinding page's name gets 421.
func TestServeAllowHost(t *testing.T) {
	url, _ := startServe(t, "--model", fixtures.Path(t, "models", "tiny-a"), "--allow-host", "mybox.local, other.lan")
	for _, c := range []struct {
		host string
		want int
	}{
		{"", http.StatusOK}, // the URL's own 127.0.0.1:PORT
		{"localhost", http.StatusOK},
		{"MyBox.local:8765", http.StatusOK},
		{"other.lan", http.StatusOK},
		{"attacker.example", http.StatusMisdirectedRequest},
	} {
		req, err := http.NewRequest(http.MethodGet, url+"/v1/models", nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.host != "" {
			req.Host = c.host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("Host %q: status %d, want %d", c.host, resp.StatusCode, c.want)
		}
	}
}

// TestServeModelNames: the model served is also known by the name `janus models` lists and
// its repository id, however --model spelled it; the other models exclude it and are each
// listed once.
func TestServeModelNames(t *testing.T) {
	entries := []app.ModelEntry{
		{Name: "Janus-Pro-1B", Repo: "deepseek-ai/Janus-Pro-1B", Path: "/hub/pro1b/snapshots/abc", Complete: true},
		{Name: "Janus-Pro-7B", Repo: "deepseek-ai/Janus-Pro-7B", Path: "/hub/pro7b/snapshots/def", Complete: true},
		{Name: "Janus-Pro-1B", Path: "/models/Janus-Pro-1B", Complete: true}, // a second copy
		{Name: "Janus-1.3B", Path: "/models/Janus-1.3B"},                     // incomplete
		{Name: "mine", Path: "/models/mine", Complete: true},
	}
	for _, c := range []struct {
		dir, name      string
		aliases, other []string
	}{
		{"/hub/pro1b/snapshots/abc", "Janus-Pro-1B", []string{"deepseek-ai/Janus-Pro-1B"}, []string{"Janus-Pro-7B", "mine"}},
		{"/hub/pro1b/snapshots/abc", "janus-pro-1b", []string{"deepseek-ai/Janus-Pro-1B"}, []string{"Janus-Pro-7B", "mine"}},
		{"/hub/pro1b/snapshots/abc", "abc", []string{"Janus-Pro-1B", "deepseek-ai/Janus-Pro-1B"}, []string{"Janus-Pro-7B", "mine"}},
		{"/models/mine/", "mine", nil, []string{"Janus-Pro-1B", "Janus-Pro-7B"}},
		{"/elsewhere/x", "x", nil, []string{"Janus-Pro-1B", "Janus-Pro-7B", "mine"}},
	} {
		aliases, others := modelNames(entries, c.dir, c.name)
		if !slices.Equal(aliases, c.aliases) || !slices.Equal(others, c.other) {
			t.Errorf("%s as %q: aliases %q, others %q; want %q, %q", c.dir, c.name, aliases, others, c.aliases, c.other)
		}
	}
}
