package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/janus-desktop/janus/model"
)

// MessageState is where a chat message is in its life.
type MessageState string

// Message states. Only assistant messages stream, stop or fail; user messages are done.
const (
	// StateStreaming: the answer is being written.
	StateStreaming MessageState = "streaming"
	// StateDone: the message is complete.
	StateDone MessageState = "done"
	// StateStopped: Stop ended the answer; the text written so far is kept.
	StateStopped MessageState = "stopped"
	// StateInterrupted: the app ended (a crash, a kill, a power cut) while the answer was
	// written; the text saved so far is kept. OpenChatSession gives it to an answer a chat
	// file left streaming.
	StateInterrupted MessageState = "interrupted"
	// StateError: the answer failed; Error says why and what to do.
	StateError MessageState = "error"
)

// ChatMessage is one message of a chat as the window shows it and the history stores it.
type ChatMessage struct {
	// Assistant marks the model's answers; the others are the user's.
	Assistant bool `json:"assistant,omitempty"`
	// Text is the question, or the answer written so far.
	Text string `json:"text"`
	// Images are the user's attached pictures, copied into the store (Store.ImagePath and
	// Store.ThumbnailPath find their files).
	Images []ImageRef `json:"images,omitempty"`
	// State is StateDone for user messages.
	State MessageState `json:"state"`
	// Error is the one-line message of a failed answer.
	Error string `json:"error,omitempty"`
	// TokensPerSecond is the answer's decoding speed (0 until known).
	TokensPerSecond float64 `json:"tokens_per_second,omitempty"`
	// Tokens counts the answer's tokens.
	Tokens int `json:"tokens,omitempty"`
	// PromptTokens is the length of the conversation the answer continued; ReusedTokens of
	// them were kept in the engine's KV cache from earlier turns rather than run again.
	PromptTokens int `json:"prompt_tokens,omitempty"`
	ReusedTokens int `json:"reused_tokens,omitempty"`
	// Time is when the message was sent or the answer started.
	Time time.Time `json:"time"`
	// Finish is why a done answer ended (model.FinishEOS, FinishLength, FinishContext).
	Finish string `json:"finish,omitempty"`
	// Stopped says why a stopped answer was stopped when it was not by Stop ("the model was
	// changed", "the chat was left").
	Stopped string `json:"stopped,omitempty"`
}

// ChatCallbacks receive a reply's progress, on the reply job's goroutine. index is the
// answer's position in ChatSession.Messages and msg a copy of it.
type ChatCallbacks struct {
	// OnText is called after each piece of the answer.
	OnText func(index int, msg ChatMessage)
	// OnDone is called once when the answer ends: done, stopped (Stop) or failed (msg.Error).
	OnDone func(index int, msg ChatMessage)
	// OnQuestion is called once as the reply starts, with the question's index and the
	// question (its Images name the stored copies, as they do from the moment Send returns).
	OnQuestion func(index int, msg ChatMessage)
	// OnUndone is called before OnDone when an Edit ended before its answer's first word
	// and the question and answer it replaced were put back: the window gives the edited
	// question back to the chat's composer.
	OnUndone func()
}

// ChatSession is one chat: its messages, the conversation on the engine that keeps the KV
// cache between turns, and its record in the history store. One reply runs at a time.
// Its methods may be called from any goroutine.
//
// The model sees the finished turns: answers that are done, and stopped or interrupted
// answers with the text written so far. A failed turn stays on screen but is left out of what
// the model sees. After a stopped answer, a model switch or reopening a chat, the next reply
// rebuilds the conversation from the messages (running the whole history through the model
// once); otherwise each turn reuses the engine's KV cache.
type ChatSession struct {
	store *Store
	// saveMu orders the writes of the chat's file.
	saveMu sync.Mutex

	mu     sync.Mutex
	rec    ChatRecord
	saved  bool // rec has been written once (a missing file then means the user deleted it)
	engine Engine
	opts   model.AnswerOptions
	conv   Conversation // nil: rebuild from the messages at the next Send
	// prepared holds each image decoded for engine, by digest, so that every turn passes the
	// same *model.Image and the conversation encodes it once.
	prepared map[string]*model.Image
	// paths finds the images of a session without a store, by digest.
	paths map[string]string
	job   *Job
	// stopWhy is why job was cancelled when not by Stop (ChatMessage.Stopped); stopSaid is
	// set once the first reason (Stop's being none) is kept.
	stopWhy  string
	stopSaid bool
	// saveEvery is how often a streaming answer is saved (tests shorten it).
	saveEvery time.Duration
	// pending are the pictures of edited questions no record on disk mentions yet: the first
	// save that writes a record mentioning them stores them with it (a store's sweep may
	// remove a picture no record mentions), and forgets the others, which no message can
	// mention again.
	pending []storedImage
	// retitle is the title the chat's first question gave it, which an edit of that question
	// replaces ("" when none does): the file keeps a title the history list gave it (Rename)
	// over the record's, and kept the one the question before the edit gave it too.
	retitle string
}

// streamSaveInterval is how often a streaming answer is saved, so that a crash loses at most
// these seconds of it. A save of a long chat takes milliseconds, off the token loop.
const streamSaveInterval = 3 * time.Second

// NewChatSession starts an empty chat on engine (nil: no model loaded yet; Send fails until
// SetEngine). store, when not nil, saves the chat when a question is sent, every few seconds
// while its answer streams, and when the answer ends.
func NewChatSession(store *Store, engine Engine, opts model.AnswerOptions) *ChatSession {
	return &ChatSession{store: store, engine: engine, opts: opts, prepared: map[string]*model.Image{}, paths: map[string]string{},
		saveEvery: streamSaveInterval}
}

// OpenChatSession reopens chat id from store. Its conversation is rebuilt on engine from the
// saved messages (and their images) at the next Send. An answer that was still being written
// when the app ended is StateInterrupted, with the text saved last.
func OpenChatSession(store *Store, id string, engine Engine, opts model.AnswerOptions) (*ChatSession, error) {
	if store == nil {
		return nil, errors.New("open chat: no history store")
	}
	rec, err := store.LoadChat(id)
	if err != nil {
		return nil, err
	}
	for i := range rec.Messages {
		m := &rec.Messages[i]
		switch {
		case !m.Assistant && (m.State == StateStreaming || m.State == ""):
			m.State = StateDone
		case m.State == StateStreaming:
			m.State = StateInterrupted
		case m.State == "":
			m.State = StateStopped
		}
	}
	s := NewChatSession(store, engine, opts)
	s.rec, s.saved = *rec, true
	return s, nil
}

// ID is the chat's history id ("" until its first message is saved).
func (s *ChatSession) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec.ID
}

// Title is the chat's title: the one given with Rename, else the start of the first question
// ("New chat" before there is one).
func (s *ChatSession) Title() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.title()
}

func (s *ChatSession) title() string {
	if s.rec.Title != "" {
		return s.rec.Title
	}
	return titleOf(s.rec.Messages)
}

// titleOf is the title msgs give a chat: the start of the first question, else the name of
// its first image, or for a picture with none (pasted, or made in Create) its size ("New
// chat" before there is a question: every chat asked about a pasted picture alone was one).
func titleOf(msgs []ChatMessage) string {
	for _, m := range msgs {
		if !m.Assistant {
			if t := titleFrom(m.Text); t != "" {
				return t
			}
			if len(m.Images) > 0 {
				if im := m.Images[0]; im.Name != "" {
					return im.Name
				} else if im.Width > 0 {
					return fmt.Sprintf("Picture, %d×%d", im.Width, im.Height)
				}
			}
		}
	}
	return "New chat"
}

// Rename gives the chat a new title, saved at once when the chat is in the store.
func (s *ChatSession) Rename(title string) error {
	title = strings.TrimSpace(title)
	if title == "" {
		return errors.New("rename: the title is empty")
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	s.rec.Title = title
	id, saved := s.rec.ID, s.saved
	s.mu.Unlock()
	if s.store == nil || !saved {
		return nil
	}
	return s.store.Rename(id, title)
}

// Messages returns a copy of the messages, oldest first.
func (s *ChatSession) Messages() []ChatMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.rec.Messages)
	for i := range out {
		out[i].Images = slices.Clone(out[i].Images)
	}
	return out
}

// AnswerText is the text of message index, for copying (the answer so far while streaming);
// "" for an index out of range.
func (s *ChatSession) AnswerText(index int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if index < 0 || index >= len(s.rec.Messages) {
		return ""
	}
	return s.rec.Messages[index].Text
}

// ImagePath is the file of an image of this chat ("" when unknown): the store's copy, or
// where it was attached while it is not stored (an edited question's new picture until its
// answer's first word).
func (s *ChatSession) ImagePath(ref ImageRef) string {
	s.mu.Lock()
	attached := s.paths[ref.SHA256]
	pending := slices.ContainsFunc(s.pending, func(im storedImage) bool { return im.ref.SHA256 == ref.SHA256 })
	s.mu.Unlock()
	if s.store != nil && (!pending || attached == "") {
		return s.store.ImagePath(ref)
	}
	return attached
}

// SetEngine switches the chat to another model (or nil when the model is unloaded). The next
// Send rebuilds the conversation from the messages. A running reply is stopped; SetEngine
// returns at once, and the old conversation is released once that reply has ended. (Closing
// the old engine waits for its running work: do it off the UI goroutine.)
func (s *ChatSession) SetEngine(e Engine) { s.setEngine(e, "the model was changed") }

// setEngine is SetEngine, why saying in its answer why a running reply stopped.
func (s *ChatSession) setEngine(e Engine, why string) {
	s.mu.Lock()
	j, conv := s.job, s.conv
	if j != nil && !s.stopSaid {
		s.stopWhy, s.stopSaid = why, true // a Stop before it was the user's
	}
	s.conv = nil
	s.prepared = map[string]*model.Image{}
	s.engine = e
	if j != nil {
		// Under the lock, with the engine changed: a reply being set up that finds the
		// engine changed finds its context cancelled too, and stops rather than fails.
		j.Cancel()
	}
	s.mu.Unlock()
	if conv != nil {
		go func() {
			if j != nil {
				<-j.Done()
			}
			conv.Close()
		}()
	}
}

// AnswerOptions are the options later answers are generated with.
func (s *ChatSession) AnswerOptions() model.AnswerOptions {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts
}

// SetAnswerOptions changes how later answers are generated.
func (s *ChatSession) SetAnswerOptions(opts model.AnswerOptions) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts = opts
}

// Send appends the question text with the images at imagePaths and starts the reply job,
// whose answer streams to cb. The images are read and copied into the store with the record
// that mentions them before the question is appended, so that from the moment Send returns
// its refs name stored files (ImagePath, Store.ThumbnailPath); decoding them for the engine
// is the job's. It fails at once, changing nothing, when a reply is running, no engine is
// set, an image cannot be attached or stored, or the question is empty without images.
// Send reads and writes files: call it off the UI goroutine.
func (s *ChatSession) Send(text string, imagePaths []string, cb ChatCallbacks) (*Job, error) {
	text = strings.TrimSpace(text)
	refs, newImages, err := readQuestion(text, imagePaths)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.job != nil {
		s.mu.Unlock()
		return nil, errors.New("an answer is being written: stop it first")
	}
	if s.engine == nil {
		s.mu.Unlock()
		return nil, errors.New("no model is loaded: choose one first")
	}
	// The job is held from here, so no other Send appends meanwhile and qi stays the
	// question's index.
	j := newJob(context.Background())
	s.job, s.stopWhy, s.stopSaid = j, "", false
	qi := len(s.rec.Messages)
	engine, opts := s.engine, s.opts
	for i, ref := range refs {
		// The reply reads the picture from where it was attached when the store does not
		// have it (no store, or the chat was deleted meanwhile).
		s.paths[ref.SHA256] = imagePaths[i]
	}
	s.mu.Unlock()

	now := time.Now().UTC()
	turn := []ChatMessage{
		{Text: text, Images: refs, State: StateDone, Time: now},
		{Assistant: true, State: StateStreaming, Time: now},
	}
	if len(turn[0].Images) == 0 {
		turn[0].Images = nil
	}
	if s.store == nil {
		newImages = nil
	}
	// The images and the record that mentions them are written together, so that a Delete
	// of another chat with the same picture cannot sweep them in between.
	if err := s.saveWith(newImages, turn...); err != nil {
		s.release(j)
		// Ended, not started: Done closes (Idle waits on it), with the save's error.
		j.run(func(context.Context, func(Progress)) error { return err }, nil, nil)
		return nil, err
	}
	go j.run(func(ctx context.Context, _ func(Progress)) error {
		return s.reply(ctx, j, engine, opts, qi, nil, cb)
	}, nil, func(error) { s.release(j) })
	return j, nil
}

// readQuestion reads the images at paths for a question of text (trimmed): their refs and
// the files' bytes, to store.
func readQuestion(text string, paths []string) ([]ImageRef, []storedImage, error) {
	if text == "" && len(paths) == 0 {
		return nil, nil, errors.New("write a question or attach an image first")
	}
	refs := make([]ImageRef, 0, len(paths))
	var images []storedImage
	for _, p := range paths {
		ref, data, err := readAttachment(p)
		if err != nil {
			return nil, nil, err
		}
		refs = append(refs, ref)
		images = append(images, storedImage{ref, data})
	}
	return refs, images, nil
}

// Edit replaces the last question with text and the images at imagePaths (the question's
// own pictures by their stored files, Store.ImagePath, and new ones) and its answer with the
// answer to it, which streams to cb as Send's does. Until that answer's first word the
// chat's file keeps the question and answer it replaces, and the new pictures are only read
// (they are stored with the first save that writes the question); an edit that fails, is
// stopped or gets an empty answer before then puts both back (OnUndone, then OnDone with the
// previous answer, its Error saying why unless it was stopped), and nothing was written. It
// fails at once, changing nothing, as Send does, and when the chat does not end in an answer
// that has ended. Pictures the question no longer has stay in the store until Store.Release
// finds no record mentions them. Edit reads files: call it off the UI goroutine.
func (s *ChatSession) Edit(text string, imagePaths []string, cb ChatCallbacks) (*Job, error) {
	text = strings.TrimSpace(text)
	refs, images, err := readQuestion(text, imagePaths)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j, qi, err := s.holdLastTurn("there is no answered question to edit")
	if err != nil {
		return nil, err
	}
	undo := &turnUndo{at: qi, msgs: slices.Clone(s.rec.Messages[qi:]), title: s.rec.Title, retitle: s.retitle}
	// The chat's title follows an edit of its first question, unless the chat was renamed.
	first := !slices.ContainsFunc(s.rec.Messages[:qi], func(m ChatMessage) bool { return !m.Assistant })
	if derived := titleOf(s.rec.Messages); first && (s.rec.Title == "" || s.rec.Title == derived) {
		s.rec.Title, s.retitle = "", derived
	}
	// A picture the question had keeps its ref (the name it was attached with; its stored
	// file is named by its digest). Every picture is pending until a save writes it with
	// the record that mentions it, as Send writes its own, even one the store holds now: the
	// chat's file does not mention it until then, and another chat's Delete may sweep it.
	// Those of an earlier edit whose save failed stay pending: the turn put back if this
	// edit is undone mentions them.
	if s.store != nil {
		for i, ref := range refs {
			if had := slices.IndexFunc(undo.msgs[0].Images, func(o ImageRef) bool { return o.SHA256 == ref.SHA256 }); had >= 0 {
				refs[i] = undo.msgs[0].Images[had]
			}
			if !slices.ContainsFunc(s.pending, func(im storedImage) bool { return im.ref.SHA256 == ref.SHA256 }) {
				s.pending = append(s.pending, images[i])
			}
		}
	}
	now := time.Now().UTC()
	q := ChatMessage{Text: text, Images: refs, State: StateDone, Time: now}
	if len(q.Images) == 0 {
		q.Images = nil
	}
	// In place: the messages keep their number, so a window drawing them meanwhile finds
	// every index it knew.
	s.rec.Messages[qi] = q
	s.rec.Messages[qi+1] = ChatMessage{Assistant: true, State: StateStreaming, Time: now}
	for i, ref := range refs {
		// The reply reads a new picture from where it was attached until it is stored.
		s.paths[ref.SHA256] = imagePaths[i]
	}
	s.startReply(j, qi, undo, cb)
	return j, nil
}

// holdLastTurn checks that a Retry or an Edit can replace the chat's last turn (missing is
// the error when the chat does not end in an answer that has ended) and holds a new reply
// job for it, returning the index of the turn's question. s.mu is held.
func (s *ChatSession) holdLastTurn(missing string) (*Job, int, error) {
	n := len(s.rec.Messages)
	switch {
	case s.job != nil:
		return nil, 0, errors.New("an answer is being written: stop it first")
	case s.engine == nil:
		return nil, 0, errors.New("no model is loaded: choose one first")
	case n < 2 || !s.rec.Messages[n-1].Assistant || s.rec.Messages[n-1].State == StateStreaming:
		return nil, 0, errors.New(missing)
	}
	j := newJob(context.Background())
	s.job, s.stopWhy, s.stopSaid = j, "", false
	return j, n - 2, nil
}

// startReply runs the reply to question qi on j, the last turn replaced as undo says, with
// the engine and options set now. The conversation holds the turn replaced (the answer, when
// it was done), so it is rebuilt from the turns before it. s.mu is held.
func (s *ChatSession) startReply(j *Job, qi int, undo *turnUndo, cb ChatCallbacks) {
	s.dropConversation()
	engine, opts := s.engine, s.opts
	go j.run(func(ctx context.Context, _ func(Progress)) error {
		return s.reply(ctx, j, engine, opts, qi, undo, cb)
	}, nil, func(error) { s.release(j) })
}

// turnUndo is what a Retry or an Edit replaced, put back when its answer ends before its
// first word: msgs from index at (the answer, or the question and its answer). The chat's
// file still holds them.
type turnUndo struct {
	at   int
	msgs []ChatMessage
	// title and retitle are the session's before an Edit, put back with the turn.
	title, retitle string
}

// edit reports whether u undoes an Edit (a question and its answer).
func (u *turnUndo) edit() bool { return len(u.msgs) == 2 }

// Retry answers the last question again, in place of its answer, with the engine and
// options set now: another model, a longer answer length, or an answer that failed, stopped
// or was interrupted. The new answer streams to cb as Send's does. Until it writes its first
// word the chat's file keeps the previous answer, and a retry that fails, is stopped or
// gives an empty answer before then puts the previous answer back (OnDone gets it, with
// Error saying why unless it was stopped), so that nothing is lost to a retry that wrote
// nothing. It fails at once, changing nothing, when a reply is running, no engine is set,
// or the chat ends in no answer.
func (s *ChatSession) Retry(cb ChatCallbacks) (*Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, qi, err := s.holdLastTurn("there is no answer to write again")
	if err != nil {
		return nil, err
	}
	undo := &turnUndo{at: qi + 1, msgs: []ChatMessage{s.rec.Messages[qi+1]}}
	s.rec.Messages[qi+1] = ChatMessage{Assistant: true, State: StateStreaming, Time: time.Now().UTC()}
	s.startReply(j, qi, undo, cb)
	return j, nil
}

// Retryable reports whether Retry has an answer to write again: the chat ends in an answer
// that has ended, and no reply runs.
func (s *ChatSession) Retryable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.rec.Messages)
	return s.job == nil && n >= 2 && s.rec.Messages[n-1].Assistant && s.rec.Messages[n-1].State != StateStreaming
}

// asSentence is s with a capital first letter and a full stop, to follow another sentence.
func asSentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

// dropConversation closes the conversation (once the work on its model allows) so that the
// next reply rebuilds it from the messages. s.mu is held.
func (s *ChatSession) dropConversation() {
	if s.conv != nil {
		go s.conv.Close() // it may wait for other work on the model
		s.conv = nil
	}
}

// restore puts back what a Retry or an Edit replaced, its answer having ended without a
// word. The chat's file still holds it (a streaming answer is saved once it has text; a
// rename rewrites the file's own record), so it is not written again, which would move the
// chat to the top of the history for nothing, and an edit's new pictures were never stored.
// The conversation, which has neither, is rebuilt at the next reply. The message returned
// is for OnDone: the answer put back, why its Error when the retry or edit failed.
func (s *ChatSession) restore(j *Job, u *turnUndo, why string) ChatMessage {
	s.mu.Lock()
	copy(s.rec.Messages[u.at:], u.msgs)
	if u.edit() {
		s.rec.Title, s.retitle = u.title, u.retitle
	}
	s.dropConversation()
	s.mu.Unlock()
	msg := u.msgs[len(u.msgs)-1]
	if why != "" {
		what := "answer again"
		if u.edit() {
			what = "answer the edited question"
		}
		msg.Error = "Could not " + what + ". " + asSentence(why)
	}
	s.release(j)
	return msg
}

// reply runs on the job's goroutine: it prepares the question's images (Send stored them), (re)builds
// the conversation when needed, streams the answer into message qi+1, and saves the chat.
// undo is what a Retry or Edit replaced (nil for Send's), put back when this answer ends
// before its first word.
//
// The session stops being Busy before OnDone is called, so that the window can send the
// next question from it.
func (s *ChatSession) reply(ctx context.Context, j *Job, engine Engine, opts model.AnswerOptions, qi int, undo *turnUndo, cb ChatCallbacks) (err error) {
	ai := qi + 1
	stopSaving := func() {}
	// wroteNothing reports whether a retried or edited turn's answer has no word yet.
	wroteNothing := func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return undo != nil && s.rec.Messages[ai].Text == ""
	}
	// putBack restores what undo holds and tells cb, with why the answer ended.
	putBack := func(why string) {
		msg := s.restore(j, undo, why)
		if undo.edit() && cb.OnUndone != nil {
			cb.OnUndone()
		}
		if cb.OnDone != nil {
			cb.OnDone(ai, msg)
		}
	}
	// failure words err for the person reading the chat.
	failure := func(err error) string {
		if errors.Is(err, model.ErrContextFull) {
			s.mu.Lock()
			defer s.mu.Unlock()
			return contextFullMessage(err, engine.Info().ContextLimit, qi == 0, len(s.rec.Messages[qi].Images) > 0)
		}
		return joinLines(err)
	}
	fail := func(err error) error {
		// A stop (Stop, another model, the chat left, the app closed) while the reply was
		// being set up ends it as a stop later does, not as failed: the setup's error ("the
		// model was changed") only followed from it.
		stopped := ctx.Err() != nil && errors.Is(err, ctx.Err())
		why := ""
		if !stopped {
			why = failure(err)
		}
		if wroteNothing() {
			putBack(why)
			return err
		}
		s.mu.Lock()
		m := &s.rec.Messages[ai]
		if stopped {
			m.State, m.Stopped = StateStopped, s.stopWhy
		} else {
			m.State, m.Error = StateError, why
		}
		msg := *m
		s.mu.Unlock()
		if serr := s.save(); serr != nil {
			msg.Error += " (" + serr.Error() + ")"
		}
		s.release(j)
		if cb.OnDone != nil {
			cb.OnDone(ai, msg)
		}
		return err
	}
	// A panic in the engine (a bug, Metal out of memory) ends this answer as failed, saved and
	// told like any error: the job alone would report it, leaving the answer "streaming" on
	// screen and its periodic save running for as long as the app does.
	defer func() {
		if r := recover(); r != nil {
			slog.Error("the answer panicked", "panic", r, "stack", string(debug.Stack()))
			stopSaving()
			err = fail(fmt.Errorf("internal error: %v", r))
		}
	}()

	s.mu.Lock()
	question := s.rec.Messages[qi]
	question.Images = slices.Clone(question.Images)
	s.mu.Unlock()
	if cb.OnQuestion != nil {
		cb.OnQuestion(qi, question)
	}

	// An error while the reply is set up, after a stop, is the stop's.
	stopFirst := func(err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return err
	}
	images, err := s.prepare(engine, question.Images)
	if err != nil {
		return fail(stopFirst(err))
	}
	conv, err := s.conversation(engine, qi)
	if err != nil {
		return fail(stopFirst(err))
	}
	var start time.Time
	pieces := 0
	stopSaving = sync.OnceFunc(s.saveWhileStreaming(ai))
	res, err := conv.Reply(ctx, question.Text, images, opts, func(piece string) {
		if pieces == 0 {
			start = time.Now()
		}
		pieces++
		s.mu.Lock()
		m := &s.rec.Messages[ai]
		m.Text += piece
		m.Tokens = pieces
		if d := time.Since(start); pieces > 1 && d > 0 {
			m.TokensPerSecond = float64(pieces-1) / d.Seconds()
		}
		msg := *m
		s.mu.Unlock()
		if cb.OnText != nil {
			cb.OnText(ai, msg)
		}
	})
	stopSaving()
	stopped := err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err())
	if err != nil && !stopped {
		return fail(err)
	}
	if res.Text == "" && wroteNothing() {
		// Stopped before its first word, or an empty answer (the end of text first): the
		// previous answer is worth more than none.
		why := "the model gave an empty answer"
		if stopped {
			why = ""
		}
		putBack(why)
		if stopped {
			return ctx.Err()
		}
		return nil
	}
	s.mu.Lock()
	m := &s.rec.Messages[ai]
	// The result's text is decoded from all its tokens at once, which can differ from the
	// streamed pieces at the very end (a character split over tokens); without one (a reply
	// stopped before it began) the streamed text stays.
	if res.Text != "" {
		m.Text = res.Text
	}
	if len(res.Tokens) > 0 {
		m.Tokens = len(res.Tokens)
	}
	m.PromptTokens, m.ReusedTokens = res.PromptTokens, res.ReusedTokens
	m.Finish = res.FinishReason
	if tps := res.TokensPerSecond(); tps > 0 {
		m.TokensPerSecond = tps
	}
	m.State = StateDone
	if stopped {
		m.State, m.Stopped = StateStopped, s.stopWhy
		// The conversation left the stopped turn out; the model should see what it wrote.
		if m.Text != "" && s.conv == conv {
			s.conv = nil
			go conv.Close() // it may wait for other work on the model
		}
	}
	msg := *m
	s.mu.Unlock()
	if serr := s.save(); serr != nil {
		// The answer stays on screen and in the session, and the chat's next save takes it;
		// the file keeps what the last save while it streamed wrote.
		slog.Error("save the finished answer", "chat", s.ID(), "err", serr)
		msg.Error = "Not saved in the history: " + WriteProblem(serr) + ". Copy keeps the text; the chat is saved again with its next question"
		s.mu.Lock()
		s.rec.Messages[ai].Error = msg.Error
		s.mu.Unlock()
	}
	s.release(j)
	if cb.OnDone != nil {
		cb.OnDone(ai, msg)
	}
	if stopped {
		return ctx.Err()
	}
	return nil
}

// Withdraw takes back question qi, whose answer failed before its first word (a question
// too long for the model, the model failing at once) and which the window has put back into
// the composer: left in the chat it was there twice once sent again, and a refused first
// question made a chat of nothing but its refusal. It does nothing unless that turn is still
// the last and no answer runs. A chat left empty is deleted from the history (keep as for
// Store.Delete) and starts again as a new chat; otherwise it is saved without the turn.
func (s *ChatSession) Withdraw(qi int, keep ...string) error {
	s.mu.Lock()
	msgs := s.rec.Messages
	if s.job != nil || qi < 0 || qi+2 != len(msgs) || msgs[qi].Assistant ||
		msgs[qi+1].State != StateError || msgs[qi+1].Text != "" {
		s.mu.Unlock()
		return nil
	}
	s.rec.Messages = slices.Clip(msgs[:qi])
	var gone string
	if len(s.rec.Messages) == 0 && s.saved {
		gone = s.rec.ID
		s.rec, s.saved = ChatRecord{}, false
	}
	saved := s.saved
	s.mu.Unlock()
	switch {
	case gone != "" && s.store != nil:
		if err := s.store.Delete(gone, keep...); err != nil {
			return fmt.Errorf("take back the question: %w", err)
		}
	case saved:
		if err := s.save(); err != nil {
			return fmt.Errorf("take back the question: %w", err)
		}
	}
	return nil
}

// saveWhileStreaming saves the chat every s.saveEvery while answer ai streams, when its text
// has grown, so that a crash keeps what was written. It runs beside the token loop, which
// never waits for the disk. The returned stop waits for a save under way, so that the
// answer's final save is the last.
func (s *ChatSession) saveWhileStreaming(ai int) (stop func()) {
	s.mu.Lock()
	every := s.saveEvery
	s.mu.Unlock()
	if s.store == nil || every <= 0 {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		saved := ""
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
			}
			s.mu.Lock()
			text := s.rec.Messages[ai].Text
			s.mu.Unlock()
			if text == saved {
				continue
			}
			// A failure is left to the final save, which reports it.
			if err := s.save(); err == nil {
				saved = text
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// prepare decodes the images of refs for engine, once per image and engine.
func (s *ChatSession) prepare(engine Engine, refs []ImageRef) ([]*model.Image, error) {
	out := make([]*model.Image, len(refs))
	for i, ref := range refs {
		s.mu.Lock()
		img := s.prepared[ref.SHA256]
		s.mu.Unlock()
		if img == nil {
			path := s.ImagePath(ref)
			if s.store != nil && !s.store.stored(ref) {
				s.mu.Lock()
				path = s.paths[ref.SHA256]
				s.mu.Unlock()
			}
			if path == "" {
				// Every answer reads the whole chat, so no follow-up can be answered without it.
				return nil, fmt.Errorf("%s of this chat is missing from the history folder, and every answer reads the whole chat: ask in a new chat (attach the image again if you have it)", ref.Label())
			}
			var err error
			if img, err = engine.ReadImage(path); err != nil {
				return nil, fmt.Errorf("read %s: %w", ref.Label(), err)
			}
			s.mu.Lock()
			if s.engine == engine {
				s.prepared[ref.SHA256] = img
			}
			s.mu.Unlock()
		}
		out[i] = img
	}
	return out, nil
}

// conversation returns the conversation continuing the messages before the question at qi,
// building it from them when there is none.
func (s *ChatSession) conversation(engine Engine, qi int) (Conversation, error) {
	s.mu.Lock()
	conv := s.conv
	var turns [][2]ChatMessage
	for i := 0; i+1 < qi; i += 2 {
		q, a := s.rec.Messages[i], s.rec.Messages[i+1]
		if a.State == StateDone || (a.State == StateStopped || a.State == StateInterrupted) && a.Text != "" {
			turns = append(turns, [2]ChatMessage{q, a})
		}
	}
	s.mu.Unlock()
	if conv != nil {
		return conv, nil
	}
	var history []model.Message
	for _, t := range turns {
		images, err := s.prepare(engine, t[0].Images)
		if err != nil {
			return nil, err
		}
		history = append(history, model.Message{Text: t[0].Text, Images: images}, model.Message{Assistant: true, Text: t[1].Text})
	}
	conv, err := engine.NewConversation(history)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.engine != engine {
		conv.Close()
		return nil, errors.New("the model was changed")
	}
	s.conv = conv
	return conv, nil
}

// save writes the chat to the store, unless there is none or the user deleted the chat. The
// files are written outside s.mu, so the window's calls never wait for a disk.
func (s *ChatSession) save() error { return s.saveWith(nil) }

// saveWith is save, storing images (new attachments of the chat) with the record, and
// appending turn (messages that mention them) to the chat: the record written has them, and
// they join the session's messages only once the write is done, so that no caller sees refs
// the store does not have yet. On failure the messages stay as they were. Whether the chat
// was deleted, the title the history list gave it and the write are settled under the
// store's lock (Store.saveChat).
func (s *ChatSession) saveWith(images []storedImage, turn ...ChatMessage) error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	if s.store == nil {
		s.mu.Lock()
		s.rec.Messages = append(s.rec.Messages, turn...)
		s.mu.Unlock()
		return nil
	}
	s.mu.Lock()
	pending := s.pending
	rec := s.rec
	rec.Messages = append(slices.Clone(s.rec.Messages), turn...)
	images = append(slices.Clip(images), mentioned(pending, rec.Messages)...)
	clearSaveNotes(rec.Messages) // this write saves them
	if rec.Title == "" {
		rec.Title = titleOf(rec.Messages)
	}
	retitle := s.retitle
	if s.engine != nil {
		rec.Model = s.engine.Info().Name
	}
	rec.Answer = AnswerSettings{MaxNewTokens: s.opts.MaxNewTokens, Temperature: s.opts.Temperature, TopP: s.opts.TopP}
	if !s.saved {
		rec.ID = "" // a new chat: the store names it
	}
	s.mu.Unlock()
	written, err := s.store.saveChat(&rec, images, retitle)
	if err != nil {
		return fmt.Errorf("the chat could not be saved: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Written with the record that mentions them, or mentioned by none: no message can
	// mention them again once the messages are written (an edit is undone only before).
	s.pending = slices.DeleteFunc(s.pending, func(im storedImage) bool {
		return slices.ContainsFunc(pending, func(p storedImage) bool { return p.ref == im.ref })
	})
	s.rec.Messages = append(s.rec.Messages, turn...)
	clearSaveNotes(s.rec.Messages)
	s.rec.Model, s.rec.Answer = rec.Model, rec.Answer
	if !written {
		return nil // deleted by the user: it stays deleted
	}
	s.rec.ID, s.rec.Created, s.rec.Updated, s.rec.Version = rec.ID, rec.Created, rec.Updated, rec.Version
	s.rec.Title = rec.Title
	if s.retitle == retitle {
		s.retitle = "" // the file holds the new title now
	}
	s.saved = true
	return nil
}

// mentioned are the images of pending that msgs mention.
func mentioned(pending []storedImage, msgs []ChatMessage) []storedImage {
	var out []storedImage
	for _, im := range pending {
		if slices.ContainsFunc(msgs, func(m ChatMessage) bool {
			return slices.ContainsFunc(m.Images, func(r ImageRef) bool { return r.SHA256 == im.ref.SHA256 })
		}) {
			out = append(out, im)
		}
	}
	return out
}

// clearSaveNotes takes the "not saved in the history" note off the answers of msgs (an
// Error on a message that did not fail).
func clearSaveNotes(msgs []ChatMessage) {
	for i, m := range msgs {
		if m.State != StateError {
			msgs[i].Error = ""
		}
	}
}

// Busy reports whether a reply is running.
func (s *ChatSession) Busy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.job != nil
}

// Stopping reports whether the running reply has been told to stop (Stop, a model change,
// Close) and has not ended yet: the engine ends the step it is in first, a prompt's layer or
// an image's block, which can take a moment on a slow machine.
func (s *ChatSession) Stopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.job != nil && s.stopSaid
}

// Stop cancels the running reply (the engine stops within one decoding step); the answer keeps
// what was written and is marked StateStopped. It returns at once; the reply job's Done says
// when it has stopped. Without a running reply it does nothing.
func (s *ChatSession) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.job != nil {
		if !s.stopSaid {
			s.stopWhy, s.stopSaid = "", true
		}
		s.job.Cancel()
	}
}

// Idle returns a channel closed once no reply runs: at once when none does, else when the
// running one has ended and its answer is saved. A chat being closed must be idle before
// its file is read again: until then it holds what the answer wrote while it streamed.
func (s *ChatSession) Idle() <-chan struct{} {
	s.mu.Lock()
	j := s.job
	s.mu.Unlock()
	if j == nil {
		done := make(chan struct{})
		close(done)
		return done
	}
	return j.Done()
}

// release ends j's hold on the session (it was the running reply).
func (s *ChatSession) release(j *Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.job == j {
		s.job = nil
	}
}

// Close stops a running reply (its answer says the chat was left) and releases the
// conversation once it has ended; it returns at once.
func (s *ChatSession) Close() { s.setEngine(nil, "the chat was left") }

// Quit is Close as the program ends: a running reply's answer says the app was closed (the
// chat was not left for another, which Close's answer would have said).
func (s *ChatSession) Quit() { s.setEngine(nil, "Janus Desktop was closed") }

// contextFullMessage is what a chat shows when a turn does not fit the model's context of
// limit tokens (err, a model.ContextError, may give the numbers): the first question is
// too long itself, and a new chat would not help it; a later one has outgrown the chat.
func contextFullMessage(err error, limit int, first, images bool) string {
	var ce *model.ContextError
	if errors.As(err, &ce) && ce.Window > 0 {
		limit = ce.Window
	}
	if first {
		switch {
		case ce != nil && ce.PromptTokens > 0 && images:
			return fmt.Sprintf("The question is too long for the model: %d tokens with its images, where it reads at most %d. Shorten it, or attach fewer images.", ce.PromptTokens, limit)
		case ce != nil && ce.PromptTokens > 0:
			return fmt.Sprintf("The question is too long for the model: %d tokens, where it reads at most %d. Shorten it.", ce.PromptTokens, limit)
		case images:
			return fmt.Sprintf("The question is too long for the model's context (%d tokens). Shorten it, or attach fewer images.", limit)
		}
		return fmt.Sprintf("The question is too long for the model's context (%d tokens). Shorten it.", limit)
	}
	return fmt.Sprintf("This conversation is longer than the model's context (%d tokens). Start a new chat to continue.", limit)
}

// joinLines makes an error one line for a message, all of it: config errors span lines.
func joinLines(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
