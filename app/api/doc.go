// Package api is Janus Desktop's local OpenAI-compatible HTTP API: the requests and
// responses of OpenAI's chat completions and image generation endpoints, served from one
// loaded model, so that tools that speak that API (editors, scripts, chat front-ends, the
// official client libraries) can use Janus. `janus serve` runs it from the command line; the
// app starts the same Server from its settings.
//
// Routes: GET /v1/models (and /v1/models/{id}), POST /v1/chat/completions, POST
// /v1/images/generations, GET /health (which needs no API key, except from a web page).
// Requests name the loaded model by its name, one of Options.ModelAliases (janus serve gives
// its repository id and the name `janus models` lists) or as "default", in any case.
//
// Web pages: a server on localhost is still reachable from any page the user's browser opens,
// so every route refuses what only a browser sends. The Host header must be localhost, a
// loopback address, the address the request arrived on, or one of Options.AllowedHosts (421
// otherwise: a DNS rebinding page sends its own name). Without an API key of
// MinBrowserKeyLength or more (a page could try a short one), a request with an Origin header
// is refused (403), preflights included. With one, the key guards the server and browser pages
// that have it may call it: a CORS preflight (OPTIONS with Access-Control-Request-Method) gets
// 204 allowing the page's origin, the methods GET and POST and the headers it asks for, and
// every response to a request with an Origin allows that origin. POST bodies must be sent as
// Content-Type: application/json (415 otherwise: a page can post a form or text/plain to any
// address without asking, but not JSON). Non-browser clients (curl -H 'Content-Type:
// application/json', the OpenAI libraries) send all of that as they are.
//
// Chat: messages with text and image_url parts (data: URLs; absolute paths or file:// URLs
// only inside Options.ImageFolder; remote URLs are never fetched). Consecutive messages of one
// role are merged, system messages go before the first question (Janus' template has its own
// fixed system prompt; a request of system messages alone is asked as the user's), and each
// turn's images come before its text, where the template puts them. Images are read and
// decoded while the request is checked, before it waits for the model, one request's at a time
// (and not when its client has left); a local path must name a regular file. The whole
// conversation is templated as the official chat does (model.Chat). Sampling fields absent
// from a request take `janus understand`'s defaults (greedy; top_p 0.95 and top_k 50 when
// sampling), so the same request gives the CLI's answer; top_k and repetition_penalty are
// extensions, and top_p and top_k follow the model's rules on both endpoints (top_p in [0, 1],
// 1 disabling it), except that top_p 0 keeps only the likeliest token, as OpenAI's does (to
// the model 0 disables it). A seed, on both endpoints, is a whole number up to 2^64-1, the
// engine's range. A request that samples (temperature > 0) without a seed, or with a
// negative one, gets a random one; a sampled answer reports its seed in the extension field
// seed (in every chunk of a stream), and sending it back gives the same answer. stop is
// applied to the text: the answer ends before the first stop sequence, and the stream holds
// back any text that may begin one.
//
// KV cache reuse: the server keeps the last conversation's model.Chat. A request whose
// earlier turns are exactly that chat's history (the usual next turn: the client sends the
// answer back) continues it, so only the new question runs through the model; a request with
// no earlier turns resets it and still reuses the system prompt and any identical beginning
// (images are matched by content hash). Any other history (an edited conversation, or an
// answer the client cut at a stop sequence) rewrites the cached chat (model.Chat.Rewrite),
// which reuses the positions before the first change. usage.prompt_tokens_details.cached_tokens
// reports the positions reused.
//
// Routes are matched after cleaning the path (a doubled or trailing slash), and /v1 may be
// left out of a base URL.
//
// Images: prompt (without a NUL character, which the PNGs' text cannot hold), n (1-8), size
// (any WIDTHxHEIGHT or auto: the model draws at its one size, which the response's size gives;
// clients send OpenAI's sizes as they are), model (the loaded one's names, or OpenAI's image
// models' names, which ask for it), response_format b64_json (or url, which returns a data:
// URL: nothing is stored), and the extensions seed, cfg, temperature, top_k and top_p. The
// PNGs carry the text chunks `janus generate` writes and are byte for byte its files for the
// same settings; each data entry reports its seed (image i of a request uses seed+i, which
// wraps past 2^64-1 to 0), a seed the endpoint takes back. With "stream": true the response is
// server-sent events: an image_generation.progress event after every token step (an extension:
// token, tokens, images, tokens_per_second, elapsed_seconds, remaining_seconds),
// image_generation.partial_image previews when partial_images (1-3) asks for them (each costs
// a VQ decode), one image_generation.completed event per image, then [DONE].
//
// Scheduling: one job at a time on the shared model, in arrival order (a request arrives when
// its body is read and checked), through a bounded queue: beyond the running request and
// Options.MaxQueue waiting ones (counting those still uploading), requests get 429 with a
// Retry-After estimated from recent job times. A client that disconnects (or stops reading
// for Limits.WriteTimeout) cancels its job, which stops within one decoding step; a queued
// one just leaves the queue. Generation requests are not batched together: the engine takes
// one prompt and one seed per run (image i uses seed+i), so merging requests would give the
// same images only for identical prompts and settings with adjacent seeds, and one client's
// disconnect would cut the others' images short.
// An app that runs its own tasks on the same model passes its turn-taking as Options.Turn, so
// that the server's jobs and its own wait for each other. StartServing does that for the
// app's "Serve on localhost" setting: it serves an app.Engine's model (app.SharedModel) with
// the engine's turn, and Serving.Stop ends it while the engine stays loaded.
//
// Errors are OpenAI error objects ({"error": {"message", "type", "param", "code"}}) with the
// status: 400 for malformed JSON, fields out of range, undecodable images, too-long prompts
// (code context_length_exceeded); 401 for a missing or wrong key; 403 for a request with an
// Origin and no key long enough; 404 for an unknown route or model; 405 for a wrong method;
// 413 for bodies and images over Limits; 415 for a body not sent as JSON, or compressed; 421 for a Host the
// server does not answer to; 429 for a full queue; 500 for anything unexpected, panics
// included, never with a Go stack; 503 with Retry-After from the moment Shutdown begins, to
// new requests and to those still waiting for their turn, and (ServeLoading) while the model
// loads. Bodies, images (bytes, pixels, side), images per request, max_tokens and prompt text
// are bounded by Limits; headers and bodies must arrive within Limits.ReadTimeout. A stream
// starts with the first piece of an answer or the first step of an image, so a request refused
// before them (a conversation over the context, too little memory) gets its status too; an
// error after that is the stream's last event. The price: a stream waiting its turn in the
// queue, or reading a long prompt, sends nothing yet, not even headers, so a client whose
// timeout for the first byte is shorter than the wait gives up (the official clients wait
// ten minutes).
//
// Only net/http and encoding/json are used: the API surface is a few JSON shapes, and
// owning them keeps exact control over streaming, cancellation and error objects.
package api
