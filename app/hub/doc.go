// Package hub downloads model repositories from a Hugging Face hub (huggingface.co, or the
// mirror HF_ENDPOINT names) into the standard Hugging Face cache, so that a model fetched by
// the Python or JavaScript hub clients is reused here and ours is reused by them.
//
// The cache layout is the one huggingface_hub writes and reads:
//
//	HUB_CACHE/.locks/models--ORG--NAME/           lock files (ours: pull.lock)
//	HUB_CACHE/models--ORG--NAME/blobs/ID          file contents, named by the hub's ETag
//	HUB_CACHE/models--ORG--NAME/blobs/ID.incomplete  a partial download, resumed with Range
//	HUB_CACHE/models--ORG--NAME/snapshots/COMMIT/FILE  relative symlink to ../../blobs/ID
//	HUB_CACHE/models--ORG--NAME/refs/REV          the 40-hex commit, no trailing newline
//
// The client is hand-written on net/http rather than taken from a library: no Go library
// writes this cache layout, and the properties the app needs (resume from a partial blob
// after a kill, verification before a blob enters blobs/, a free-space check, a lock per
// repository, cancellation through a context) are the whole of the code.
//
// A repository whose file names would collide on a case-insensitive disk (macOS's and
// Windows' default: "config.json" and "Config.json", or a file where a folder is) is refused
// before anything is fetched. The token goes to the hub's own origin only (Client.Token).
//
// A file enters blobs/ only after its checksum matched (sha256 against X-Linked-Etag for
// LFS files, the git blob id against ETag for the others), a snapshot link is made only to
// a verified blob, and refs/REV is written last, so a pull killed at any moment leaves a
// cache that every client reads as valid, and the next pull continues where it stopped.
// A cached blob whose size is not the hub's (cut short by a damaged disk or a bad copy of
// the cache) is fetched again, resumed when shorter; sizes are compared, not hashes, which
// would read gigabytes on every pull. Offline, or with the hub unreachable, the sizes are
// unknown and the cache is used as it is.
// Pausing a download is cancelling its context; resuming is pulling again, in this run of
// the program or the next.
//
// The app's download screen and `janus pull` use it the same way:
//
//	c := hub.FromEnv(app.EnvFromOS())
//	st, _ := c.CacheState(app.DefaultRepo, "") // how much an earlier run left
//	snap, err := c.Pull(ctx, app.DefaultRepo, hub.PullOptions{Progress: func(p hub.Progress) {
//		fyne.Do(func() { bar.SetValue(float64(p.BytesDone) / float64(p.Bytes)) })
//	}})
//	be, err := app.OpenBackend("auto", 0, "")
//	m, err := model.Load(snap.Path, model.Options{Backend: be, OwnBackend: true})
//
// The window reaches it through app.Downloader, which Downloader implements on a Client.
package hub
