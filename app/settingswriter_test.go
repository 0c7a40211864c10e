package app_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/janus-desktop/janus/app"
)

// Saves made in quick succession (as the window makes them: a model loaded, the settings
// dialog, the serve switch) end with the last one on disk, every callback called once; an
// invalid snapshot reports its error to its callback.
func TestSettingsWriterKeepsLatest(t *testing.T) {
	for _, tc := range []struct {
		name    string
		saves   int
		invalid bool // the last save, after the others are written, is invalid: they stay on disk
	}{
		{name: "one", saves: 1},
		{name: "many", saves: 200},
		{name: "last invalid", saves: 50, invalid: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			w := app.NewSettingsWriter(s)
			var calls, failed atomic.Int32
			for i := 1; i <= tc.saves; i++ {
				st := app.DefaultSettings()
				st.LastModel = fmt.Sprintf("/models/m%d", i)
				st.Serve.APIKey = fmt.Sprintf("key-%d", i)
				if tc.invalid && i == tc.saves {
					w.Flush()
					st.Threads = -1
				}
				w.Save(st, func(err error) {
					calls.Add(1)
					if err != nil {
						failed.Add(1)
					}
				})
			}
			w.Flush()
			if int(calls.Load()) != tc.saves {
				t.Errorf("%d callbacks for %d saves", calls.Load(), tc.saves)
			}
			got, problems, err := s.LoadSettings()
			if err != nil || len(problems) != 0 {
				t.Fatal(err, problems)
			}
			want := tc.saves
			if tc.invalid {
				want--
				if failed.Load() == 0 {
					t.Error("the invalid save reported no error")
				}
			}
			if got.LastModel != fmt.Sprintf("/models/m%d", want) || got.Serve.APIKey != fmt.Sprintf("key-%d", want) {
				t.Errorf("on disk: last model %q, key %q; want save %d", got.LastModel, got.Serve.APIKey, want)
			}
		})
	}
}

// Saves from several goroutines at once never write concurrently in a way the race detector
// sees, and the file holds one of the snapshots whole after Flush; a Save after Flush is
// written too.
func TestSettingsWriterConcurrent(t *testing.T) {
	s := openStore(t)
	w := app.NewSettingsWriter(s)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				st := app.DefaultSettings()
				st.Threads = g + 1
				st.LastModel = fmt.Sprintf("/models/g%d", g+1)
				w.Save(st, nil)
			}
		}()
	}
	wg.Wait()
	w.Flush()
	got, _, err := s.LoadSettings()
	if err != nil {
		t.Fatal(err)
	}
	if got.LastModel != fmt.Sprintf("/models/g%d", got.Threads) {
		t.Errorf("settings mixed from two snapshots: threads %d, last model %q", got.Threads, got.LastModel)
	}
	final := app.DefaultSettings()
	final.LastModel = "/models/final"
	w.Save(final, nil)
	w.Flush()
	if got, _, _ := s.LoadSettings(); got.LastModel != "/models/final" {
		t.Errorf("after the last save: %q", got.LastModel)
	}
}

// A Save keeps the settings as they were when it was made: the window changes its maps and
// slices right after (restoring drafts deletes them one by one, saving after each), while the
// writer encodes the snapshot on its own goroutine.
func TestSettingsWriterKeepsItsOwnCopy(t *testing.T) {
	s := openStore(t)
	w := app.NewSettingsWriter(s)
	w.Save(app.DefaultSettings(), nil) // keeps the writer busy, so the next Save waits
	st := app.DefaultSettings()
	st.ModelFolders = []string{"/models/a"}
	st.Drafts.Chats = map[string]string{"c1": "first", "c2": "second"}
	st.Drafts.Images = map[string][]app.DraftImage{"": {{Path: "/p/one.png"}}}
	st.Window = &app.WindowSize{Width: 900, Height: 700}
	w.Save(st, nil)
	delete(st.Drafts.Chats, "c1")
	st.Drafts.Chats["c2"] = "changed"
	st.ModelFolders[0] = "/models/b"
	st.Drafts.Images[""][0].Path = "/p/two.png"
	st.Window.Width = 100
	w.Flush()
	got, _, err := s.LoadSettings()
	if err != nil {
		t.Fatal(err)
	}
	if got.Drafts.Chats["c1"] != "first" || got.Drafts.Chats["c2"] != "second" || got.ModelFolders[0] != "/models/a" ||
		got.Drafts.Images[""][0].Path != "/p/one.png" || got.Window.Width != 900 {
		t.Errorf("on disk: chats %v, folders %v, images %v, window %v: the changes after Save leaked in",
			got.Drafts.Chats, got.ModelFolders, got.Drafts.Images, *got.Window)
	}
}
