package app_test

import (
	"testing"

	"github.com/janus-desktop/janus/app"
)

// FindKnown takes a released model's hub id or its name part, in any case, and nothing
// else: not the organisation alone, nor a name with extra text.
func TestFindKnown(t *testing.T) {
	for _, tt := range []struct {
		name string
		want string // the repo found, "" for none
	}{
		{"deepseek-ai/Janus-Pro-7B", "deepseek-ai/Janus-Pro-7B"},
		{"DeepSeek-AI/janus-pro-7b", "deepseek-ai/Janus-Pro-7B"},
		{"Janus-Pro-1B", "deepseek-ai/Janus-Pro-1B"},
		{"janus-pro-1b", "deepseek-ai/Janus-Pro-1B"},
		{"JANUS-1.3B", "deepseek-ai/Janus-1.3B"},
		{"", ""},
		{"deepseek-ai", ""},
		{"Janus-Pro", ""},
		{"janus-pro-1b ", ""},
		{"other/Janus-Pro-1B", ""},
		{"./Janus-Pro-1B", ""},
	} {
		k, ok := app.FindKnown(tt.name)
		if ok != (tt.want != "") || k.Repo != tt.want {
			t.Errorf("FindKnown(%q) = %q, %v; want %q", tt.name, k.Repo, ok, tt.want)
		}
	}
}
