// Package hubtest is a Hugging Face hub for tests: an httptest server that answers the
// requests the hub's clients make (ours, huggingface_hub's and huggingface.js's) for
// model repositories held in memory, with faults a test can inject.
//
// It serves the revision API (/api/models/REPO/revision/REV, with the siblings' blob ids,
// sizes and LFS sha256), the tree and paths-info APIs, and files at
// /REPO/resolve/REV/FILE: small files by a relative 307 redirect to
// /api/resolve-cache/models/REPO/COMMIT/FILE, with their git blob id as ETag, LFS files
// (weights) by a 302 redirect to an absolute CDN-like URL /cdn/SHA256 carrying
// X-Linked-Etag and X-Linked-Size, as the hub does. Every answer carries X-Repo-Commit; Range requests get
// 206 answers; errors carry the hub's X-Error-Code and X-Error-Message headers.
package hubtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
	"github.com/janus-desktop/janus/model/checkpoint"
	"github.com/janus-desktop/janus/model/checkpoint/checkpointtest"
)

// Request is one request the server saw.
type Request struct {
	Method string
	Path   string
	Range  string
	Auth   string
	Host   string
}

// Fault is trouble the server makes for the next request of a file's content (a GET of
// its bytes): each field applies once, except Corrupt.
type Fault struct {
	// Status5xx answers this many requests with 503.
	Status5xx int
	// DropAfter, when > 0, sends this many bytes of the answer and then breaks the
	// connection.
	DropAfter int64
	// StallAfter, when > 0, sends this many bytes and then sends nothing more until the
	// client goes away; Stalled is closed when that point is reached.
	StallAfter int64
	Stalled    chan struct{}
	// Corrupt flips one byte in the middle of every answer for the file.
	Corrupt bool
	// IgnoreRange answers every request for the file with all of it (200), as servers
	// without Range support do.
	IgnoreRange bool
}

type file struct {
	data []byte
	oid  string // git blob id
	lfs  string // sha256 for LFS files, else ""
}

type repo struct {
	commit string
	refs   map[string]string
	files  map[string]*file
}

// Server is the fake hub. Its fields may be set before the first request; use the
// methods afterwards.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	repos    map[string]*repo
	token    string
	gate     string
	bare     bool
	cdn      *httptest.Server
	faults   map[string]*Fault
	requests []Request
}

// New starts a hub serving no repositories; it is closed when t ends.
func New(t testing.TB) *Server {
	s := &Server{repos: map[string]*repo{}, faults: map[string]*Fault{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// IsLFS tells which files the fake hub stores in LFS: weights, as the real repositories do.
func IsLFS(name string) bool {
	return strings.HasSuffix(name, ".safetensors") || strings.HasSuffix(name, ".bin")
}

// AddRepo serves files as repository name at one commit, which main names; it returns the
// commit id.
func (s *Server) AddRepo(name string, files map[string][]byte) string {
	sum := sha1.Sum([]byte("commit of " + name))
	commit := hex.EncodeToString(sum[:])
	r := &repo{commit: commit, refs: map[string]string{"main": commit}, files: map[string]*file{}}
	for n, data := range files {
		f := &file{data: data, oid: GitBlobID(data)}
		if IsLFS(n) {
			s := sha256.Sum256(data)
			f.lfs = hex.EncodeToString(s[:])
		}
		r.files[n] = f
	}
	s.mu.Lock()
	s.repos[name] = r
	s.mu.Unlock()
	return commit
}

// AddTinyA serves the tiny-a fixture model as repository name and returns its commit.
func (s *Server) AddTinyA(t testing.TB, name string) string {
	return s.AddRepo(name, TinyAFiles(t))
}

// TinyAFiles reads the files of the tiny-a fixture model, with its weights as one
// model.safetensors, as the hub serves a model of Janus-Pro-1B's size (the fixture keeps
// them as shards).
func TinyAFiles(t testing.TB) map[string][]byte {
	t.Helper()
	dir := fixtures.Path(t, "models", "tiny-a")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if ok, _ := filepath.Match("model*.safetensors*", e.Name()); ok {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = raw
	}
	files["model.safetensors"] = oneFileWeights(t, dir)
	return files
}

// oneFileWeights returns the weights of the model folder dir as the bytes of one
// safetensors file, tensors in the folder's order.
func oneFileWeights(t testing.TB, dir string) []byte {
	t.Helper()
	ck, err := checkpoint.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	var tensors []checkpointtest.Tensor
	for _, info := range ck.Tensors() {
		raw, err := ck.Raw(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		tensors = append(tensors, checkpointtest.Tensor{Name: info.Name, DType: info.DType, Shape: info.Shape, Data: bytes.Clone(raw)})
	}
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := checkpointtest.WriteSafetensors(path, tensors, checkpointtest.Options{Metadata: map[string]string{"format": "pt"}}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// GitBlobID is git's id of a file's content, which the hub sends as the ETag of files
// not in LFS.
func GitBlobID(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// RequireToken makes every request need "Authorization: Bearer token" ("" for none).
func (s *Server) RequireToken(token string) {
	s.mu.Lock()
	s.token = token
	s.mu.Unlock()
}

// Gate makes file downloads (not the API) need "Authorization: Bearer token", as a gated
// model's do: without a token the hub answers 401, with another one 403, both with
// X-Error-Code GatedRepo.
func (s *Server) Gate(token string) {
	s.mu.Lock()
	s.gate = token
	s.mu.Unlock()
}

// ListBare makes the revision API list file names only, as it does without ?blobs=true,
// so a client must ask each file's headers for its id and size.
func (s *Server) ListBare(bare bool) {
	s.mu.Lock()
	s.bare = bare
	s.mu.Unlock()
}

// SeparateCDN serves LFS files from a second server (another host, as the real CDN is),
// so a test can check what reaches it; its requests are recorded with the hub's.
func (s *Server) SeparateCDN(t testing.TB) {
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		if rest, ok := strings.CutPrefix(r.URL.Path, "/cdn/"); ok {
			s.serveCDN(w, r, rest)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(cdn.Close)
	s.mu.Lock()
	s.cdn = cdn
	s.mu.Unlock()
}

// SetFault arms f for the next content request of file name (in any repository).
func (s *Server) SetFault(name string, f *Fault) {
	s.mu.Lock()
	s.faults[name] = f
	s.mu.Unlock()
}

// Requests returns the requests seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func hubError(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (s *Server) record(r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, Request{r.Method, r.URL.Path, r.Header.Get("Range"), r.Header.Get("Authorization"), r.Host})
	s.mu.Unlock()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.record(r)
	s.mu.Lock()
	token, gate, bare, cdn := s.token, s.gate, s.bare, s.cdn
	s.mu.Unlock()

	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/cdn/"); ok {
		// The CDN trusts its signed URL: no token needed, as on the real one.
		s.serveCDN(w, r, rest)
		return
	}
	if token != "" {
		switch auth := r.Header.Get("Authorization"); {
		case auth == "":
			hubError(w, http.StatusUnauthorized, "RepoNotFound", "Invalid username or password.")
			return
		case auth != "Bearer "+token:
			hubError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
			return
		}
	}
	if rest, ok := strings.CutPrefix(p, "/api/models/"); ok {
		s.serveAPI(w, r, rest, bare)
		return
	}
	resolveCache := false
	if rest, ok := strings.CutPrefix(p, "/api/resolve-cache/models/"); ok {
		// /api/resolve-cache/models/ORG/NAME/COMMIT/FILE: where the hub's relative
		// redirects for small files lead.
		if parts := strings.SplitN(rest, "/", 4); len(parts) == 4 {
			p, resolveCache = "/"+parts[0]+"/"+parts[1]+"/resolve/"+parts[2]+"/"+parts[3], true
		}
	}
	if gate != "" {
		switch auth := r.Header.Get("Authorization"); {
		case auth == "":
			hubError(w, http.StatusUnauthorized, "GatedRepo", "Access to this model is restricted. You must have access to it and be authenticated to access it. Please log in.")
			return
		case auth != "Bearer "+gate:
			hubError(w, http.StatusForbidden, "GatedRepo", "Access to this model is restricted and you are not in the authorized list.")
			return
		}
	}
	// /ORG/NAME/resolve/REV/FILE...
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 5)
	if len(parts) < 5 || parts[2] != "resolve" {
		hubError(w, http.StatusNotFound, "", "Not Found")
		return
	}
	rp, commit, ok := s.lookup(w, parts[0]+"/"+parts[1], parts[3])
	if !ok {
		return
	}
	f := rp.files[parts[4]]
	if f == nil {
		hubError(w, http.StatusNotFound, "EntryNotFound", fmt.Sprintf("%s does not exist on %q", parts[4], parts[3]))
		return
	}
	h := w.Header()
	h.Set("X-Repo-Commit", commit)
	if f.lfs != "" {
		h.Set("X-Linked-Etag", `"`+f.lfs+`"`)
		h.Set("X-Linked-Size", strconv.Itoa(len(f.data)))
		h.Set("ETag", `"`+f.lfs+`"`)
		// An absolute location, as the hub's to its CDN is.
		loc := s.URL + "/cdn/" + f.lfs + "?name=" + path.Base(parts[4])
		if cdn != nil {
			loc = cdn.URL + "/cdn/" + f.lfs + "?name=" + path.Base(parts[4])
		}
		h.Set("Location", loc)
		w.WriteHeader(http.StatusFound)
		return
	}
	h.Set("ETag", `"`+f.oid+`"`)
	if !resolveCache {
		// Small files come through a relative redirect within the hub, as they do now.
		h.Set("Location", "/api/resolve-cache/models/"+parts[0]+"/"+parts[1]+"/"+commit+"/"+parts[4])
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	s.serveContent(w, r, parts[4], f.data)
}

// lookup finds a repository and resolves rev, answering the hub's errors itself.
func (s *Server) lookup(w http.ResponseWriter, name, rev string) (*repo, string, bool) {
	s.mu.Lock()
	rp := s.repos[name]
	s.mu.Unlock()
	if rp == nil {
		hubError(w, http.StatusNotFound, "RepoNotFound", "Repository not found")
		return nil, "", false
	}
	commit, ok := rp.refs[rev]
	if !ok && rev == rp.commit {
		commit, ok = rp.commit, true
	}
	if !ok {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return nil, "", false
	}
	return rp, commit, true
}

// serveAPI answers /api/models/ORG/NAME/{revision,tree,paths-info}/REV.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, rest string, bare bool) {
	parts := strings.SplitN(rest, "/", 4)
	if len(parts) < 4 {
		hubError(w, http.StatusNotFound, "", "Not Found")
		return
	}
	name, kind, rev := parts[0]+"/"+parts[1], parts[2], parts[3]
	rp, commit, ok := s.lookup(w, name, rev)
	if !ok {
		return
	}
	names := make([]string, 0, len(rp.files))
	for n := range rp.files {
		names = append(names, n)
	}
	slices.Sort(names)
	type lfsInfo struct {
		SHA256      string `json:"sha256,omitempty"`
		OID         string `json:"oid,omitempty"`
		Size        int    `json:"size"`
		PointerSize int    `json:"pointerSize"`
	}
	var out any
	switch kind {
	case "revision":
		type sibling struct {
			RFilename string   `json:"rfilename"`
			BlobID    string   `json:"blobId,omitempty"`
			Size      int      `json:"size,omitempty"`
			LFS       *lfsInfo `json:"lfs,omitempty"`
		}
		sib := []sibling{}
		for _, n := range names {
			f := rp.files[n]
			sb := sibling{RFilename: n, BlobID: f.oid, Size: len(f.data)}
			if bare {
				sb = sibling{RFilename: n}
			}
			if f.lfs != "" && !bare {
				sb.LFS = &lfsInfo{SHA256: f.lfs, Size: len(f.data), PointerSize: 134}
			}
			sib = append(sib, sb)
		}
		out = map[string]any{"_id": "id-" + name, "id": name, "modelId": name, "sha": commit,
			"private": false, "gated": false, "downloads": 0, "likes": 0, "tags": []string{},
			"siblings": sib}
	case "tree", "paths-info":
		want := names
		if kind == "paths-info" {
			var body struct {
				Paths []string `json:"paths"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				hubError(w, http.StatusBadRequest, "", "bad body")
				return
			}
			want = body.Paths
		}
		type entry struct {
			Type       string            `json:"type"`
			OID        string            `json:"oid"`
			Size       int               `json:"size"`
			Path       string            `json:"path"`
			LFS        *lfsInfo          `json:"lfs,omitempty"`
			LastCommit map[string]string `json:"lastCommit,omitempty"`
		}
		entries := []entry{}
		for _, n := range want {
			f := rp.files[n]
			if f == nil {
				continue
			}
			e := entry{Type: "file", OID: f.oid, Size: len(f.data), Path: n}
			if f.lfs != "" {
				e.LFS = &lfsInfo{OID: f.lfs, Size: len(f.data), PointerSize: 134}
			}
			if kind == "paths-info" {
				e.LastCommit = map[string]string{"id": commit, "title": "upload", "date": "2025-01-27T00:00:00.000Z"}
			}
			entries = append(entries, e)
		}
		out = entries
	default:
		hubError(w, http.StatusNotFound, "", "Not Found")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Repo-Commit", commit)
	json.NewEncoder(w).Encode(out)
}

// serveCDN answers /cdn/SHA256 with the LFS file of that hash.
func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request, sum string) {
	s.mu.Lock()
	var name string
	var data []byte
	for _, rp := range s.repos {
		for n, f := range rp.files {
			if f.lfs == sum {
				name, data = n, f.data
			}
		}
	}
	s.mu.Unlock()
	if data == nil {
		http.Error(w, "no such object", http.StatusNotFound)
		return
	}
	w.Header().Set("ETag", `"`+sum+`"`)
	s.serveContent(w, r, name, data)
}

// serveContent answers a GET or HEAD of a file's bytes with Range support and the fault
// armed for the file, if any.
func (s *Server) serveContent(w http.ResponseWriter, r *http.Request, name string, data []byte) {
	var f Fault
	s.mu.Lock()
	if armed := s.faults[name]; armed != nil && r.Method == http.MethodGet {
		f = *armed
		switch {
		case armed.Status5xx > 0:
			armed.Status5xx--
			f = Fault{Status5xx: 1}
		case armed.DropAfter > 0 || armed.StallAfter > 0:
			armed.DropAfter, armed.StallAfter = 0, 0
		}
		if !armed.Corrupt && !armed.IgnoreRange && armed.Status5xx == 0 && armed.DropAfter == 0 && armed.StallAfter == 0 {
			delete(s.faults, name)
		}
	}
	s.mu.Unlock()
	if f.Status5xx > 0 {
		hubError(w, http.StatusServiceUnavailable, "", "Service Unavailable")
		return
	}
	if f.Corrupt {
		data = slices.Clone(data)
		data[len(data)/2] ^= 0x55
	}
	h := w.Header()
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", "application/octet-stream")
	start, end := int64(0), int64(len(data))
	status := http.StatusOK
	if rg := r.Header.Get("Range"); rg != "" && !f.IgnoreRange {
		a, b, ok := strings.Cut(strings.TrimPrefix(rg, "bytes="), "-")
		first, err := strconv.ParseInt(a, 10, 64)
		if !ok || err != nil {
			http.Error(w, "bad range", http.StatusBadRequest)
			return
		}
		if first >= int64(len(data)) {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", len(data)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		if last, err := strconv.ParseInt(b, 10, 64); err == nil && last+1 < end {
			end = last + 1
		}
		start, status = first, http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, len(data)))
	}
	h.Set("Content-Length", strconv.FormatInt(end-start, 10))
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	body := data[start:end]
	switch {
	case f.DropAfter > 0 && f.DropAfter < int64(len(body)):
		w.Write(body[:f.DropAfter])
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // breaks the connection mid-answer
	case f.StallAfter > 0 && f.StallAfter < int64(len(body)):
		w.Write(body[:f.StallAfter])
		http.NewResponseController(w).Flush()
		if f.Stalled != nil {
			close(f.Stalled)
		}
		<-r.Context().Done()
		return
	}
	w.Write(body)
}
