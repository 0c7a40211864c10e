//go:build linux

package mtl

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/janus-desktop/janus/metal/internal/sim"
)

// stubs are C functions with the parameter lists of the messages msg sends, which record
// what they receive: purego marshals the same Go signatures here as on a Mac (darwin/amd64
// shares this System V ABI; darwin/arm64 differs only in how the 24-byte MTLSize travels).
const stubs = `#include <stdint.h>
#include <string.h>
#include <stdbool.h>
typedef struct { uintptr_t w, h, d; } MTLSize;
static uintptr_t rec[8];
uintptr_t stub_rec(int i) { return rec[i]; }
uintptr_t stub_id(uintptr_t r, uintptr_t s) { return r + s; }
uintptr_t stub_uint(uintptr_t r, uintptr_t s) { return r * s; }
bool stub_bool(uintptr_t r, uintptr_t s) { return r == s; }
bool stub_boolsel(uintptr_t r, uintptr_t s, uintptr_t a) { return r + s == a; }
bool stub_boolint(uintptr_t r, uintptr_t s, intptr_t a) { return a == 1007; }
void* stub_ptr(uintptr_t r, uintptr_t s) { return (void*)(r + 0x1000); }
const char* stub_str(uintptr_t r, uintptr_t s) { return "Apple M0"; }
uintptr_t stub_idstr(uintptr_t r, uintptr_t s, const char* a) { return strlen(a); }
void stub_voidbool(uintptr_t r, uintptr_t s, bool b) { rec[0] = b ? 7 : 3; }
void stub_voidint(uintptr_t r, uintptr_t s, intptr_t a) { rec[0] = (uintptr_t)a; }
uintptr_t stub_library(uintptr_t r, uintptr_t s, uintptr_t src, uintptr_t opts, uintptr_t* err) { *err = src + opts; return 0; }
void stub_setbuf(uintptr_t r, uintptr_t s, uintptr_t buf, uintptr_t off, uintptr_t idx) { rec[0] = buf; rec[1] = off; rec[2] = idx; }
void stub_setbytes(uintptr_t r, uintptr_t s, const void* p, uintptr_t n, uintptr_t idx) { memcpy(&rec[0], p, 8); rec[1] = n; rec[2] = idx; }
void stub_dispatch(uintptr_t r, uintptr_t s, MTLSize g, MTLSize t) {
  rec[0] = r; rec[1] = s; rec[2] = g.w; rec[3] = g.h; rec[4] = g.d; rec[5] = t.w; rec[6] = t.h; rec[7] = t.d;
}
`

// TestMessageSignatures registers every message variant of msg with purego, as Open does,
// and checks that arguments (strings, bools, out-pointers, MTLSize by value) and results
// (objects, integers, pointers, C strings) cross the call intact.
func TestMessageSignatures(t *testing.T) {
	clang, err := sim.FindCompiler()
	if errors.Is(err, sim.ErrNoCompiler) {
		t.Skip("skipping: no clang to build the C stubs")
	}
	dir := t.TempDir()
	src, lib := filepath.Join(dir, "stubs.c"), filepath.Join(dir, "libstubs.so")
	if err := os.WriteFile(src, []byte(stubs), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(clang, "-x", "c", "-shared", "-fPIC", "-O1", "-o", lib, src).CombinedOutput(); err != nil {
		t.Fatalf("build the stubs: %v\n%s", err, out)
	}
	h, err := purego.Dlopen(lib, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		t.Fatal(err)
	}
	sym := func(name string) uintptr {
		p, err := purego.Dlsym(h, name)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// register binds every field to one function, as on a Mac; that must not panic.
	var all msg
	all.register(sym("stub_id"))

	var m msg
	var rec func(i int32) uintptr
	purego.RegisterFunc(&rec, sym("stub_rec"))
	purego.RegisterFunc(&m.id, sym("stub_id"))
	purego.RegisterFunc(&m.uint, sym("stub_uint"))
	purego.RegisterFunc(&m.boolean, sym("stub_bool"))
	purego.RegisterFunc(&m.ptr, sym("stub_ptr"))
	purego.RegisterFunc(&m.str, sym("stub_str"))
	purego.RegisterFunc(&m.idStr, sym("stub_idstr"))
	purego.RegisterFunc(&m.voidBool, sym("stub_voidbool"))
	purego.RegisterFunc(&m.boolSel, sym("stub_boolsel"))
	purego.RegisterFunc(&m.boolInt, sym("stub_boolint"))
	purego.RegisterFunc(&m.voidInt, sym("stub_voidint"))
	purego.RegisterFunc(&m.library, sym("stub_library"))
	purego.RegisterFunc(&m.setBuf, sym("stub_setbuf"))
	purego.RegisterFunc(&m.setBytes, sym("stub_setbytes"))
	purego.RegisterFunc(&m.dispatch, sym("stub_dispatch"))

	if got := m.id(40, 2); got != 42 {
		t.Errorf("id: %d", got)
	}
	if got := m.uint(6, 7); got != 42 {
		t.Errorf("uint: %d", got)
	}
	if !m.boolean(5, 5) || m.boolean(5, 6) {
		t.Errorf("boolean: %v for equal arguments, %v for different ones", m.boolean(5, 5), m.boolean(5, 6))
	}
	if got := m.ptr(0x2000, 0); uintptr(got) != 0x3000 {
		t.Errorf("ptr: %p", got)
	}
	if got := m.str(0, 0); got != "Apple M0" {
		t.Errorf("str: %q", got)
	}
	if got := m.idStr(0, 0, "kernel_name"); got != 11 {
		t.Errorf("idStr: length %d", got)
	}
	m.voidBool(0, 0, false)
	if rec(0) != 3 {
		t.Errorf("voidBool(false) arrived as %d", rec(0))
	}
	if !m.boolSel(3, 4, 7) || m.boolSel(3, 4, 8) {
		t.Errorf("boolSel: %v for a matching selector, %v for another", m.boolSel(3, 4, 7), m.boolSel(3, 4, 8))
	}
	if !m.boolInt(0, 0, 1007) || m.boolInt(0, 0, 1006) {
		t.Errorf("boolInt: %v for the family asked, %v for another", m.boolInt(0, 0, 1007), m.boolInt(0, 0, 1006))
	}
	m.voidInt(0, 0, -2)
	if int(rec(0)) != -2 {
		t.Errorf("voidInt(-2) arrived as %d", int(rec(0)))
	}
	var nserr object
	if got := m.library(0, 0, 0x100, 0x20, &nserr); got != 0 || nserr != 0x120 {
		t.Errorf("library: %d, error out-parameter %#x", got, nserr)
	}
	m.setBuf(0, 0, 0xabc, 256, 5)
	if rec(0) != 0xabc || rec(1) != 256 || rec(2) != 5 {
		t.Errorf("setBuffer: %#x %d %d", rec(0), rec(1), rec(2))
	}
	data := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	m.setBytes(0, 0, unsafe.Pointer(&data[0]), 8, 3)
	if rec(0) != 0x0807060504030201 || rec(1) != 8 || rec(2) != 3 {
		t.Errorf("setBytes: %#x %d %d", rec(0), rec(1), rec(2))
	}
	m.dispatch(11, 12, mtlSize{1, 2, 3}, mtlSize{256, 4, 5})
	want := []uintptr{11, 12, 1, 2, 3, 256, 4, 5}
	for i, w := range want {
		if got := rec(int32(i)); got != w {
			t.Errorf("dispatch argument %d: %d, want %d", i, got, w)
		}
	}
}
