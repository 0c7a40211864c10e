// Package app holds what the Janus Desktop window and the janus command line share and what
// can be tested without a window: finding the models on this machine (Discover, Find,
// DefaultRoots, SearchModels), describing them (Describe), loading one (LoadEngine,
// StartLoad), chat sessions (ChatSession), generation jobs (StartGeneration), the history
// store (Store) and the settings (Store.LoadSettings). It builds on the model packages and
// never imports a GUI toolkit.
//
// How the GUI uses it: at start the window opens a Store (Env.DefaultStoreDir, or a folder it
// chooses), reads the Settings and shows Store.List as the history, reporting the returned
// Problems (files set aside) in a message. SearchModels fills the model picker (or, with no
// usable model, the screen showing NoModelText); StartLoad loads the chosen one into an
// Engine. A chat is a ChatSession on that Engine: Send starts a reply Job whose callbacks
// stream the answer, Stop cancels it. The canvas calls StartGeneration and shows the
// GenerationJob's progress and previews; SaveImage writes a PNG anywhere. Every long task is
// a Job on its own goroutine; its callbacks run on that goroutine, so the window wraps them
// in fyne.Do. CheckImageFile is cheap (it reads a header) and may run in a drop handler;
// Thumbnail, Store.ThumbnailPath and Store.List decode images or read many files and must not
// run on the UI goroutine. A failed load's error is shown with LoadAdvice, which says what to
// do. With no model, the window offers Downloader.Offers (app/hub implements Downloader:
// the released models with their sizes and what the cache holds already); StartDownload
// runs one as a Job, Cancel pauses it and StartDownload again resumes it, also after a
// restart, and DownloadJob.Dir is the folder to load. The settings' "Serve on localhost"
// (Settings.Serve) starts app/api's StartServing on the loaded Engine, which shares the
// model with the window's tasks turn by turn; the backend list is BackendChoices, and
// EngineInfo.Backend says what runs the model ("CPU · 8 threads · AVX-512"). Tests of the window run on
// apptest.FakeEngine, a slow fake that needs no model.
//
// The history folder (Store) holds chats/ID.json and sets/ID.json (one chat or one image set
// each, with a version field), images/SHA256.EXT (attachments and generated PNGs, stored by
// content so that a chat survives its original files being moved and an image two entries
// share is kept once), thumbnails/ and settings.json. Every file is replaced atomically
// (temporary file, fsync, rename, fsync of the folder) with the standard library alone; a
// file that cannot be decoded is renamed NAME.corrupt-TIME and reported; one that cannot be
// read at all (its permissions), or a chat or set a newer version wrote (NewerVersionError),
// is reported and left in place; none is overwritten or dropped. ClaimDataFolder keeps one window
// on a folder: a later start hands its images to the running window through a socket there
// and exits.
//
// Discovery understands two layouts: plain model folders (config.json, weights and tokenizer
// files side by side, as the app's own downloads and `git clone` leave them) and the Hugging
// Face hub cache (models--ORG--NAME/snapshots/REV/ with refs/main naming the revision), so
// models downloaded with huggingface-cli or transformers are found without copying. The
// cache is read by hand rather than through a library because no Go library reads it, and
// only three facts of its layout are needed: the folder naming, refs/main and snapshots/.
package app
