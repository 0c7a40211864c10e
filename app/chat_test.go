package app_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
	"github.com/janus-desktop/janus/model"
)

// recorder collects a reply's callbacks.
type recorder struct {
	mu       sync.Mutex
	texts    []string
	question *app.ChatMessage
	done     *app.ChatMessage
	first    chan struct{} // closed at the first piece of text
}

func newRecorder() *recorder { return &recorder{first: make(chan struct{})} }

func (r *recorder) callbacks() app.ChatCallbacks {
	return app.ChatCallbacks{
		OnText: func(i int, m app.ChatMessage) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.texts) == 0 {
				close(r.first)
			}
			r.texts = append(r.texts, m.Text)
		},
		OnQuestion: func(i int, m app.ChatMessage) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.question = &m
		},
		OnDone: func(i int, m app.ChatMessage) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.done = &m
		},
	}
}

// send sends and waits for the reply.
func send(t *testing.T, s *app.ChatSession, text string, images ...string) *recorder {
	t.Helper()
	return answered(t, func(cb app.ChatCallbacks) (*app.Job, error) { return s.Send(text, images, cb) })
}

// answered starts a reply with start and waits for it.
func answered(t *testing.T, start func(app.ChatCallbacks) (*app.Job, error)) *recorder {
	t.Helper()
	r := newRecorder()
	j, err := start(r.callbacks())
	if err != nil {
		t.Fatal(err)
	}
	j.Wait()
	if r.done == nil {
		t.Fatal("OnDone was not called")
	}
	return r
}

func TestChatStreams(t *testing.T) {
	store := openStore(t)
	eng := apptest.NewFakeEngine(time.Millisecond)
	s := app.NewChatSession(store, eng, model.AnswerOptions{})
	img := writePNG(t, t.TempDir(), "street.png", 64, 48)
	r := send(t, s, "What is written on this sign?", img)

	want := "This is a fake answer."
	if len(r.texts) != 5 || r.texts[0] != "This" || r.texts[4] != want {
		t.Errorf("OnText saw %q, want the answer growing word by word", r.texts)
	}
	if r.done.State != app.StateDone || r.done.Text != want || r.done.Tokens != 5 || r.done.TokensPerSecond <= 0 {
		t.Errorf("OnDone got %+v", *r.done)
	}
	if r.question == nil || len(r.question.Images) != 1 || r.question.Images[0].Name != "street.png" || r.question.Images[0].SHA256 == "" {
		t.Errorf("OnQuestion got %+v", r.question)
	}
	msgs := s.Messages()
	if len(msgs) != 2 || msgs[0].Assistant || !msgs[1].Assistant || msgs[1].Text != want || s.AnswerText(1) != want {
		t.Fatalf("messages %+v", msgs)
	}
	if s.Busy() {
		t.Error("Busy after the reply ended")
	}
	q := eng.Questions()
	if len(q) != 1 || q[0].Text != "What is written on this sign?" || len(q[0].Images) != 1 || q[0].Images[0].Width != 64 {
		t.Errorf("the engine was asked %+v", q)
	}
	// The chat is in the history, titled by its question, with its image stored.
	if s.ID() == "" || s.Title() != "What is written on this sign?" {
		t.Errorf("ID %q, title %q", s.ID(), s.Title())
	}
	rec, err := store.LoadChat(s.ID())
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Messages) != 2 || rec.Messages[1].Text != want || rec.Messages[1].State != app.StateDone || rec.Model != "fake" {
		t.Errorf("saved chat %+v", rec)
	}
	if _, err := os.Stat(store.ImagePath(rec.Messages[0].Images[0])); err != nil {
		t.Errorf("the attached image is not in the store: %v", err)
	}
}

// A question's images are in the store (file, thumbnail, record) from the moment Send
// returns, while the reply has not written a word yet, so a window can show them at once.
// A chat whose first question is a picture alone is titled by the picture's name, or by its
// size where it has none (pasted, or made in Create): all were "New chat".
func TestChatTitleOfPictureAlone(t *testing.T) {
	store := openStore(t)
	s := app.NewChatSession(store, apptest.NewFakeEngine(0), model.AnswerOptions{})
	data, err := os.ReadFile(writePNG(t, t.TempDir(), "x.png", 64, 48))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := store.PutImage(data)
	if err != nil {
		t.Fatal(err)
	}
	send(t, s, "", store.ImagePath(ref))
	if got := s.Title(); got != "Picture, 64×48" {
		t.Errorf("title %q, want the picture's size", got)
	}
	named := app.NewChatSession(store, apptest.NewFakeEngine(0), model.AnswerOptions{})
	send(t, named, "", writePNG(t, t.TempDir(), "street.png", 64, 48))
	if got := named.Title(); got != "street.png" {
		t.Errorf("title %q, want the picture's name", got)
	}
}

func TestChatSendStoresImagesBeforeReply(t *testing.T) {
	tests := []struct {
		name  string
		store *app.Store
	}{
		{"store", openStore(t)},
		{"no store", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := apptest.NewFakeEngine(time.Hour) // no word comes before Stop
			s := app.NewChatSession(tc.store, eng, model.AnswerOptions{})
			img := writePNG(t, t.TempDir(), "street.png", 64, 48)
			r := newRecorder()
			j, err := s.Send("What is this?", []string{img}, r.callbacks())
			if err != nil {
				t.Fatal(err)
			}
			defer func() { s.Stop(); j.Wait() }()

			msgs := s.Messages()
			if len(msgs) != 2 || len(msgs[0].Images) != 1 || msgs[1].State != app.StateStreaming || msgs[1].Text != "" {
				t.Fatalf("messages right after Send: %+v", msgs)
			}
			ref := msgs[0].Images[0]
			if ref.Name != "street.png" || ref.SHA256 == "" || ref.Width != 64 || ref.Height != 48 {
				t.Errorf("the question's image ref %+v", ref)
			}
			want, err := os.ReadFile(img)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(s.ImagePath(ref))
			if err != nil || string(got) != string(want) {
				t.Fatalf("ImagePath(%+v) = %q: %v (same bytes: %v)", ref, s.ImagePath(ref), err, string(got) == string(want))
			}
			if tc.store == nil {
				if s.ImagePath(ref) != img {
					t.Errorf("without a store ImagePath = %q, want the attached file %q", s.ImagePath(ref), img)
				}
				return
			}
			if s.ImagePath(ref) != tc.store.ImagePath(ref) {
				t.Errorf("ImagePath = %q, want the stored copy %q", s.ImagePath(ref), tc.store.ImagePath(ref))
			}
			thumb, err := tc.store.ThumbnailPath(ref)
			if err != nil {
				t.Fatalf("ThumbnailPath right after Send: %v", err)
			}
			if _, err := os.Stat(thumb); err != nil {
				t.Error(err)
			}
			rec, err := tc.store.LoadChat(s.ID())
			if err != nil {
				t.Fatalf("the chat is not in the history right after Send: %v", err)
			}
			if len(rec.Messages) != 2 || len(rec.Messages[0].Images) != 1 || rec.Messages[0].Images[0].SHA256 != ref.SHA256 {
				t.Errorf("the saved record's messages %+v", rec.Messages)
			}
			select {
			case <-r.first:
				t.Error("the reply wrote before Stop: the check above did not run before it")
			default:
			}
		})
	}
}

func TestChatMultiTurnKeepsConversation(t *testing.T) {
	eng := apptest.NewFakeEngine(0)
	s := app.NewChatSession(nil, eng, model.AnswerOptions{})
	img := writePNG(t, t.TempDir(), "a.png", 8, 8)
	send(t, s, "first", img)
	send(t, s, "second")
	send(t, s, "third", img)
	// One conversation for all turns: the engine keeps its KV cache.
	if h := eng.Histories(); len(h) != 1 || len(h[0]) != 0 {
		t.Errorf("conversations built: %d (%v), want one, empty", len(h), h)
	}
	q := eng.Questions()
	// The same picture is the same *model.Image each time, so the engine encodes it once.
	if len(q) != 3 || q[0].Images[0] != q[2].Images[0] {
		t.Errorf("questions %+v: the image was prepared twice", q)
	}

	// After a model switch the conversation is rebuilt from the messages, images included.
	eng2 := apptest.NewFakeEngine(0)
	s.SetEngine(eng2)
	send(t, s, "fourth")
	h := eng2.Histories()
	if len(h) != 1 || len(h[0]) != 6 || h[0][0].Text != "first" || len(h[0][0].Images) != 1 || !h[0][5].Assistant || len(h[0][4].Images) != 1 {
		t.Fatalf("history after the switch: %+v", h)
	}
	if len(s.Messages()) != 8 {
		t.Errorf("%d messages, want 8", len(s.Messages()))
	}
}

func TestChatStop(t *testing.T) {
	store := openStore(t)
	eng := apptest.NewFakeEngine(20 * time.Millisecond)
	s := app.NewChatSession(store, eng, model.AnswerOptions{})
	r := newRecorder()
	j, err := s.Send("tell me a long story", nil, r.callbacks())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send("again", nil, app.ChatCallbacks{}); err == nil {
		t.Error("a second Send while answering was accepted")
	}
	<-r.first
	s.Stop()
	if err := j.Wait(); err == nil {
		t.Error("the stopped reply's job has no error")
	}
	if r.done.State != app.StateStopped || !strings.HasPrefix(r.done.Text, "This") || r.done.Text == "This is a fake answer." {
		t.Fatalf("stopped answer %+v, want state stopped with the words written so far", *r.done)
	}
	msgs := s.Messages()
	if msgs[1].State != app.StateStopped || msgs[1].Text != r.done.Text {
		t.Errorf("stored message %+v", msgs[1])
	}
	rec, _ := store.LoadChat(s.ID())
	if rec.Messages[1].State != app.StateStopped || rec.Messages[1].Text != r.done.Text {
		t.Errorf("saved answer %+v", rec.Messages[1])
	}
	// The next turn sees what was written before the stop.
	eng.Delay = 0
	send(t, s, "go on")
	h := eng.Histories()
	if len(h) != 2 || len(h[1]) != 2 || h[1][1].Text != r.done.Text {
		t.Errorf("histories %+v, want a rebuilt conversation holding the stopped answer", h)
	}
}

func TestChatErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.png")
	os.WriteFile(text, []byte("not an image"), 0o644)

	s := app.NewChatSession(nil, nil, model.AnswerOptions{})
	if _, err := s.Send("hello", nil, app.ChatCallbacks{}); err == nil || !strings.Contains(err.Error(), "no model") {
		t.Errorf("Send without an engine: %v", err)
	}
	eng := apptest.NewFakeEngine(0)
	s.SetEngine(eng)
	if _, err := s.Send("  ", nil, app.ChatCallbacks{}); err == nil {
		t.Error("an empty question was sent")
	}
	if _, err := s.Send("what is this?", []string{text}, app.ChatCallbacks{}); !errors.Is(err, app.ErrNotImage) {
		t.Errorf("Send with a text file: %v", err)
	}
	if _, err := s.Send("what is this?", []string{dir}, app.ChatCallbacks{}); !errors.Is(err, app.ErrNotImage) {
		t.Errorf("Send with a folder: %v", err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("refused sends left %d messages", n)
	}
}

func TestChatContextFull(t *testing.T) {
	eng := apptest.NewFakeEngine(0)
	eng.ContextLimit = 20
	s := app.NewChatSession(nil, eng, model.AnswerOptions{})
	send(t, s, "one two three")
	r := send(t, s, strings.Repeat("word ", 20))
	want := "This conversation is longer than the model's context (20 tokens). Start a new chat to continue."
	if r.done.State != app.StateError || r.done.Error != want {
		t.Errorf("answer %+v, want the context-full message", *r.done)
	}
	// The failed turn stays on screen but the model does not see it.
	s.SetEngine(eng)
	send(t, s, "short")
	h := eng.Histories()
	if len(h) != 2 || len(h[1]) != 2 || h[1][0].Text != "one two three" {
		t.Errorf("rebuilt history %+v, want the first turn only", h)
	}

	// A first question too long by itself: a new chat would not help, a shorter one would.
	first := app.NewChatSession(nil, eng, model.AnswerOptions{})
	r = send(t, first, strings.Repeat("word ", 30))
	if r.done.State != app.StateError || !strings.Contains(r.done.Error, "The question is too long") ||
		!strings.Contains(r.done.Error, "at most 20") || strings.Contains(r.done.Error, "new chat") {
		t.Errorf("a first question over the context: %q", r.done.Error)
	}
	// Images are named only when the question has some.
	if strings.Contains(r.done.Error, "image") {
		t.Errorf("a question without images over the context: %q", r.done.Error)
	}
	eng.ImageWords = 10
	withImage := app.NewChatSession(nil, eng, model.AnswerOptions{})
	r = send(t, withImage, strings.Repeat("word ", 15), writePNG(t, t.TempDir(), "dog.png", 30, 20))
	if r.done.State != app.StateError || !strings.Contains(r.done.Error, "with its images") || !strings.Contains(r.done.Error, "attach fewer images") {
		t.Errorf("a first question with an image over the context: %q", r.done.Error)
	}
}

func TestChatReopen(t *testing.T) {
	store := openStore(t)
	img := writePNG(t, t.TempDir(), "dog.png", 30, 20)
	eng := apptest.NewFakeEngine(0)
	s := app.NewChatSession(store, eng, model.AnswerOptions{})
	send(t, s, "what animal?", img)
	s.Close()
	// The original file is gone: the chat keeps its own copy.
	os.Remove(img)

	if err := store.Rename(s.ID(), "The dog chat"); err != nil {
		t.Fatal(err)
	}
	eng2 := apptest.NewFakeEngine(0)
	s2, err := app.OpenChatSession(store, s.ID(), eng2, model.AnswerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s2.Title() != "The dog chat" || len(s2.Messages()) != 2 {
		t.Errorf("reopened: %q, %d messages", s2.Title(), len(s2.Messages()))
	}
	r := send(t, s2, "what colour?")
	if r.done.State != app.StateDone {
		t.Fatalf("reply in the reopened chat: %+v", *r.done)
	}
	h := eng2.Histories()
	if len(h) != 1 || len(h[0]) != 2 || len(h[0][0].Images) != 1 || h[0][0].Images[0].Width != 30 {
		t.Errorf("rebuilt history %+v, want the first turn with its image", h)
	}
	rec, _ := store.LoadChat(s2.ID())
	if rec.Title != "The dog chat" || len(rec.Messages) != 4 {
		t.Errorf("saved: %q with %d messages", rec.Title, len(rec.Messages))
	}
	// A deleted chat is not brought back by a later reply.
	if err := store.Delete(s2.ID()); err != nil {
		t.Fatal(err)
	}
	send(t, s2, "still there?")
	if _, err := store.LoadChat(s2.ID()); err == nil {
		t.Error("a reply saved a deleted chat again")
	}
}

// A streaming answer is saved with the text so far every saveEvery, so that a crash keeps it,
// and only when the text grew; the answer's final save comes last.
func TestChatSavesWhileStreaming(t *testing.T) {
	store := openStore(t)
	eng := apptest.NewFakeEngine(10 * time.Millisecond)
	eng.Words = strings.Fields(strings.Repeat("a long story ", 100)) // 3 s: Stop ends it
	full := strings.Join(eng.Words, " ")
	s := app.NewChatSession(store, eng, model.AnswerOptions{})
	s.SetSaveEvery(20 * time.Millisecond)
	r := newRecorder()
	j, err := s.Send("tell me a long story", nil, r.callbacks())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Stop(); j.Wait() }()

	// savedAnswer waits until the file holds a streaming answer longer than n bytes.
	savedAnswer := func(n int) app.ChatMessage {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			rec, err := store.LoadChat(s.ID())
			if err != nil {
				t.Fatal(err)
			}
			if m := rec.Messages[1]; m.State != app.StateStreaming || len(m.Text) > n {
				return m
			}
			if !s.Busy() {
				break
			}
		}
		t.Fatalf("the file holds no more than %d bytes of the streaming answer", n)
		return app.ChatMessage{}
	}
	first := savedAnswer(0)
	if first.State != app.StateStreaming || !strings.HasPrefix(full, first.Text) || first.Tokens == 0 {
		t.Fatalf("saved while streaming: %s, %d tokens, %q, want a streaming answer with the start of the answer", first.State, first.Tokens, short(first.Text))
	}
	if later := savedAnswer(len(first.Text)); later.State != app.StateStreaming || !strings.HasPrefix(full, later.Text) {
		t.Errorf("saved later: %s, %q, want more of the answer, still streaming", later.State, short(later.Text))
	}
	s.Stop()
	j.Wait()
	rec, err := store.LoadChat(s.ID())
	if err != nil {
		t.Fatal(err)
	}
	if m := rec.Messages[1]; m.State != app.StateStopped || m.Text != r.done.Text {
		t.Errorf("saved after Stop: %s, %q, want the stopped answer %q", m.State, short(m.Text), short(r.done.Text))
	}

	// No text yet: no save.
	slow := apptest.NewFakeEngine(time.Hour)
	s2 := app.NewChatSession(store, slow, model.AnswerOptions{})
	s2.SetSaveEvery(time.Millisecond)
	j2, err := s2.Send("are you there?", nil, app.ChatCallbacks{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s2.Stop(); j2.Wait() }()
	before, err := store.LoadChat(s2.ID())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if after, err := store.LoadChat(s2.ID()); err != nil || !after.Updated.Equal(before.Updated) {
		t.Errorf("an answer with no text yet was saved again (updated %v, then %v; %v)", before.Updated, after.Updated, err)
	}
}

// short is the start of a long text, for a message.
func short(s string) string {
	if len(s) > 40 {
		return s[:40] + fmt.Sprintf("… (%d bytes)", len(s))
	}
	return s
}

// interruptedChat saves a chat the app died in while it answered: the file holds the answer
// as last saved, streaming.
func interruptedChat(t *testing.T, store *app.Store, answer string) string {
	t.Helper()
	now := time.Now().UTC()
	rec := &app.ChatRecord{Messages: []app.ChatMessage{
		{Text: "tell me a long story", State: app.StateDone, Time: now},
		{Assistant: true, Text: answer, State: app.StateStreaming, Tokens: len(strings.Fields(answer)), Time: now},
	}}
	if err := store.SaveChat(rec); err != nil {
		t.Fatal(err)
	}
	return rec.ID
}

// An answer a chat file left streaming (the app died while writing it) reopens interrupted,
// not stopped, with its text; a follow-up question continues from it.
func TestChatReopenInterrupted(t *testing.T) {
	store := openStore(t)
	for _, answer := range []string{"Once upon a time there was", ""} {
		id := interruptedChat(t, store, answer)
		eng := apptest.NewFakeEngine(0)
		s, err := app.OpenChatSession(store, id, eng, model.AnswerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		msgs := s.Messages()
		if msgs[0].State != app.StateDone || msgs[1].State != app.StateInterrupted || msgs[1].Text != answer {
			t.Errorf("reopened %q: %+v", answer, msgs)
		}
		r := send(t, s, "go on")
		if r.done.State != app.StateDone {
			t.Fatalf("the follow-up of an interrupted answer: %+v", *r.done)
		}
		// The model sees what was written, as after a Stop; an empty answer is left out.
		h := eng.Histories()
		want := 2
		if answer == "" {
			want = 0
		}
		if len(h) != 1 || len(h[0]) != want || want > 0 && h[0][1].Text != answer {
			t.Errorf("the follow-up of %q continued from %+v", answer, h)
		}
		rec, err := store.LoadChat(id)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Messages) != 4 || rec.Messages[1].State != app.StateInterrupted || rec.Messages[3].State != app.StateDone {
			t.Errorf("saved after the follow-up: %+v", rec.Messages)
		}
	}
}

// BenchmarkChatSave is one save of a chat whose answer holds about 1,000, 4,000 and 16,000
// tokens (the longest answer length), as the saver makes every few seconds while it streams.
func BenchmarkChatSave(b *testing.B) {
	for _, kb := range []int{4, 16, 64} {
		b.Run(fmt.Sprintf("%dKB", kb), func(b *testing.B) {
			store, err := app.OpenStore(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			rec := &app.ChatRecord{Messages: []app.ChatMessage{
				{Text: "tell me a long story", State: app.StateDone},
				{Assistant: true, Text: strings.Repeat("word ", kb<<10/5), State: app.StateStreaming},
			}}
			for b.Loop() {
				if _, err := store.SaveChatUnlessDeleted(rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A chat whose image left the history folder says, on a follow-up, what to do instead.
func TestChatImageMissingOnFollowUp(t *testing.T) {
	store := openStore(t)
	img := writePNG(t, t.TempDir(), "dog.png", 30, 20)
	s := app.NewChatSession(store, apptest.NewFakeEngine(0), model.AnswerOptions{})
	send(t, s, "what animal?", img)
	s.Close()
	rec, err := store.LoadChat(s.ID())
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(img)
	os.Remove(store.ImagePath(rec.Messages[0].Images[0]))
	s2, err := app.OpenChatSession(store, s.ID(), apptest.NewFakeEngine(0), model.AnswerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := send(t, s2, "what colour?")
	if r.done.State != app.StateError || !strings.Contains(r.done.Error, "dog.png") || !strings.Contains(r.done.Error, "new chat") {
		t.Errorf("follow-up without the chat's image: %+v", *r.done)
	}
}

// answering starts a slow answer in a new chat of store and returns once it has begun.
func answering(t *testing.T, store *app.Store) (*app.ChatSession, *recorder, *app.Job) {
	t.Helper()
	s := app.NewChatSession(store, apptest.NewFakeEngine(20*time.Millisecond), model.AnswerOptions{})
	r := newRecorder()
	j, err := s.Send("what is slow?", nil, r.callbacks())
	if err != nil {
		t.Fatal(err)
	}
	<-r.first
	return s, r, j
}

// slowStart is a FakeEngine whose conversations start only once started is closed, and
// which says so on entered: a reply is then being set up.
type slowStart struct {
	*apptest.FakeEngine
	entered, started chan struct{}
}

func (e slowStart) NewConversation(history []model.Message) (app.Conversation, error) {
	close(e.entered)
	<-e.started
	return e.FakeEngine.NewConversation(history)
}

// An answer stopped while it was being set up (its conversation not yet made) is stopped,
// saying why, as one stopped later is: it failed with "the model was changed".
func TestChatStoppedWhileStarting(t *testing.T) {
	for _, c := range []struct {
		name string
		stop func(*app.ChatSession)
		want string
	}{
		{"the app quit", (*app.ChatSession).Quit, "Janus Desktop was closed"},
		{"another model", func(s *app.ChatSession) { s.SetEngine(apptest.NewFakeEngine(0)) }, "the model was changed"},
		{"Stop", (*app.ChatSession).Stop, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := slowStart{apptest.NewFakeEngine(0), make(chan struct{}), make(chan struct{})}
			s := app.NewChatSession(openStore(t), e, model.AnswerOptions{})
			r := newRecorder()
			j, err := s.Send("what is slow?", nil, r.callbacks())
			if err != nil {
				t.Fatal(err)
			}
			<-e.entered
			c.stop(s)
			close(e.started)
			j.Wait()
			<-s.Idle()
			if r.done == nil || r.done.State != app.StateStopped || r.done.Stopped != c.want || r.done.Error != "" {
				t.Errorf("the answer: %+v; want stopped, saying %q", r.done, c.want)
			}
		})
	}
}

// An answer whose final save fails (a full disk, a folder gone) says so on itself, in words,
// and keeps its text in the session; the chat's next save writes it, without the note.
func TestChatFinalSaveFails(t *testing.T) {
	store := openStore(t)
	s, r, j := answering(t, store)
	// A file where the chats folder was: every write of a chat fails, even as root.
	chats := filepath.Join(store.Root(), "chats")
	if err := os.Rename(chats, chats+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(chats, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	j.Wait()
	want := "fake answer."
	if r.done == nil || r.done.State != app.StateDone || !strings.HasSuffix(r.done.Text, want) ||
		!strings.HasPrefix(r.done.Error, "Not saved in the history: ") || !strings.Contains(r.done.Error, "Copy keeps the text") {
		t.Fatalf("the answer whose save failed: %+v", r.done)
	}
	if m := s.Messages()[1]; m.Error != r.done.Error || m.Text != r.done.Text {
		t.Errorf("the session holds %+v", m)
	}
	// The folder is back: the next question saves the whole chat, and the note goes.
	os.Remove(chats)
	if err := os.Rename(chats+".away", chats); err != nil {
		t.Fatal(err)
	}
	r2 := newRecorder()
	j2, err := s.Send("and now?", nil, r2.callbacks())
	if err != nil {
		t.Fatal(err)
	}
	<-r2.first // the question is saved, with the answer before it
	if m := s.Messages()[1]; m.Error != "" {
		t.Errorf("after the chat was saved the answer still says %q", m.Error)
	}
	rec, err := store.LoadChat(s.ID())
	if err != nil || rec.Messages[1].Error != "" || !strings.HasSuffix(rec.Messages[1].Text, want) {
		t.Errorf("saved with the next question: %+v, %v", rec.Messages, err)
	}
	j2.Wait()
	rec, err = store.LoadChat(s.ID())
	if err != nil || len(rec.Messages) != 4 || rec.Messages[1].State != app.StateDone || rec.Messages[1].Error != "" ||
		!strings.HasSuffix(rec.Messages[1].Text, want) {
		t.Errorf("saved: %+v, %v", rec.Messages, err)
	}
}

// WriteProblem names a full disk by the folder written to, not by the temporary file.
func TestWriteProblem(t *testing.T) {
	full := fmt.Errorf("the chat could not be saved: %w", &os.PathError{Op: "write", Path: "/data/chats/.x.json.123.tmp", Err: syscall.ENOSPC})
	if got, want := app.WriteProblem(full), "the disk holding /data/chats is full"; got != want {
		t.Errorf("WriteProblem(%v) = %q, want %q", full, got, want)
	}
	other := errors.New("open /data/chats: permission denied")
	if got := app.WriteProblem(other); got != other.Error() {
		t.Errorf("WriteProblem(%v) = %q", other, got)
	}
}

// A stopped answer says why when it was not the user's Stop: another model, the chat left.
func TestChatStoppedWhy(t *testing.T) {
	for _, c := range []struct {
		name string
		stop func(*app.ChatSession)
		want string
	}{
		{"Stop", (*app.ChatSession).Stop, ""},
		{"another model", func(s *app.ChatSession) { s.SetEngine(apptest.NewFakeEngine(0)) }, "the model was changed"},
		{"the chat left", (*app.ChatSession).Close, "the chat was left"},
		{"the app quit", (*app.ChatSession).Quit, "Janus Desktop was closed"},
		// Stop first: the user's, whatever ends the chat after it.
		{"Stop, then the chat left", func(s *app.ChatSession) { s.Stop(); s.Close() }, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			store := openStore(t)
			s, r, j := answering(t, store)
			c.stop(s)
			// Idle waits for the answer's last save: the file says what the screen says.
			<-s.Idle()
			select {
			case <-j.Done():
			default:
				t.Fatal("Idle before the reply ended")
			}
			if r.done.State != app.StateStopped || r.done.Stopped != c.want {
				t.Errorf("stopped answer: state %s, why %q; want %q", r.done.State, r.done.Stopped, c.want)
			}
			rec, err := store.LoadChat(s.ID())
			if err != nil || rec.Messages[1].State != app.StateStopped || rec.Messages[1].Stopped != c.want || rec.Messages[1].Text != r.done.Text {
				t.Errorf("saved: %+v, %v", rec.Messages, err)
			}
		})
	}
}

// A panic in the engine mid-answer ends the answer as failed, kept with what was written
// and saved so, and the session takes the next question.
func TestChatEnginePanic(t *testing.T) {
	store := openStore(t)
	eng := apptest.NewFakeEngine(0)
	eng.PanicAfter = 2
	s := app.NewChatSession(store, eng, model.AnswerOptions{})
	r := send(t, s, "hello")
	if r.done.State != app.StateError || !strings.Contains(r.done.Error, "internal error") {
		t.Fatalf("the answer ended %q: %q", r.done.State, r.done.Error)
	}
	rec, err := store.LoadChat(s.ID())
	if err != nil {
		t.Fatal(err)
	}
	if m := rec.Messages[1]; m.State != app.StateError || m.Text != "This is" {
		t.Errorf("saved as %q with %q", m.State, m.Text)
	}
	if s.Busy() {
		t.Fatal("the session is still busy")
	}
	eng.PanicAfter = 0
	if r := send(t, s, "again"); r.done.State != app.StateDone {
		t.Errorf("the next answer ended %q", r.done.State)
	}
}

// A question refused before its first word can be taken back (the window puts it back into
// the composer): a first one leaves no chat in the history, a later one leaves the chat as it
// was; a question that got an answer, or one no longer the last, is not taken back.
func TestChatWithdraw(t *testing.T) {
	store := openStore(t)
	eng := apptest.NewFakeEngine(0)
	eng.ContextLimit = 20
	s := app.NewChatSession(store, eng, model.AnswerOptions{})
	send(t, s, strings.Repeat("word ", 30))
	if entries, _, _ := store.List(); len(entries) != 1 {
		t.Fatalf("%d history entries after the refused question, want its chat", len(entries))
	}
	if err := s.Withdraw(0); err != nil {
		t.Fatal(err)
	}
	if entries, _, _ := store.List(); len(entries) != 0 || len(s.Messages()) != 0 || s.ID() != "" {
		t.Fatalf("after taking back the only question: %d entries, %d messages, id %q", len(entries), len(s.Messages()), s.ID())
	}
	send(t, s, "one two three")
	if entries, _, _ := store.List(); len(entries) != 1 || s.ID() == "" {
		t.Fatalf("a question after it: %d entries, id %q", len(entries), s.ID())
	}
	if err := s.Withdraw(0); err != nil || len(s.Messages()) != 2 {
		t.Errorf("an answered question was taken back: %v, %d messages", err, len(s.Messages()))
	}
	send(t, s, strings.Repeat("word ", 20))
	if err := s.Withdraw(2); err != nil {
		t.Fatal(err)
	}
	rec, err := store.LoadChat(s.ID())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Messages()) != 2 || len(rec.Messages) != 2 || rec.Messages[1].State != app.StateDone {
		t.Errorf("after taking back the second question: %d messages, %d saved", len(s.Messages()), len(rec.Messages))
	}
}

// retry runs Retry and waits for its answer.
func retry(t *testing.T, s *app.ChatSession) *recorder {
	t.Helper()
	return answered(t, s.Retry)
}

// Retry answers the last question again in place of its answer, on a conversation rebuilt
// without that answer; one that fails or is stopped before its first word puts the previous
// answer back, which the chat's file kept all along.
func TestChatRetry(t *testing.T) {
	store := openStore(t)
	eng := apptest.NewFakeEngine(0)
	s := app.NewChatSession(store, eng, model.AnswerOptions{})
	if _, err := s.Retry(app.ChatCallbacks{}); err == nil {
		t.Error("Retry of a chat without an answer was accepted")
	}
	send(t, s, "first")
	send(t, s, "second")
	eng.Words = strings.Fields("Another answer.")
	if r := retry(t, s); r.done.State != app.StateDone || r.done.Text != "Another answer." {
		t.Fatalf("the retried answer %+v", *r.done)
	}
	msgs := s.Messages()
	if len(msgs) != 4 || msgs[2].Text != "second" || msgs[3].Text != "Another answer." || msgs[1].Text != "This is a fake answer." {
		t.Fatalf("messages after Retry: %+v", msgs)
	}
	h, q := eng.Histories(), eng.Questions()
	if len(h) != 2 || len(h[1]) != 2 || h[1][0].Text != "first" || q[len(q)-1].Text != "second" {
		t.Errorf("the retry's conversation %+v, question %+v: want the first turn alone, then the second question", h, q[len(q)-1])
	}
	if rec, err := store.LoadChat(s.ID()); err != nil || len(rec.Messages) != 4 || rec.Messages[3].Text != "Another answer." {
		t.Fatalf("saved after Retry: %v %+v", err, rec)
	}

	// Another model answers again.
	eng2 := apptest.NewFakeEngine(0)
	eng2.Words = strings.Fields("A bigger answer.")
	s.SetEngine(eng2)
	if r := retry(t, s); r.done.Text != "A bigger answer." {
		t.Errorf("after the switch: %q", r.done.Text)
	}
	kept := s.Messages()[3]

	// Failing before its first word (the question no longer fits): the answer is put back,
	// OnDone says why as a failed answer would, and the file is not written again.
	before, err := store.LoadChat(s.ID())
	if err != nil {
		t.Fatal(err)
	}
	eng2.ContextLimit = 3
	r := retry(t, s)
	if r.done.State != app.StateDone || r.done.Text != kept.Text || !strings.Contains(r.done.Error, "Could not answer again. This conversation") ||
		!strings.Contains(r.done.Error, "new chat to continue") {
		t.Errorf("a failed retry ended with %+v", *r.done)
	}
	if after, _ := store.LoadChat(s.ID()); !after.Updated.Equal(before.Updated) {
		t.Errorf("a retry that changed nothing rewrote the chat (updated %v, was %v)", after.Updated, before.Updated)
	}
	if m := s.Messages()[3]; m.Text != kept.Text || m.State != app.StateDone || m.Error != "" || !m.Time.Equal(kept.Time) {
		t.Errorf("after a failed retry the answer is %+v, want %+v", m, kept)
	}
	if rec, _ := store.LoadChat(s.ID()); rec.Messages[3].Text != kept.Text || rec.Messages[3].Error != "" {
		t.Errorf("saved after a failed retry: %+v", rec.Messages[3])
	}

	// Stopped before its first word: the file keeps the answer while the retry runs, and the
	// answer is put back.
	eng2.ContextLimit, eng2.Delay = 0, time.Hour
	r = newRecorder()
	j, err := s.Retry(r.callbacks())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Retry(app.ChatCallbacks{}); err == nil {
		t.Error("a second Retry while answering was accepted")
	}
	if rec, _ := store.LoadChat(s.ID()); rec.Messages[3].Text != kept.Text {
		t.Errorf("the file while the retry runs: %+v", rec.Messages[3])
	}
	s.Stop()
	j.Wait()
	if r.done == nil || r.done.Text != kept.Text || r.done.Error != "" || s.Messages()[3].State != app.StateDone {
		t.Errorf("a retry stopped before its first word ended with %+v, answer %+v", r.done, s.Messages()[3])
	}

	// An empty answer (the model's end of text first) puts the answer back too.
	eng2.Delay, eng2.Words = 0, nil
	if r := retry(t, s); r.done.Text != kept.Text || !strings.Contains(r.done.Error, "Could not answer again. The model gave an empty answer.") || s.Messages()[3].Text != kept.Text {
		t.Errorf("an empty retry ended with %+v, answer %+v", *r.done, s.Messages()[3])
	}
	eng2.Words = strings.Fields("This is a fake answer.")

	// The next question's conversation holds the answer put back.
	eng2.Delay = 0
	send(t, s, "third")
	h = eng2.Histories()
	if last := h[len(h)-1]; len(last) != 4 || last[3].Text != kept.Text {
		t.Errorf("the conversation after the answer was put back: %+v", last)
	}

	s.SetEngine(nil)
	if _, err := s.Retry(app.ChatCallbacks{}); err == nil || !strings.Contains(err.Error(), "no model") {
		t.Errorf("Retry without an engine: %v", err)
	}
}

// edit runs Edit and waits for its answer; undone reports whether OnUndone was called
// (before OnDone).
func edit(t *testing.T, s *app.ChatSession, text string, images ...string) (r *recorder, undone bool) {
	t.Helper()
	var mu sync.Mutex
	ended := false
	r = answered(t, func(cb app.ChatCallbacks) (*app.Job, error) {
		done := cb.OnDone
		cb.OnDone = func(i int, m app.ChatMessage) {
			mu.Lock()
			ended = true
			mu.Unlock()
			done(i, m)
		}
		cb.OnUndone = func() {
			mu.Lock()
			defer mu.Unlock()
			if ended {
				t.Error("OnUndone after OnDone")
			}
			undone = true
		}
		return s.Edit(text, images, cb)
	})
	mu.Lock()
	defer mu.Unlock()
	return r, undone
}

// Edit replaces the last question and its answer in place. Until the new answer's first word
// the chat's file keeps the old turn and the new pictures are not stored; an edit that fails,
// is stopped or is answered with nothing puts the old turn back, says so (OnUndone), and
// writes nothing.
func TestChatEdit(t *testing.T) {
	store := openStore(t)
	eng := apptest.NewFakeEngine(0)
	s := app.NewChatSession(store, eng, model.AnswerOptions{})
	if _, err := s.Edit("x", nil, app.ChatCallbacks{}); err == nil {
		t.Error("Edit of a chat without an answer was accepted")
	}
	dir := t.TempDir()
	first, kept, dropped := writePNG(t, dir, "first.png", 40, 30), writePNG(t, dir, "kept.png", 50, 30), writePNG(t, dir, "dropped.png", 60, 30)
	send(t, s, "first", first)
	send(t, s, "second", kept, dropped)
	old := s.Messages()
	keptRef, droppedRef := old[2].Images[0], old[2].Images[1]

	// While the edit waits for its first word: the messages keep their number, the file the
	// old turn, and the new picture is read from where it is, not stored.
	eng.Delay = time.Hour
	added := writePNG(t, dir, "added.png", 70, 30)
	r := newRecorder()
	j, err := s.Edit("  second, edited ", []string{store.ImagePath(keptRef), added}, r.callbacks())
	if err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages()
	if len(msgs) != 4 || msgs[2].Text != "second, edited" || len(msgs[2].Images) != 2 || msgs[2].Images[0].SHA256 != keptRef.SHA256 ||
		msgs[3].State != app.StateStreaming || msgs[3].Text != "" {
		t.Fatalf("messages while the edit waits: %+v", msgs)
	}
	addedRef := msgs[2].Images[1]
	if msgs[2].Images[0] != keptRef || addedRef.Name != "added.png" {
		t.Errorf("the edited question's pictures %+v: want the kept one's ref %+v as it was", msgs[2].Images, keptRef)
	}
	if _, err := os.Stat(store.ImagePath(addedRef)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the edit's new picture is stored before its question is written: %v", err)
	}
	if s.ImagePath(addedRef) != added || s.ImagePath(keptRef) != store.ImagePath(keptRef) {
		t.Errorf("ImagePath of the new picture %q (want %q), of the kept one %q", s.ImagePath(addedRef), added, s.ImagePath(keptRef))
	}
	if rec, _ := store.LoadChat(s.ID()); len(rec.Messages) != 4 || rec.Messages[2].Text != "second" || rec.Messages[3].Text != old[3].Text {
		t.Errorf("the file while the edit waits: %+v", rec.Messages)
	}
	if _, err := s.Edit("again", nil, app.ChatCallbacks{}); err == nil {
		t.Error("a second Edit while answering was accepted")
	}
	s.Stop()
	j.Wait()
	if r.done == nil || r.done.Text != old[3].Text || r.done.Error != "" {
		t.Errorf("an edit stopped before its first word ended with %+v", r.done)
	}
	if got := s.Messages(); got[2].Text != "second" || len(got[2].Images) != 2 || got[3].Text != old[3].Text || !got[2].Time.Equal(old[2].Time) {
		t.Errorf("after a stopped edit: %+v, want the old turn %+v", got[2:], old[2:])
	}
	if _, err := os.Stat(store.ImagePath(addedRef)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a stopped edit stored its picture: %v", err)
	}

	// Answered: the turn is replaced, saved with its new picture; the model saw the first
	// turn, then the edited question with its two pictures.
	eng.Delay = 0
	eng.Words = strings.Fields("An edited answer.")
	r, undone := edit(t, s, "second, edited", store.ImagePath(keptRef), added)
	if undone || r.done.State != app.StateDone || r.done.Text != "An edited answer." {
		t.Fatalf("the edit ended with %+v (undone %v)", *r.done, undone)
	}
	h, q := eng.Histories(), eng.Questions()
	if last := h[len(h)-1]; len(last) != 2 || last[0].Text != "first" || q[len(q)-1].Text != "second, edited" || len(q[len(q)-1].Images) != 2 {
		t.Errorf("the edit's conversation %+v and question %+v", last, q[len(q)-1])
	}
	rec, err := store.LoadChat(s.ID())
	if err != nil || len(rec.Messages) != 4 || rec.Messages[2].Text != "second, edited" || rec.Messages[3].Text != "An edited answer." {
		t.Fatalf("saved after the edit: %v %+v", err, rec)
	}
	if _, err := os.Stat(store.ImagePath(addedRef)); err != nil {
		t.Errorf("the edit's new picture was not stored with its question: %v", err)
	}
	if s.ImagePath(addedRef) != store.ImagePath(addedRef) {
		t.Errorf("ImagePath of the stored new picture %q", s.ImagePath(addedRef))
	}
	// The dropped picture is mentioned by no record now: Release removes it, and only it.
	store.Release([]string{store.ImagePath(droppedRef), store.ImagePath(keptRef)}, time.Now())
	if _, err := os.Stat(store.ImagePath(droppedRef)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the picture the edit dropped is still stored: %v", err)
	}
	if _, err := os.Stat(store.ImagePath(keptRef)); err != nil {
		t.Errorf("the picture the edit kept was removed: %v", err)
	}

	// An empty answer puts it back.
	before := s.Messages()
	eng.Words = nil
	if r, undone := edit(t, s, "third"); !undone || !strings.Contains(r.done.Error, "Could not answer the edited question. The model gave an empty answer.") || s.Messages()[2].Text != before[2].Text {
		t.Errorf("an empty edit ended with %+v (undone %v), question %q", *r.done, undone, s.Messages()[2].Text)
	}
	eng.Words = strings.Fields("This is a fake answer.")

	// Failing before its first word (too long for the model): the turn is put back, the file
	// is not written, and OnDone says why.
	saved, _ := store.LoadChat(s.ID())
	eng.ContextLimit = 3
	another := writePNG(t, dir, "another.png", 80, 30)
	r, undone = edit(t, s, "a much longer question that does not fit", another)
	if !undone || r.done.Text != "An edited answer." || !strings.Contains(r.done.Error, "Could not answer the edited question. ") {
		t.Errorf("a failed edit ended with %+v (undone %v)", *r.done, undone)
	}
	if got := s.Messages(); got[2].Text != before[2].Text || got[3].Text != before[3].Text || got[3].Error != "" || got[3].State != app.StateDone {
		t.Errorf("after a failed edit: %+v", got[2:])
	}
	if after, _ := store.LoadChat(s.ID()); !after.Updated.Equal(saved.Updated) {
		t.Errorf("a failed edit rewrote the chat (updated %v, was %v)", after.Updated, saved.Updated)
	}
	eng.ContextLimit = 0

	// The next question follows the turn put back.
	send(t, s, "fourth")
	h = eng.Histories()
	if last := h[len(h)-1]; len(last) != 4 || last[2].Text != "second, edited" || last[3].Text != "An edited answer." {
		t.Errorf("the conversation after the edit was put back: %+v", last)
	}
	// The failed edit's picture was never stored, nor by the saves since.
	if n := countImages(t, store); n != 3 {
		t.Errorf("%d pictures stored, want 3 (first, kept, added)", n)
	}

	s.SetEngine(nil)
	if _, err := s.Edit("x", nil, app.ChatCallbacks{}); err == nil || !strings.Contains(err.Error(), "no model") {
		t.Errorf("Edit without an engine: %v", err)
	}
}

// countImages counts the pictures in store's images folder.
func countImages(t *testing.T, store *app.Store) int {
	t.Helper()
	files, err := os.ReadDir(filepath.Join(store.Root(), "images"))
	if err != nil {
		t.Fatal(err)
	}
	return len(files)
}

// breakChats makes the store's chats folder a file, so that every save fails, until restore.
func breakChats(t *testing.T, store *app.Store) (restore func()) {
	chats := filepath.Join(store.Root(), "chats")
	if err := os.Rename(chats, chats+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(chats, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return func() {
		os.Remove(chats)
		if err := os.Rename(chats+".away", chats); err != nil {
			t.Fatal(err)
		}
	}
}

// An edit whose saves failed keeps its new picture pending; a second Edit that keeps the
// picture must still store it with the record that names it.
func TestChatEditAfterFailedSaveKeepsPicture(t *testing.T) {
	store := openStore(t)
	eng := apptest.NewFakeEngine(0)
	s := app.NewChatSession(store, eng, model.AnswerOptions{})
	send(t, s, "first")
	p := writePNG(t, t.TempDir(), "p.png", 40, 30)

	restore := breakChats(t, store)
	r, undone := edit(t, s, "first, with p", p)
	if undone || !strings.HasPrefix(r.done.Error, "Not saved") {
		t.Fatalf("edit 1: %+v undone %v", r.done, undone)
	}
	restore()
	pref := s.Messages()[0].Images[0]

	// Edit again, keeping the picture (the window attaches s.ImagePath(ref): the user's file).
	r, undone = edit(t, s, "first, with p, again", s.ImagePath(pref))
	if undone || r.done.Error != "" {
		t.Fatalf("edit 2: %+v", r.done)
	}
	rec, err := store.LoadChat(s.ID())
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Messages[0].Images) != 1 {
		t.Fatalf("record %+v", rec.Messages[0])
	}
	if _, err := os.Stat(store.ImagePath(rec.Messages[0].Images[0])); errors.Is(err, os.ErrNotExist) {
		t.Errorf("the saved record names picture %s but it was never stored", rec.Messages[0].Images[0].SHA256[:8])
	}
}

// The same when a Try again that writes nothing comes between: the picture stays pending,
// and the chat reopened can be answered.
func TestChatRetryUndoneAfterFailedEditSaveKeepsPicture(t *testing.T) {
	store := openStore(t)
	eng := apptest.NewFakeEngine(0)
	s := app.NewChatSession(store, eng, model.AnswerOptions{})
	send(t, s, "first")
	p := writePNG(t, t.TempDir(), "p.png", 40, 30)
	restore := breakChats(t, store)
	edit(t, s, "first, with p", p)
	restore()
	eng.Words = nil // the retry gets an empty answer: put back
	answered(t, func(cb app.ChatCallbacks) (*app.Job, error) { return s.Retry(cb) })
	eng.Words = strings.Fields("Fine.")
	send(t, s, "second") // saves the whole chat
	rec, err := store.LoadChat(s.ID())
	if err != nil {
		t.Fatal(err)
	}
	ref := rec.Messages[0].Images[0]
	if _, err := os.Stat(store.ImagePath(ref)); errors.Is(err, os.ErrNotExist) {
		t.Errorf("the saved record names picture %s but it was never stored", ref.SHA256[:8])
	}
	// Reopened (a restart), the chat can no longer be answered.
	s2, err := app.OpenChatSession(store, s.ID(), eng, model.AnswerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j, err := s2.Send("third", nil, app.ChatCallbacks{})
	if err != nil {
		t.Fatal(err)
	}
	j.Wait()
	if m := s2.Messages(); m[len(m)-1].State == app.StateError {
		t.Errorf("the reopened chat's next answer failed: %s", m[len(m)-1].Error)
	}
}

// An edit's new picture that the store holds already (another chat's) is written with the
// edit's record all the same: the other chat, deleted before the first word, does not sweep
// it from under the chat.
func TestChatEditPictureOfAnotherChatKept(t *testing.T) {
	store := openStore(t)
	eng := apptest.NewFakeEngine(0)
	p := writePNG(t, t.TempDir(), "p.png", 40, 30)
	a := app.NewChatSession(store, eng, model.AnswerOptions{})
	send(t, a, "in A", p)
	b := app.NewChatSession(store, eng, model.AnswerOptions{})
	send(t, b, "in B")

	eng.Delay = 200 * time.Millisecond
	r := newRecorder()
	j, err := b.Edit("in B, with p", []string{p}, r.callbacks())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(a.ID()); err != nil { // the user deletes chat A meanwhile
		t.Fatal(err)
	}
	j.Wait()
	eng.Delay = 0
	rec, err := store.LoadChat(b.ID())
	if err != nil {
		t.Fatal(err)
	}
	ref := rec.Messages[0].Images[0]
	if _, err := os.Stat(store.ImagePath(ref)); errors.Is(err, os.ErrNotExist) {
		t.Errorf("B's saved record names picture %s, which is not stored", ref.SHA256[:8])
	}
	// Reopened, B can be answered.
	b2, err := app.OpenChatSession(store, b.ID(), eng, model.AnswerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	send(t, b2, "follow-up")
	if m := b2.Messages(); m[len(m)-1].State == app.StateError {
		t.Errorf("follow-up in B reopened: %s", m[len(m)-1].Error)
	}
}

// The chat's title follows an edit of its first question, in the session and the file, unless
// the chat was renamed (in the session or from the history list); an edit of a later question
// leaves it, and an edit undone before its first word puts the title back.
func TestChatTitleFollowsTheFirstQuestion(t *testing.T) {
	for _, tc := range []struct {
		name   string
		second bool                                    // ask a second question, and edit that one
		rename func(s *app.ChatSession, st *app.Store) // before the edit (nil: none)
		stop   bool                                    // stop the edit before its first word
		want   string
	}{
		{name: "the only question", want: "Hello there, edited"},
		{name: "a later question", second: true, want: "Hello there"},
		{name: "renamed", rename: func(s *app.ChatSession, _ *app.Store) { s.Rename("My chat") }, want: "My chat"},
		{name: "renamed in the history", rename: func(s *app.ChatSession, st *app.Store) { st.Rename(s.ID(), "From the list") }, want: "From the list"},
		{name: "undone", stop: true, want: "Hello there"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			eng := apptest.NewFakeEngine(0)
			s := app.NewChatSession(st, eng, model.AnswerOptions{})
			send(t, s, "Hello there")
			if tc.second {
				send(t, s, "And another thing")
			}
			if tc.rename != nil {
				tc.rename(s, st)
			}
			text := "Hello there, edited"
			if tc.second {
				text = "And another thing, edited"
			}
			if tc.stop {
				eng.Delay = time.Hour
			}
			j, err := s.Edit(text, nil, app.ChatCallbacks{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.stop {
				s.Stop()
			}
			j.Wait()
			<-s.Idle()
			rec, err := st.LoadChat(s.ID())
			if err != nil {
				t.Fatal(err)
			}
			if s.Title() != tc.want || rec.Title != tc.want {
				t.Errorf("the title: session %q, file %q; want %q", s.Title(), rec.Title, tc.want)
			}
		})
	}
}
