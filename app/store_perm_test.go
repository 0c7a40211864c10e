//go:build !windows

package app_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/janus-desktop/janus/app"
)

// TestStorePrivate: the history, its images and thumbnails and the settings are the user's
// only (files 0600, folders 0700), also in a store an earlier version made open (0755/0644).
func TestStorePrivate(t *testing.T) {
	for _, tc := range []struct {
		name string
		prep func(t *testing.T, root string)
	}{
		{"new store", func(*testing.T, string) {}},
		{"store made open by an earlier version", func(t *testing.T, root string) {
			for _, d := range []string{"chats", "sets", "images", "thumbnails"} {
				if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(root, app.SettingsFile), []byte(`{"version":1}`), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := setUmask(0o022)
			defer setUmask(old)
			root := filepath.Join(t.TempDir(), "history")
			tc.prep(t, root)
			s, err := app.OpenStore(root)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := s.ImportImage(writePNG(t, t.TempDir(), "cat.png", 20, 10))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SaveChat(&app.ChatRecord{Title: "c", Messages: []app.ChatMessage{{Text: "hi", Images: []app.ImageRef{ref}}}}); err != nil {
				t.Fatal(err)
			}
			if err := s.SaveSet(&app.ImageSet{Title: "s", Settings: app.DefaultGenerationSettings()}); err != nil {
				t.Fatal(err)
			}
			if err := s.SaveSettings(app.DefaultSettings()); err != nil {
				t.Fatal(err)
			}
			// The folders were removed by hand while the app runs: made again, private.
			if err := os.RemoveAll(filepath.Join(root, "sets")); err != nil {
				t.Fatal(err)
			}
			if err := s.SaveSet(&app.ImageSet{Title: "s2", Settings: app.DefaultGenerationSettings()}); err != nil {
				t.Fatal(err)
			}
			files := 0
			err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				st, err := d.Info()
				if err != nil {
					return err
				}
				want := fs.FileMode(0o600)
				if d.IsDir() {
					if p == root {
						return nil // the data folder is the user's to choose
					}
					want = 0o700
				} else {
					files++
				}
				if st.Mode().Perm() != want {
					t.Errorf("%s: mode %v, want %v", p, st.Mode().Perm(), want)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// settings, a chat, the second set, an image, its thumbnail
			if files != 5 {
				t.Errorf("%d files in the store, want 5", files)
			}
		})
	}
}
