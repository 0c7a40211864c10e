package app

import (
	"time"

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
	// Time is when the message was sent or the answer started.
	Time time.Time `json:"time"`
}

// ChatCallbacks receive a reply's progress, on the reply job's goroutine. index is the
// answer's position in ChatSession.Messages and msg a copy of it.
type ChatCallbacks struct {
	// OnText is called after each piece of the answer, and once when the question has been
	// read (images copied and decoded) with the answer still empty.
	OnText func(index int, msg ChatMessage)
	// OnDone is called once when the answer ends: done, stopped (Stop) or failed (msg.Error).
	OnDone func(index int, msg ChatMessage)
}

// ChatSession is one chat: its messages, the conversation on the engine that keeps the KV
// cache between turns, and its record in the history store. One reply runs at a time.
// Its methods may be called from any goroutine.
type ChatSession struct {
	// TODO
}

// NewChatSession starts an empty chat on engine (nil: no model loaded yet; Send fails until
// SetEngine). store, when not nil, saves the chat after every finished turn.
func NewChatSession(store *Store, engine Engine, opts model.AnswerOptions) *ChatSession {
	panic("TODO")
}

// OpenChatSession reopens chat id from store. Its conversation is rebuilt on engine from the
// saved messages (and their images) at the next Send.
func OpenChatSession(store *Store, id string, engine Engine, opts model.AnswerOptions) (*ChatSession, error) {
	panic("TODO")
}

// ID is the chat's history id ("" until its first message is saved).
func (s *ChatSession) ID() string { panic("TODO") }

// Title is the chat's title: the one given with Rename, else the start of the first question.
func (s *ChatSession) Title() string { panic("TODO") }

// Messages returns a copy of the messages, oldest first.
func (s *ChatSession) Messages() []ChatMessage { panic("TODO") }

// AnswerText is the text of message index, for copying (the answer so far while streaming).
func (s *ChatSession) AnswerText(index int) string { panic("TODO") }

// SetEngine switches the chat to another model (or nil when the model is unloaded). The next
// Send rebuilds the conversation from the messages; a running reply is stopped first.
func (s *ChatSession) SetEngine(e Engine) { panic("TODO") }

// SetAnswerOptions changes how later answers are generated.
func (s *ChatSession) SetAnswerOptions(opts model.AnswerOptions) { panic("TODO") }

// Send appends the question text with the images at imagePaths and starts the reply job:
// images are checked (CheckImageFile), copied into the store and decoded on the job's
// goroutine, then the answer streams to cb. It fails at once, changing nothing, when a reply
// is running, no engine is set, or the question is empty without images.
func (s *ChatSession) Send(text string, imagePaths []string, cb ChatCallbacks) (*Job, error) {
	panic("TODO")
}

// Busy reports whether a reply is running.
func (s *ChatSession) Busy() bool { panic("TODO") }

// Stop cancels the running reply (the engine stops within one decoding step); the answer keeps
// what was written and is marked StateStopped. It returns at once; the reply job's Done says
// when it has stopped. Without a running reply it does nothing.
func (s *ChatSession) Stop() { panic("TODO") }

// Close stops a running reply, waits for it and releases the conversation.
func (s *ChatSession) Close() { panic("TODO") }

// ContextFullMessage is what a chat shows when the conversation has outgrown the model's
// context of limit tokens.
func ContextFullMessage(limit int) string { panic("TODO") }
