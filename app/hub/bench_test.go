package hub

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/janus-desktop/janus/app/hub/hubtest"
)

// BenchmarkPull measures a pull of a 64 MB weight file over loopback: the client's own
// cost (copy, sha256, fsync), with no network in the way.
func BenchmarkPull(b *testing.B) {
	data := make([]byte, 64<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	s := hubtest.New(b)
	s.AddRepo(testRepo, map[string][]byte{"model.safetensors": data, "config.json": []byte("{}")})
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		c := &Client{Endpoint: s.URL, Cache: filepath.Join(b.TempDir(), "hub"),
			FreeSpace: func(string) (int64, error) { return 1 << 40, nil }}
		if _, err := c.Pull(context.Background(), testRepo, PullOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
