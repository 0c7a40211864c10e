package app_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/janus-desktop/janus/app"
	"github.com/janus-desktop/janus/app/apptest"
	"github.com/janus-desktop/janus/model"
)

// answerChildEnv, when set to a store folder, makes TestKillWhileAnswering the child that
// answers in it until it is killed.
const answerChildEnv = "JANUS_APP_TEST_ANSWER_CHILD"

// longAnswer is the child's answer: 1,000 words, 5 s on its engine.
var longAnswer = strings.Fields(strings.Repeat("once upon a time ", 250))

// answerUntilKilled is the child: it asks a slow engine for a long answer, saved every 10 ms
// while it streams, and says the chat's id on stdout.
func answerUntilKilled(root string) {
	store, err := app.OpenStore(root)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	eng := apptest.NewFakeEngine(5 * time.Millisecond)
	eng.Words = longAnswer
	s := app.NewChatSession(store, eng, model.AnswerOptions{})
	s.SetSaveEvery(10 * time.Millisecond)
	j, err := s.Send("tell me a long story", nil, app.ChatCallbacks{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(s.ID())
	j.Wait() // 5 s: it never outlives a parent that died
	os.Exit(0)
}

// TestKillWhileAnswering kills (SIGKILL) the app while an answer streams, as a crash or a
// power cut would: the chat file holds the answer written up to the last save, and the
// reopened chat shows it interrupted and answers a follow-up from it.
func TestKillWhileAnswering(t *testing.T) {
	if root := os.Getenv(answerChildEnv); root != "" {
		answerUntilKilled(root)
		return
	}
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL on Windows")
	}
	root := filepath.Join(t.TempDir(), "history")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillWhileAnswering$", "-test.count=1")
	cmd.Env = append(os.Environ(), answerChildEnv+"="+root)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	id := strings.TrimSpace(line)
	if err != nil || strings.HasPrefix(id, "error") {
		t.Fatalf("the child said %q, %v", line, err)
	}
	store, err := app.OpenStore(root)
	if err != nil {
		t.Fatal(err)
	}
	// Killed once a few lines are on the screen and some of them in the file.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		rec, err := store.LoadChat(id)
		if err != nil {
			t.Fatal(err)
		}
		if len(strings.Fields(rec.Messages[1].Text)) >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the streaming answer is not in the file: %s, %q", rec.Messages[1].State, short(rec.Messages[1].Text))
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	rec, err := store.LoadChat(id)
	if err != nil {
		t.Fatal(err)
	}
	saved := rec.Messages[1]
	full := strings.Join(longAnswer, " ")
	if saved.State != app.StateStreaming || !strings.HasPrefix(full, saved.Text) || saved.Text == full {
		t.Fatalf("the file after the kill holds %s, %q, want part of the answer, streaming", saved.State, short(saved.Text))
	}
	eng := apptest.NewFakeEngine(0)
	s, err := app.OpenChatSession(store, id, eng, model.AnswerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m := s.Messages()[1]; m.State != app.StateInterrupted || m.Text != saved.Text {
		t.Errorf("reopened after the kill: %s with %d bytes, want interrupted with the %d saved", m.State, len(m.Text), len(saved.Text))
	}
	if r := send(t, s, "go on"); r.done.State != app.StateDone {
		t.Errorf("the follow-up: %+v", *r.done)
	}
	if h := eng.Histories(); len(h) != 1 || len(h[0]) != 2 || h[0][1].Text != saved.Text {
		t.Errorf("the follow-up continued from %d conversations %v, want one of the question and the saved answer", len(h), h)
	}
}
