package sim

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/cpu"
)

//go:embed shim
var shimFS embed.FS

// ErrNoCompiler is returned when no clang++ is installed; tests skip on it.
var ErrNoCompiler = errors.New("no clang++ on PATH (install clang to run the simulated Metal device)")

// FindCompiler returns the clang++ to use: $JANUS_CLANG, else clang++, else the newest
// versioned clang++-N on PATH. g++ cannot compile the shim (no ext_vector_type).
func FindCompiler() (string, error) {
	if c := os.Getenv("JANUS_CLANG"); c != "" {
		return exec.LookPath(c)
	}
	names := []string{"clang++"}
	for v := 21; v >= 14; v-- {
		names = append(names, fmt.Sprintf("clang++-%d", v))
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", ErrNoCompiler
}

// Variant selects how the kernels are compiled for the simulated device.
type Variant int

const (
	// Optimized is -O2: the fast variant the conformance and golden tests use.
	Optimized Variant = iota
	// Sanitized adds AddressSanitizer and UndefinedBehaviorSanitizer (every finding aborts).
	// The process must have the ASan runtime preloaded (see SanitizerRuntime).
	Sanitized
)

func (v Variant) flags() []string {
	common := []string{"-std=c++17", "-fPIC", "-shared", "-g", "-fno-strict-aliasing",
		"-Wall", "-Werror", "-Wno-unknown-attributes", "-Wno-unused-variable", "-Wno-unused-function"}
	if v == Sanitized {
		return append(common, "-O1", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
			"-fno-sanitize-recover=all", "-shared-libasan")
	}
	return append(append(common, "-O2"), contraction()...)
}

// contraction fuses a*b+c into one FMA where the host has the instruction, as Apple's
// compiler may on the GPU even with fast math off: the kernels' tolerances are then tested
// against the rounding a Mac may give, not only the unfused one.
func contraction() []string {
	if runtime.GOARCH == "amd64" && cpu.X86.HasFMA {
		return []string{"-mfma", "-ffp-contract=fast"}
	}
	if runtime.GOARCH == "arm64" {
		return []string{"-ffp-contract=fast"} // FMA is in every arm64 CPU
	}
	return nil
}

// SanitizerRuntime returns the path of the compiler's shared ASan runtime, which a process
// must LD_PRELOAD before it loads a Sanitized library.
func SanitizerRuntime(clang string) (string, error) {
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	if arch == "" {
		return "", fmt.Errorf("no ASan runtime name for %s", runtime.GOARCH)
	}
	out, err := exec.Command(clang, "-print-file-name=libclang_rt.asan-"+arch+".so").Output()
	if err != nil {
		return "", fmt.Errorf("ask %s for its ASan runtime: %w", clang, err)
	}
	p := strings.TrimSpace(string(out))
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("%s has no shared ASan runtime (install libclang-rt-dev)", clang)
	}
	return p, nil
}

// writeShim copies the shim headers into dir.
func writeShim(dir string) error {
	return fs.WalkDir(shimFS, "shim", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := shimFS.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, filepath.Base(path)), data, 0o644)
	})
}

// cacheKey hashes everything that goes into a build.
func cacheKey(clang, version, src string, v Variant) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%q\n", clang, version, v.flags())
	h.Write([]byte(src))
	fs.WalkDir(shimFS, "shim", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := shimFS.ReadFile(path)
			fmt.Fprintf(h, "%s %d\n", path, len(data))
			h.Write(data)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// CacheDir is where built libraries live: $JANUS_SIM_CACHE, else the user's cache folder.
func CacheDir() (string, error) {
	if d := os.Getenv("JANUS_SIM_CACHE"); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find a cache folder for the simulated Metal device: %w", err)
	}
	return filepath.Join(base, "janus-desktop", "metal-sim"), nil
}

// Build compiles the MSL source into the simulated device's shared library, or returns the
// cached one built from the same source, shim, compiler and flags. A new library is built
// in a temporary folder and renamed into place, so concurrent builds never see half a file.
func Build(ctx context.Context, clang, src string, v Variant) (string, error) {
	ks, err := parseKernels(src)
	if err != nil {
		return "", fmt.Errorf("read the kernels: %w", err)
	}
	ver, err := exec.CommandContext(ctx, clang, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("run %s --version: %w", clang, err)
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, cacheKey(clang, string(ver), src, v))
	lib := filepath.Join(dir, "libjanus-kernels.so")
	if _, err := os.Stat(lib); err == nil {
		return lib, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("make the simulator cache: %w", err)
	}
	tmp, err := os.MkdirTemp(cache, "build-")
	if err != nil {
		return "", fmt.Errorf("make a build folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := writeShim(tmp); err != nil {
		return "", fmt.Errorf("write the shim: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "kernels.metal"), []byte(src), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, "glue.cpp"), []byte(glue(src, ks)), 0o644); err != nil {
		return "", err
	}
	args := append(v.flags(), "-I", tmp, "-o", filepath.Join(tmp, "libjanus-kernels.so"), filepath.Join(tmp, "glue.cpp"))
	cmd := exec.CommandContext(ctx, clang, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("compile the kernels with %s: %w\n%s", clang, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(lib); statErr == nil {
			return lib, nil // another process finished the same build first
		}
		return "", fmt.Errorf("install the simulator library: %w", err)
	}
	return lib, nil
}

// CheckAddressSpaces runs the strict syntax-only pass over src: device, constant and
// threadgroup become distinct clang address spaces, so mixing them fails to compile as it
// does with Apple's compiler (which the plain shim would accept). It returns clang's
// diagnostics as the error.
func CheckAddressSpaces(ctx context.Context, clang, src string) error {
	return checkSyntax(ctx, clang, src, true)
}

// checkSyntax compiles src syntax-only against the shim, strict or plain.
func checkSyntax(ctx context.Context, clang, src string, strict bool) error {
	tmp, err := os.MkdirTemp("", "janus-msl-strict-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := writeShim(tmp); err != nil {
		return err
	}
	file := filepath.Join(tmp, "kernels.metal")
	if err := os.WriteFile(file, []byte(rewriteThreadgroup(src, strict)), 0o644); err != nil {
		return err
	}
	args := []string{"-x", "c++", "-std=c++17", "-fsyntax-only", "-Wno-unknown-attributes", "-I", tmp}
	if strict {
		args = append(args, "-DMSL_STRICT")
	} else {
		args = append(args, "-include", filepath.Join(tmp, "msl_runtime.h"))
	}
	cmd := exec.CommandContext(ctx, clang, append(args, file)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		pass := "syntax pass"
		if strict {
			pass = "strict address-space pass"
		}
		return fmt.Errorf("%s: %w\n%s", pass, err, out)
	}
	return nil
}
