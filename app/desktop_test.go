package app_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/app"
)

func TestDesktopOptionsFrom(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
		want app.DesktopOptions
	}{
		{name: "nothing set", want: app.DesktopOptions{}},
		{name: "variables", vars: map[string]string{"JANUS_DATA": "/data", "JANUS_MODEL": "/m/Janus-Pro-1B", "JANUS_MODELS": "/m"},
			want: app.DesktopOptions{StoreDir: "/data", ModelDir: "/m/Janus-Pro-1B"}},
		{name: "images to attach", args: []string{"a.png", "/tmp/b.jpg"}, want: app.DesktopOptions{Attach: []string{"a.png", "/tmp/b.jpg"}}},
		{name: "finder's process serial number skipped", args: []string{"-psn_0_12345", "a.png", ""},
			want: app.DesktopOptions{Attach: []string{"a.png"}}},
		{name: "help", args: []string{"--help"}, want: app.DesktopOptions{Help: true}},
		{name: "short help", args: []string{"a.png", "-h"}, want: app.DesktopOptions{Attach: []string{"a.png"}, Help: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := app.Env{GOOS: "linux", Home: "/home/u", Getenv: func(k string) string { return tc.vars[k] }}
			got := app.DesktopOptionsFrom(env, tc.args)
			if got.StoreDir != tc.want.StoreDir || got.ModelDir != tc.want.ModelDir || !slices.Equal(got.Attach, tc.want.Attach) || got.Help != tc.want.Help {
				t.Errorf("DesktopOptionsFrom = %+v, want %+v", got, tc.want)
			}
		})
	}
	// An Env without Getenv (a test's) reads no variables.
	if got := app.DesktopOptionsFrom(app.Env{GOOS: "linux"}, nil); got.StoreDir != "" || got.ModelDir != "" {
		t.Errorf("without Getenv: %+v", got)
	}
}

// TestStartDesktop: -h prints the usage and exits; the first start claims the data folder and
// opens the window; a second start hands its images to the first and exits saying so.
func TestStartDesktop(t *testing.T) {
	dir := t.TempDir()
	env := app.Env{GOOS: "linux", Home: t.TempDir(), Getenv: func(k string) string {
		if k == "JANUS_DATA" {
			return dir
		}
		return ""
	}}
	if s := app.StartDesktop(env, []string{"-h"}); !s.Exit || s.Say != app.DesktopUsage || s.Claim != nil {
		t.Errorf("-h: exit %v, claim %v, say %q", s.Exit, s.Claim, s.Say)
	}
	first := app.StartDesktop(env, nil)
	if first.Exit || first.Err != nil || first.Claim == nil {
		t.Fatalf("first start: exit %v, err %v, claim %v", first.Exit, first.Err, first.Claim)
	}
	defer first.Claim.Close()
	got := make(chan []string, 1)
	first.Claim.Serve(func(l app.Launch) error { got <- l.Attach; return nil })
	photo := filepath.Join(t.TempDir(), "photo.png")
	second := app.StartDesktop(env, []string{photo})
	if !second.Exit || second.Claim != nil || !strings.Contains(second.Say, "already running") {
		t.Errorf("second start: exit %v, claim %v, say %q", second.Exit, second.Claim, second.Say)
	}
	if a := <-got; len(a) != 1 || a[0] != photo {
		t.Errorf("the window was handed %v, want %s", a, photo)
	}
}
