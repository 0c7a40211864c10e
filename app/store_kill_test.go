package app_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/janus-desktop/janus/app"
)

// killChildEnv, when set to a store folder, makes TestKillDuringSave the child that saves
// into it until it is killed.
const killChildEnv = "JANUS_APP_TEST_KILL_CHILD"

// killChatID is the chat the child rewrites.
const killChatID = "20260101-000000-ckill"

// killRecord is generation gen of the child's chat: every part of it says gen, so a file
// mixing two versions is caught.
func killRecord(gen int) *app.ChatRecord {
	rec := &app.ChatRecord{ID: killChatID, Title: fmt.Sprintf("gen %d", gen)}
	pad := strings.Repeat("x", 16<<10) // large enough that a kill often lands mid-write
	for i := range 8 {
		rec.Messages = append(rec.Messages, app.ChatMessage{
			Assistant: i%2 == 1, State: app.StateDone, Text: fmt.Sprintf("gen %d message %d %s", gen, i, pad),
		})
	}
	return rec
}

// checkKillRecord reports how rec differs from a complete killRecord.
func checkKillRecord(rec *app.ChatRecord) (int, error) {
	var gen int
	if _, err := fmt.Sscanf(rec.Title, "gen %d", &gen); err != nil {
		return 0, fmt.Errorf("title %q", rec.Title)
	}
	want := killRecord(gen)
	if len(rec.Messages) != len(want.Messages) {
		return gen, fmt.Errorf("gen %d has %d messages, want %d", gen, len(rec.Messages), len(want.Messages))
	}
	for i, m := range rec.Messages {
		if m.Text != want.Messages[i].Text {
			return gen, fmt.Errorf("gen %d message %d differs", gen, i)
		}
	}
	return gen, nil
}

// saveUntilKilled is the child: it rewrites the chat and the settings, a new generation each
// time, and says "saved" on stdout after the first complete round.
func saveUntilKilled(root string) {
	s, err := app.OpenStore(root)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	gen := 0
	if rec, err := s.LoadChat(killChatID); err == nil {
		gen, _ = checkKillRecord(rec)
	}
	deadline := time.Now().Add(time.Minute) // never outlive a parent that died
	for first := true; time.Now().Before(deadline); first = false {
		gen++
		if err := s.SaveChat(killRecord(gen)); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		st := app.DefaultSettings()
		st.Threads = gen % app.MaxThreads
		st.LastModel = fmt.Sprintf("/models/gen-%d", gen)
		if err := s.SaveSettings(st); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		if first {
			fmt.Println("saved")
		}
	}
	os.Exit(0)
}

// TestKillDuringSave kills (SIGKILL) a process that keeps saving a chat and the settings, at
// random moments, and checks after each kill that every file is a complete version: the
// previous or the next, never a mix or a truncated one, and that nothing is set aside.
func TestKillDuringSave(t *testing.T) {
	if root := os.Getenv(killChildEnv); root != "" {
		saveUntilKilled(root)
		return
	}
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL on Windows")
	}
	root := filepath.Join(t.TempDir(), "history")
	lastGen, leftovers := 0, map[string]bool{} // temporary files left by writes cut short
	const rounds = 6
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringSave$", "-test.count=1")
		cmd.Env = append(os.Environ(), killChildEnv+"="+root)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || strings.TrimSpace(line) != "saved" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: the child said %q, %v", round, line, err)
		}
		time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()

		tmps, _ := filepath.Glob(filepath.Join(root, "*", ".*.tmp"))
		more, _ := filepath.Glob(filepath.Join(root, ".*.tmp"))
		for _, f := range append(tmps, more...) {
			leftovers[f] = true
		}

		s, err := app.OpenStore(root)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := s.LoadChat(killChatID)
		if err != nil {
			t.Fatalf("round %d: the chat after a kill: %v", round, err)
		}
		gen, err := checkKillRecord(rec)
		if err != nil {
			t.Fatalf("round %d: the chat after a kill is not a complete version: %v", round, err)
		}
		if gen <= lastGen {
			t.Errorf("round %d: generation %d after %d: a saved version was lost", round, gen, lastGen)
		}
		lastGen = gen
		st, problems, err := s.LoadSettings()
		if err != nil || len(problems) != 0 {
			t.Fatalf("round %d: settings after a kill: %v %v", round, err, problems)
		}
		var sgen int
		if _, err := fmt.Sscanf(st.LastModel, "/models/gen-%d", &sgen); err != nil || st.Threads != sgen%app.MaxThreads || sgen < gen-1 || sgen > gen {
			t.Errorf("round %d: settings %+v do not match chat generation %d", round, st, gen)
		}
		if _, problems, err := s.List(); err != nil || len(problems) != 0 {
			t.Errorf("round %d: List after a kill: %v %v", round, err, problems)
		}
	}
	t.Logf("%d kills, last generation %d, %d of them cut a write short", rounds, lastGen, len(leftovers))
}
