package app_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sync"
	"testing"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
	"github.com/janus-desktop/janus/model"
)

// raceRounds is how often each race is run: the two sides start together from a barrier, so
// every round may interleave them differently. Run with -race.
const raceRounds = 25

// together runs a and b at once and waits for both.
func together(a, b func()) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, f := range []func(){a, b} {
		wg.Go(func() {
			<-start
			f()
		})
	}
	close(start)
	wg.Wait()
}

// TestDeleteRacesSaveOfSameImage: deleting the only record that mentions a picture while a new
// record with the same picture is saved never leaves the new record without its image file.
func TestDeleteRacesSaveOfSameImage(t *testing.T) {
	for _, tc := range []struct {
		name string
		// save stores a new record with the picture at img (the same bytes as the deleted
		// record's) and returns that record's images.
		save func(t *testing.T, store *app.Store, img string) []app.ImageRef
	}{
		{"chat attachment", func(t *testing.T, store *app.Store, img string) []app.ImageRef {
			s := app.NewChatSession(store, apptest.NewFakeEngine(0), model.AnswerOptions{})
			defer s.Close()
			if r := sendQuiet(s, "and this?", img); r != nil {
				t.Error(r)
				return nil
			}
			rec, err := store.LoadChat(s.ID())
			if err != nil {
				t.Error(err)
				return nil
			}
			return rec.Messages[0].Images
		}},
		{"generated set", func(t *testing.T, store *app.Store, _ string) []app.ImageRef {
			set := generateSet(t, store)
			if set == nil {
				return nil
			}
			var refs []app.ImageRef
			for _, im := range set.Images {
				refs = append(refs, im.Image)
			}
			return refs
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range raceRounds {
				store := openStore(t)
				img := writePNG(t, t.TempDir(), "cat.png", 24, 16)
				// The record to delete holds the same picture the other side saves.
				var oldID string
				if tc.name == "generated set" {
					set := generateSet(t, store)
					if set == nil {
						return
					}
					oldID = set.ID
				} else {
					ref, err := store.ImportImage(img)
					if err != nil {
						t.Fatal(err)
					}
					old := &app.ChatRecord{Title: "old", Messages: []app.ChatMessage{{Text: "what?", Images: []app.ImageRef{ref}, State: app.StateDone}}}
					if err := store.SaveChat(old); err != nil {
						t.Fatal(err)
					}
					oldID = old.ID
				}
				var refs []app.ImageRef
				var delErr error
				together(func() { delErr = store.Delete(oldID) }, func() { refs = tc.save(t, store, img) })
				if delErr != nil {
					t.Fatalf("Delete: %v", delErr)
				}
				if len(refs) == 0 {
					t.Fatal("the new record has no images")
				}
				for _, ref := range refs {
					if _, err := os.Stat(store.ImagePath(ref)); err != nil {
						t.Fatalf("the new record's image is gone: %v", err)
					}
				}
			}
		})
	}
}

// TestDeleteRacesChatSave: a chat deleted while it is being saved stays deleted, whichever
// comes first.
func TestDeleteRacesChatSave(t *testing.T) {
	for _, tc := range []struct {
		name string
		save func(t *testing.T, store *app.Store, s *app.ChatSession, rec *app.ChatRecord)
	}{
		{"SaveChatUnlessDeleted", func(t *testing.T, store *app.Store, _ *app.ChatSession, rec *app.ChatRecord) {
			rec.Messages = append(rec.Messages, app.ChatMessage{Text: "more", State: app.StateDone})
			if _, err := store.SaveChatUnlessDeleted(rec); err != nil {
				t.Error(err)
			}
		}},
		{"ChatSession reply", func(t *testing.T, _ *app.Store, s *app.ChatSession, _ *app.ChatRecord) {
			if err := sendQuiet(s, "more?"); err != nil {
				t.Error(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range raceRounds {
				store := openStore(t)
				rec := &app.ChatRecord{Title: "to delete", Messages: []app.ChatMessage{{Text: "hi", State: app.StateDone}, {Assistant: true, Text: "hello", State: app.StateDone}}}
				if err := store.SaveChat(rec); err != nil {
					t.Fatal(err)
				}
				s, err := app.OpenChatSession(store, rec.ID, apptest.NewFakeEngine(0), model.AnswerOptions{})
				if err != nil {
					t.Fatal(err)
				}
				var delErr error
				together(func() { delErr = store.Delete(rec.ID) }, func() { tc.save(t, store, s, rec) })
				s.Close()
				if delErr != nil {
					t.Fatalf("Delete: %v", delErr)
				}
				if _, err := store.LoadChat(rec.ID); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("after Delete and a save, LoadChat = %v, want the chat gone", err)
				}
			}
		})
	}
}

// TestSaveChatUnlessDeleted: a new chat is written, a saved one updated with the title on
// disk, a deleted one left deleted.
func TestSaveChatUnlessDeleted(t *testing.T) {
	store := openStore(t)
	c := &app.ChatRecord{Title: "mine", Messages: []app.ChatMessage{{Text: "hi", State: app.StateDone}}}
	if saved, err := store.SaveChatUnlessDeleted(c); !saved || err != nil || c.ID == "" {
		t.Fatalf("new chat: saved %v, err %v, id %q", saved, err, c.ID)
	}
	if err := store.Rename(c.ID, "renamed"); err != nil {
		t.Fatal(err)
	}
	if saved, err := store.SaveChatUnlessDeleted(c); !saved || err != nil || c.Title != "renamed" {
		t.Fatalf("saved chat: saved %v, err %v, title %q (want the title on disk)", saved, err, c.Title)
	}
	if err := store.Delete(c.ID); err != nil {
		t.Fatal(err)
	}
	if saved, err := store.SaveChatUnlessDeleted(c); saved || err != nil {
		t.Fatalf("deleted chat: saved %v, err %v, want not saved and no error", saved, err)
	}
	if _, err := store.LoadChat(c.ID); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the deleted chat is back: %v", err)
	}
}

// sendQuiet sends on s, waits for the reply and returns its error, for use off the test's
// goroutine.
func sendQuiet(s *app.ChatSession, text string, images ...string) error {
	done := make(chan app.ChatMessage, 1)
	j, err := s.Send(text, images, app.ChatCallbacks{OnDone: func(_ int, m app.ChatMessage) { done <- m }})
	if err != nil {
		return err
	}
	j.Wait()
	if m := <-done; m.Error != "" {
		return errors.New(m.Error)
	}
	return nil
}

// generateSet runs a small fixed generation on a fake engine into store and returns its set
// (the same pictures every time).
func generateSet(t *testing.T, store *app.Store) *app.ImageSet {
	eng := apptest.NewFakeEngine(0)
	eng.Grid = 2
	st := app.DefaultGenerationSettings()
	st.Prompt, st.Seed, st.FixedSeed = "a fox", 7, true
	j, err := app.StartGeneration(context.Background(), eng, app.GenerationRequest{Settings: st, Store: store}, app.GenerationCallbacks{})
	if err != nil {
		t.Error(err)
		return nil
	}
	if err := j.Wait(); err != nil {
		t.Error(err)
		return nil
	}
	set, err := store.LoadSet(j.SetID())
	if err != nil {
		t.Error(err)
		return nil
	}
	return set
}
