package app

import (
	"runtime/debug"
	"strings"
	"testing"
)

// The version shown: the one set at build time, else "dev", with the commit when Go
// recorded one (test binaries have none, so the settings are given here).
func TestVersionFrom(t *testing.T) {
	rev := []debug.BuildSetting{{Key: "vcs.revision", Value: "2eed94e1234567890abcdef"}}
	modified := append(rev, debug.BuildSetting{Key: "vcs.modified", Value: "true"})
	for _, tc := range []struct {
		linked   string
		settings []debug.BuildSetting
		want     string
	}{
		{"", nil, "dev"},
		{"0.1.0", nil, "0.1.0"},
		{"", rev, "dev (2eed94e12345)"},
		{"0.1.0", modified, "0.1.0 (2eed94e12345, modified)"},
		{"", []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}}, "dev (abc)"},
	} {
		if got := versionFrom(tc.linked, tc.settings); got != tc.want {
			t.Errorf("versionFrom(%q, %v) = %q, want %q", tc.linked, tc.settings, got, tc.want)
		}
	}
}

// Software names the program before its version (and the commit, when Go recorded one).
func TestSoftware(t *testing.T) {
	if got := Software("0.1.0"); !strings.HasPrefix(got, "Janus Desktop 0.1.0") {
		t.Errorf("Software(%q) = %q, want Janus Desktop 0.1.0 first", "0.1.0", got)
	}
}
