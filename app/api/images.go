package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/internal/pngfile"
	"github.com/janus-desktop/janus/model"
	"github.com/janus-desktop/janus/model/imageproc"
)

// decodeImages reads, decodes and prepares the images of the turns, before the request waits
// for the model; an image whose bytes were seen before (in this request or the cached
// conversation) is not decoded again. One request decodes at a time (Server.decoding), and
// it stops when ctx ends, with no error: the client has left.
func (s *Server) decodeImages(ctx context.Context, turns []turn) *apiError {
	seen := map[[32]byte]*model.Image{}
	for i := range turns {
		for j := range turns[i].images {
			if ctx.Err() != nil {
				return nil
			}
			ref := &turns[i].images[j]
			data, name, e := s.imageBytes(*ref)
			if e != nil {
				return e
			}
			ref.sum = sha256.Sum256(data)
			img := seen[ref.sum]
			if img == nil {
				img = s.images.get(ref.sum)
			}
			if img == nil {
				select {
				case s.decoding <- struct{}{}:
				case <-ctx.Done():
					return nil
				}
				img, e = func() (*model.Image, *apiError) {
					defer func() { <-s.decoding }() // a panic (a 500) must not keep the slot
					return s.decodeImage(*ref, name, data)
				}()
				if e != nil {
					return e
				}
			}
			seen[ref.sum], ref.img = img, img
		}
	}
	return nil
}

// decodeImage decodes and prepares one image's bytes.
func (s *Server) decodeImage(ref imageRef, name string, data []byte) (*model.Image, *apiError) {
	rgb, err := imageproc.Decode(name, data, imageproc.DecodeOptions{MaxPixels: s.lim.ImagePixels, MaxSide: s.lim.ImageSide})
	if err != nil {
		if errors.Is(err, imageproc.ErrTooLarge) {
			return nil, tooLarge(ref.param, "%v (the limit is %d pixels, %d per side)", err, s.lim.ImagePixels, s.lim.ImageSide)
		}
		return nil, badRequest(ref.param, "%v", err)
	}
	img, err := s.m.PrepareImage(rgb)
	if err != nil {
		return nil, badRequest(ref.param, "%v", err)
	}
	return img, nil
}

// imageBytes returns the encoded image a URL holds: a base64 data: URL, or a file in the
// image folder when the server allows one. Remote URLs are never fetched: the server does
// not make requests on a client's behalf.
func (s *Server) imageBytes(ref imageRef) ([]byte, string, *apiError) {
	url := ref.url
	lower := strings.ToLower(url[:min(len(url), 16)])
	switch {
	case strings.HasPrefix(lower, "data:"):
		meta, payload, ok := strings.Cut(url[len("data:"):], ",")
		if !ok || !strings.HasSuffix(strings.ToLower(meta), ";base64") {
			return nil, "", badRequest(ref.param, "a data: URL must be base64: data:image/png;base64,...")
		}
		if int64(base64.StdEncoding.DecodedLen(len(payload))) > s.lim.ImageBytes+2 {
			return nil, "", tooLarge(ref.param, "the image has about %d bytes; the limit is %d", base64.StdEncoding.DecodedLen(len(payload)), s.lim.ImageBytes)
		}
		data, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			// Some clients leave the padding out.
			var err2 error
			if data, err2 = base64.RawStdEncoding.DecodeString(strings.TrimRight(payload, "=")); err2 != nil {
				return nil, "", badRequest(ref.param, "the data: URL is not valid base64: %v", err)
			}
		}
		if int64(len(data)) > s.lim.ImageBytes {
			return nil, "", tooLarge(ref.param, "the image has %d bytes; the limit is %d", len(data), s.lim.ImageBytes)
		}
		return data, "(" + ref.param + ")", nil
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		return nil, "", badRequest(ref.param, "remote image URLs are not fetched: send the image as a data: URL (data:image/png;base64,...)")
	case strings.HasPrefix(lower, "file://"):
		return s.localImage(ref, filePath(url))
	case filepath.IsAbs(url):
		return s.localImage(ref, url)
	case s.folder != "" && !strings.Contains(url, "://"):
		// A path, but relative: to what, the client's folder or the server's?
		return nil, "", badRequest(ref.param, "the image path %q is relative: name a local image by its absolute path (inside %s), or send a data: URL",
			truncate(url, 40), s.folder)
	}
	return nil, "", badRequest(ref.param, "unsupported image URL %q: send a data: URL", truncate(url, 40))
}

// filePath is the path a file URL names. Clients percent-encode it (Node's pathToFileURL,
// Python's Path.as_uri) and may name localhost as its host; a URL that does not decode as
// one (a raw path with a "%", "?" or "#" in a name, as clients also send) is taken as it is.
func filePath(url string) string {
	raw := url[len("file://"):]
	u, err := neturl.Parse(url)
	if err != nil || u.RawQuery != "" || u.Fragment != "" || u.Path == "" {
		return raw
	}
	if u.Host != "" && !strings.EqualFold(u.Host, "localhost") {
		return raw // another machine's file: the folder check refuses the path as it reads
	}
	return u.Path
}

// outsideFolder is the 400 of a path that is, or leads through a symlink (linked), outside
// the image folder.
func (s *Server) outsideFolder(ref imageRef, path string, linked bool) *apiError {
	is := "is"
	if linked {
		is = "is a symlink that leads"
	}
	return badRequest(ref.param, "image %s %s outside the folder the server allows images from (%s, janus serve --allow-images-from)", path, is, s.folder)
}

// inFolder reports whether path (absolute and clean) is the image folder or inside it, in
// either of its spellings, and returns it relative to the folder.
func (s *Server) inFolder(path string) (string, bool) {
	for _, dir := range []string{s.folder, s.folderReal} {
		if dir == "" {
			continue
		}
		if rel, err := filepath.Rel(dir, path); err == nil && filepath.IsLocal(rel) {
			return rel, true
		}
	}
	return "", false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// localImage reads a file named by an absolute path, only inside the image folder; the
// folder is opened as an os.Root, so neither ".." nor a symlink leads out of it. Only regular
// files are read: opening a FIFO or a device could block or never end.
func (s *Server) localImage(ref imageRef, path string) ([]byte, string, *apiError) {
	if s.folder == "" {
		return nil, "", badRequest(ref.param, "local image paths are not allowed: send a data: URL%s", s.hint(" (or start janus serve with --allow-images-from DIR)", ""))
	}
	rel, ok := s.inFolder(filepath.Clean(path))
	if !ok {
		return nil, "", s.outsideFolder(ref, path, false)
	}
	root, err := os.OpenRoot(s.folder)
	if err != nil {
		return nil, "", internalError("open the image folder %s: %v", s.folder, err)
	}
	defer root.Close()
	st, err := root.Stat(rel)
	if err != nil {
		return nil, "", s.statError(ref, path, rel, err)
	}
	if !st.Mode().IsRegular() {
		return nil, "", badRequest(ref.param, "image %s is not a regular file", path)
	}
	f, err := root.Open(rel)
	if err != nil {
		return nil, "", badRequest(ref.param, "open image %s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	// The name may have been replaced between Stat and Open.
	if fst, err := f.Stat(); err != nil || !os.SameFile(st, fst) {
		return nil, "", badRequest(ref.param, "image %s changed while it was opened", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, s.lim.ImageBytes+1))
	if err != nil {
		return nil, "", badRequest(ref.param, "read image %s: %v", path, err)
	}
	if int64(len(data)) > s.lim.ImageBytes {
		return nil, "", tooLarge(ref.param, "%s is over the image limit of %d bytes", path, s.lim.ImageBytes)
	}
	return data, path, nil
}

// statError says why the image at path (rel inside the folder) could not be looked at. os.Root
// reports a symlink out of the folder as "path escapes from parent", which tells a user
// nothing: where the link leads is checked here instead.
func (s *Server) statError(ref imageRef, path, rel string, err error) *apiError {
	if errors.Is(err, fs.ErrNotExist) {
		return badRequest(ref.param, "image %s does not exist", path)
	}
	if to, ok := leadsTo(filepath.Join(s.folder, rel)); ok {
		if _, in := s.inFolder(to); !in {
			return s.outsideFolder(ref, path, true)
		}
	}
	return badRequest(ref.param, "image %s: %v", path, errors.Unwrap(err))
}

// leadsTo returns where the absolute path p leads once its symlinks are followed, even when
// the last one points at nothing (which filepath.EvalSymlinks refuses); false when that
// cannot be known.
func leadsTo(p string) (string, bool) {
	for range 40 { // the usual bound on the links of one path
		dir, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			return "", false
		}
		p = filepath.Join(dir, filepath.Base(p))
		target, err := os.Readlink(p)
		if err != nil {
			return p, true // not a link (or not there): p is where it leads
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target)
		}
		p = filepath.Clean(target)
	}
	return "", false
}

// imageRequest is the body of POST /v1/images/generations. seed, cfg, temperature, top_k and
// top_p are extensions; quality, style, background and user are accepted and ignored.
type imageRequest struct {
	Model          string     `json:"model"`
	Prompt         string     `json:"prompt"`
	N              *int       `json:"n"`
	Size           string     `json:"size"`
	ResponseFormat string     `json:"response_format"`
	OutputFormat   string     `json:"output_format"`
	Seed           *seedField `json:"seed"`
	CFG            *float64   `json:"cfg"`
	Temperature    *float64   `json:"temperature"`
	TopK           *int       `json:"top_k"`
	TopP           *float64   `json:"top_p"`
	Stream         bool       `json:"stream"`
	PartialImages  *int       `json:"partial_images"`
	// Asked for, they are refused rather than ignored: the model draws opaque PNGs.
	Background        string `json:"background"`
	OutputCompression *int   `json:"output_compression"`
}

// imageJob is a checked generation request.
type imageJob struct {
	prompt   string
	opts     model.GenerateImageOptions
	seedSet  bool
	asURL    bool
	stream   bool
	partials int
}

// maxPartialImages bounds partial_images, as OpenAI's API does; each costs a VQ decode.
const maxPartialImages = 3

func (s *Server) imageGenerations(w http.ResponseWriter, r *http.Request) {
	serveJob(s, w, r, "image", s.parseImages, s.runImages)
}

func (s *Server) parseImages(_ context.Context, req *imageRequest) (*imageJob, *apiError) {
	// Image clients often have OpenAI's model names built in; they get the loaded model.
	if m := strings.ToLower(req.Model); strings.HasPrefix(m, "dall-e") || strings.HasPrefix(m, "gpt-image") {
		s.log.Info("api: an OpenAI image model's name asks for the loaded model", "model", req.Model, "loaded", s.name)
	} else if e := s.checkModel(req.Model); e != nil {
		return nil, e
	}
	if s.m.VQ == nil {
		return nil, badRequest("", "this server's model was loaded without its image generation networks").withCode("unsupported")
	}
	job := &imageJob{prompt: req.Prompt, stream: req.Stream, opts: model.DefaultImageOptions()}
	if strings.TrimSpace(req.Prompt) == "" {
		return nil, badRequest("prompt", "prompt is empty: say what to draw")
	}
	if len(req.Prompt) > s.lim.PromptBytes {
		return nil, badRequest("prompt", "the prompt has %d bytes; the limit is %d", len(req.Prompt), s.lim.PromptBytes).withCode("context_length_exceeded")
	}
	if tag := s.m.Config.Processor.ImageTag; tag != "" && strings.Contains(req.Prompt, tag) {
		return nil, badRequest("prompt", "the prompt contains the model's image tag %s", tag)
	}
	if tok, ok := s.controlToken(req.Prompt); ok {
		return nil, controlTokenError("prompt", "prompt", tok)
	}
	if err := app.CheckImagePrompt(req.Prompt); err != nil {
		return nil, badRequest("prompt", "%v", err)
	}
	if req.N != nil {
		if *req.N < 1 || *req.N > MaxImagesPerGeneration {
			return nil, badRequest("n", "n %d must be between 1 and %d", *req.N, MaxImagesPerGeneration)
		}
		job.opts.N = *req.N
	}
	if side := s.m.Config.VQ.ImageSize; req.Size != "" && req.Size != "auto" && req.Size != fmt.Sprintf("%dx%d", side, side) {
		// Clients send the sizes OpenAI's models draw (1024x1024): the model draws its one
		// size, which the response's size field gives; anything but a size is refused.
		var w, h int
		if n, err := fmt.Sscanf(req.Size, "%dx%d", &w, &h); err != nil || n != 2 || w < 1 || h < 1 || fmt.Sprintf("%dx%d", w, h) != req.Size {
			return nil, badRequest("size", "size %q is not WIDTHxHEIGHT: this model draws %dx%d images", req.Size, side, side)
		}
		s.log.Info("api: the model draws one size", "asked", req.Size, "drawn", fmt.Sprintf("%dx%d", side, side))
	}
	switch req.ResponseFormat {
	case "", "b64_json":
	case "url":
		job.asURL = true // a data: URL: nothing is stored on the server
	default:
		return nil, badRequest("response_format", "response_format %q: use b64_json (or url, which gives a data: URL)", req.ResponseFormat)
	}
	if f := req.OutputFormat; f != "" && f != "png" {
		return nil, badRequest("output_format", "output_format %q: only png is made", f)
	}
	if b := req.Background; b != "" && b != "auto" && b != "opaque" {
		return nil, badRequest("background", "background %q: the model draws opaque pictures; leave background out, or auto or opaque", b)
	}
	if c := req.OutputCompression; c != nil && *c != 100 {
		return nil, badRequest("output_compression", "output_compression %d: only lossless png is made; leave output_compression out", *c)
	}
	if seed, set := req.Seed.get(); set {
		job.opts.Seed, job.seedSet = seed, true
	}
	if req.CFG != nil {
		if c := *req.CFG; math.IsNaN(c) || math.IsInf(c, 0) || c < 0 || c > 100 {
			return nil, badRequest("cfg", "cfg %v must be between 0 and 100", c)
		}
		job.opts.CFG = *req.CFG
	}
	if req.Temperature != nil {
		if t := *req.Temperature; !(t >= 0 && t <= 2) {
			return nil, badRequest("temperature", "temperature %v must be between 0 and 2", t)
		}
		job.opts.Temperature = *req.Temperature
	}
	if req.TopK != nil {
		if e := checkSampling("top_k", model.GenerateImageOptions{TopK: *req.TopK}); e != nil {
			return nil, e
		}
		job.opts.TopK = *req.TopK
	}
	if req.TopP != nil {
		if e := checkSampling("top_p", model.GenerateImageOptions{TopP: *req.TopP}); e != nil {
			return nil, e
		}
		job.opts.TopP = *req.TopP
		if *req.TopP == 0 {
			job.opts.TopK = 1 // as for answers (answerOptions)
		}
	}
	if req.PartialImages != nil {
		if p := *req.PartialImages; p < 0 || p > maxPartialImages {
			return nil, badRequest("partial_images", "partial_images %d must be between 0 and %d", p, maxPartialImages)
		}
		if !req.Stream && *req.PartialImages > 0 {
			return nil, badRequest("partial_images", "partial_images needs stream: true")
		}
		job.partials = *req.PartialImages
	}
	if job.partials > 0 {
		// Previews after equal shares of the token rows; the last share is the final image.
		job.opts.PreviewEvery = max(1, int(math.Ceil(float64(s.m.Config.VQ.Grid)/float64(job.partials+1))))
	}
	job.opts.MaxMemoryBytes = s.maxMem
	if err := job.opts.Validate(); err != nil {
		return nil, badRequest("", "generation options: %v", err)
	}
	return job, nil
}

// Response shapes of the image endpoint.
type (
	imagesResponse struct {
		Created      int64       `json:"created"`
		Data         []imageData `json:"data"`
		OutputFormat string      `json:"output_format"`
		Size         string      `json:"size"`
		Usage        imageUsage  `json:"usage"`
	}
	imageData struct {
		B64JSON string `json:"b64_json,omitempty"`
		URL     string `json:"url,omitempty"`
		// Seed is an extension: the image's own seed (`janus generate --seed` regenerates it).
		Seed uint64 `json:"seed"`
	}
	imageUsage struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
		TotalTokens  int `json:"total_tokens"`
	}
	// imageEvent is one server-sent event of a streamed generation: OpenAI's
	// image_generation.partial_image and image_generation.completed, and the extension
	// image_generation.progress after every step and every stage of the final decode.
	imageEvent struct {
		Type              string      `json:"type"`
		B64JSON           string      `json:"b64_json,omitempty"`
		CreatedAt         int64       `json:"created_at"`
		Size              string      `json:"size,omitempty"`
		OutputFormat      string      `json:"output_format,omitempty"`
		Index             *int        `json:"index,omitempty"`
		PartialImageIndex *int        `json:"partial_image_index,omitempty"`
		Seed              *uint64     `json:"seed,omitempty"`
		Usage             *imageUsage `json:"usage,omitempty"`
		// Progress fields.
		Token            int     `json:"token,omitempty"`
		Tokens           int     `json:"tokens,omitempty"`
		Images           int     `json:"images,omitempty"`
		TokensPerSecond  float64 `json:"tokens_per_second,omitempty"`
		ElapsedSeconds   float64 `json:"elapsed_seconds,omitempty"`
		RemainingSeconds float64 `json:"remaining_seconds,omitempty"`
		// DecodeStage of DecodeStages, in the events after the last token: the final decode.
		DecodeStage  int `json:"decode_stage,omitempty"`
		DecodeStages int `json:"decode_stages,omitempty"`
	}
)

// runImages generates the images of a checked request; it holds the queue.
func (s *Server) runImages(w http.ResponseWriter, reqCtx context.Context, job *imageJob) {
	ctx, cancel := s.jobContext(reqCtx)
	defer cancel()
	if !job.seedSet {
		seed, err := app.RandomSeed()
		if err != nil {
			writeError(w, internalError("%v", err))
			return
		}
		job.opts.Seed = seed
	}
	side := s.m.Config.VQ.ImageSize
	size := fmt.Sprintf("%dx%d", side, side)
	created := time.Now().Unix()
	// The stream starts with the first progress, after the checks that refuse a request
	// (a prompt too long, too little memory), so that those get their status code.
	var st *stream
	open := func() *stream {
		if st == nil && job.stream {
			st = startStream(w, cancel)
		}
		return st
	}
	partial := 0
	res, err := s.m.GenerateImages(ctx, job.prompt, job.opts, func(p model.ImageProgress) {
		if open() != nil {
			st.event("image_generation.progress", imageEvent{Type: "image_generation.progress", CreatedAt: created,
				Token: p.Token, Tokens: p.Tokens, Images: p.Images, TokensPerSecond: p.TokensPerSecond,
				ElapsedSeconds: p.Elapsed.Seconds(), RemainingSeconds: p.Remaining.Seconds(),
				DecodeStage: p.DecodeStage, DecodeStages: p.DecodeStages})
			if p.Preview != nil && partial < job.partials {
				for i, img := range p.Preview {
					png, err := pngfile.Encode(img, nil)
					if err != nil {
						// A preview is a courtesy: the final image is still sent.
						s.log.Warn("api: a preview image could not be encoded", "err", err)
						continue
					}
					idx, pi := i, partial
					st.event("image_generation.partial_image", imageEvent{Type: "image_generation.partial_image", CreatedAt: created,
						B64JSON: base64.StdEncoding.EncodeToString(png), Size: size, OutputFormat: "png", Index: &idx, PartialImageIndex: &pi})
				}
				partial++
			}
		}
		if s.hooks.onStep != nil {
			s.hooks.onStep(ctx, p)
		}
	})
	tokens := 0
	if res != nil {
		for _, t := range res.Tokens {
			tokens += len(t)
		}
	}
	s.jobDone("image", tokens, err)
	if err != nil {
		if s.cancelled(w, reqCtx, ctx, st) {
			return
		}
		e := internalError("generate: %v", err)
		if me := (*model.MemoryError)(nil); errors.As(err, &me) {
			if me.Fits > 0 {
				// A smaller n is the client's to send.
				e = badRequest("n", "%v (n %d fits)", err, me.Fits).withCode("insufficient_memory")
			} else {
				// Not even one image: the server's limit, which no request can change.
				e = &apiError{status: http.StatusServiceUnavailable, typ: "server_error", code: "insufficient_memory",
					message: err.Error()}
			}
		} else if errors.Is(err, model.ErrPromptTooLong) {
			e = badRequest("prompt", "%v", err).withCode("context_length_exceeded")
		}
		s.log.Warn("api: image generation failed", "error", err)
		sendError(w, st, "error", e)
		return
	}
	s.log.Info("api: generated", "images", len(res.Images), "seed", res.Seed, "seconds", (res.Generate + res.Decode).Seconds(),
		"tokens_per_second", res.TokensPerSecond())
	open() // a run that reported no progress still streams its images
	u := imageUsage{InputTokens: res.PromptTokens, OutputTokens: tokens, TotalTokens: res.PromptTokens + tokens}
	out := imagesResponse{Created: created, OutputFormat: "png", Size: size, Usage: u}
	for i, img := range res.Images {
		seed := job.opts.Seed + uint64(i)
		png, err := pngfile.Encode(img, s.pngText(job, seed))
		if err != nil {
			e := internalError("encode image %d: %v", i, err)
			if st != nil {
				st.event("error", e.body())
				return
			}
			writeError(w, e)
			return
		}
		b64 := base64.StdEncoding.EncodeToString(png)
		if st != nil {
			idx := i
			st.event("image_generation.completed", imageEvent{Type: "image_generation.completed", CreatedAt: created,
				B64JSON: b64, Size: size, OutputFormat: "png", Index: &idx, Seed: &seed, Usage: &u})
			continue
		}
		d := imageData{B64JSON: b64, Seed: seed}
		if job.asURL {
			d = imageData{URL: "data:image/png;base64," + b64, Seed: seed}
		}
		out.Data = append(out.Data, d)
	}
	if st != nil {
		st.done()
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// pngText is the metadata `janus generate` writes into its PNGs (app.ImageMeta), so that the
// server's images are byte for byte the CLI's for the same settings.
func (s *Server) pngText(job *imageJob, seed uint64) []pngfile.TextField {
	o := job.opts
	return app.ImageMeta{Prompt: job.prompt, Seed: seed, CFG: o.CFG, Temperature: o.Temperature, TopK: o.TopK, TopP: o.TopP,
		Model: s.name, Software: s.soft}.PNGText()
}
