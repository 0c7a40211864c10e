package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/internal/fixtures"
)

// TestKernelSetShown: info and bench name the CPU kernel set in use, in text and JSON, and
// JANUS_CPU_KERNELS=generic shows as generic.
func TestKernelSetShown(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	for _, env := range []string{"", "generic"} {
		t.Run("JANUS_CPU_KERNELS="+env, func(t *testing.T) {
			t.Setenv("JANUS_CPU_KERNELS", env)
			valid := map[string]bool{"avx512": true, "avx2-fma": true, "neon": true, "generic": true}
			check := func(what, got string) {
				t.Helper()
				if !valid[got] || (env == "generic" && got != "generic") {
					t.Errorf("%s names kernels %q", what, got)
				}
			}

			var out, errOut bytes.Buffer
			if err := runInfo([]string{"--model", dir, "--json"}, &out, &errOut); err != nil {
				t.Fatal(err)
			}
			var info struct {
				Compute struct{ Backend, Kernels string } `json:"compute"`
			}
			if err := json.Unmarshal(out.Bytes(), &info); err != nil {
				t.Fatal(err)
			}
			if info.Compute.Backend != "cpu" {
				t.Errorf("info --json compute %+v", info.Compute)
			}
			check("info --json", info.Compute.Kernels)
			out.Reset()
			if err := runInfo([]string{"--model", dir}, &out, &errOut); err != nil {
				t.Fatal(err)
			}
			line := ""
			for _, l := range strings.Split(out.String(), "\n") {
				if strings.HasPrefix(l, "compute ") {
					line = strings.TrimSpace(strings.TrimPrefix(l, "compute "))
				}
			}
			kernels, ok := strings.CutPrefix(strings.TrimSuffix(line, " kernels"), "cpu, ")
			if !ok {
				t.Errorf("info text compute line %q", line)
			}
			check("info text", kernels)

			args := []string{"--config", dir, "--stages", "preprocess", "--repeat", "1", "--bw-mb", "0"}
			out.Reset()
			if err := runBench(context.Background(), append(args, "--json"), &out, &errOut); err != nil {
				t.Fatal(err)
			}
			var res struct{ Backend, Kernels string }
			if err := json.Unmarshal(out.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			check("bench --json", res.Kernels)
			out.Reset()
			if err := runBench(context.Background(), args, &out, &errOut); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), " backend=cpu kernels="+res.Kernels+" ") {
				t.Errorf("bench table header does not name kernels=%s:\n%s", res.Kernels, out.String())
			}
		})
	}
}

// TestInfoPrecisionHint: info says what --precision bf16 would run on (JSON bf16_kernels)
// and, in the text, offers it exactly when that is not empty; JANUS_CPU_KERNELS=generic
// (no BF16 kernels) and avx512 (the FMA tiles: no AMX, no VDPBF16PS tiles) change it.
func TestInfoPrecisionHint(t *testing.T) {
	dir := fixtures.Path(t, "models", "tiny-a")
	for _, env := range []string{"", "avx512", "generic"} {
		t.Run("JANUS_CPU_KERNELS="+env, func(t *testing.T) {
			t.Setenv("JANUS_CPU_KERNELS", env)
			var out, errOut bytes.Buffer
			if err := runInfo([]string{"--model", dir, "--json"}, &out, &errOut); err != nil {
				t.Fatal(err)
			}
			var info struct {
				Compute struct {
					BF16Kernels string `json:"bf16_kernels"`
				} `json:"compute"`
			}
			if err := json.Unmarshal(out.Bytes(), &info); err != nil {
				t.Fatal(err)
			}
			got := info.Compute.BF16Kernels
			switch {
			case env == "generic" && got != "":
				t.Errorf("generic kernels, bf16_kernels %q", got)
			case env == "avx512" && got != "" && got != "avx512":
				t.Errorf("capped to avx512, bf16_kernels %q", got)
			case got != "" && got != "avx512" && got != "avx512+amx" && got != "avx512+vdpbf16ps":
				t.Errorf("bf16_kernels %q", got)
			}
			out.Reset()
			if err := runInfo([]string{"--model", dir}, &out, &errOut); err != nil {
				t.Fatal(err)
			}
			hint := strings.Contains(out.String(), "\n--precision bf16 ")
			if hint != (got != "") || (got == "avx512+amx") != strings.Contains(out.String(), "on AMX here") {
				t.Errorf("bf16_kernels %q, text:\n%s", got, out.String())
			}
		})
	}
}
