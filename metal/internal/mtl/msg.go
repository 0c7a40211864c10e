package mtl

import (
	"unsafe"

	"github.com/ebitengine/purego"
)

// object is an Objective-C object pointer (id) and selector a registered selector (SEL), as
// uintptr types of this package so that the message signatures below also build, and are
// tested, off darwin (purego/objc exists only there).
type (
	object   uintptr
	selector uintptr
)

// mtlSize is MTLSize: three NSUIntegers, passed by value.
type mtlSize struct{ width, height, depth uint }

// msg holds the typed objc_msgSend variants, registered once per device: each signature
// is fixed in one place and tested (objc.Send's variadic arguments are not).
type msg struct {
	id       func(r object, s selector) object
	uint     func(r object, s selector) uint
	boolean  func(r object, s selector) bool
	boolSel  func(r object, s selector, a selector) bool
	boolInt  func(r object, s selector, a int) bool
	ptr      func(r object, s selector) unsafe.Pointer
	str      func(r object, s selector) string
	void     func(r object, s selector)
	idID     func(r object, s selector, a object) object
	idUint   func(r object, s selector, a uint) object
	idStr    func(r object, s selector, a string) object
	voidID   func(r object, s selector, a object)
	voidBool func(r object, s selector, a bool)
	voidInt  func(r object, s selector, a int)
	library  func(r object, s selector, src, opts object, err *object) object
	pipeline func(r object, s selector, fn object, err *object) object
	buffer   func(r object, s selector, length, options uint) object
	setBuf   func(r object, s selector, buf object, off, index uint)
	setBytes func(r object, s selector, p unsafe.Pointer, n, index uint)
	dispatch func(r object, s selector, groups, threads mtlSize)

	poolPush func() uintptr
	poolPop  func(pool uintptr)
}

// register binds every message variant to send (objc_msgSend's address).
func (m *msg) register(send uintptr) {
	for _, f := range []any{&m.id, &m.uint, &m.boolean, &m.ptr, &m.str, &m.void, &m.idID, &m.idUint, &m.idStr, &m.voidID,
		&m.boolSel, &m.boolInt, &m.voidBool, &m.voidInt, &m.library, &m.pipeline, &m.buffer, &m.setBuf, &m.setBytes, &m.dispatch} {
		purego.RegisterFunc(f, send)
	}
}
