// Package app holds what the Janus Desktop window and the janus command line share and what
// can be tested without a window: finding the models on this machine (Discover, Find,
// DefaultRoots), and later downloads, chat sessions, generation jobs, history and settings.
// It builds on the model packages and never imports a GUI toolkit.
//
// Discovery understands two layouts: plain model folders (config.json, weights and tokenizer
// files side by side, as the app's own downloads and `git clone` leave them) and the Hugging
// Face hub cache (models--ORG--NAME/snapshots/REV/ with refs/main naming the revision), so
// models downloaded with huggingface-cli or transformers are found without copying. The
// cache is read by hand rather than through a library because no Go library reads it, and
// only three facts of its layout are needed: the folder naming, refs/main and snapshots/.
package app
