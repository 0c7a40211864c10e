package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The restricted unpickler. It builds plain Go values for the opcodes a torch.save'd state
// dict uses and resolves GLOBAL only against a fixed table; "calling" one of those globals
// (REDUCE, NEWOBJ) builds a Go description of the result, never running anything.

// pyTuple is a pickled tuple.
type pyTuple []any

// pyList is a pickled list (a pointer, because APPEND mutates it in place).
type pyList struct{ items []any }

// pyDict is a pickled dict or OrderedDict, in insertion order.
type pyDict struct {
	keys   []any
	values []any
	index  map[string]int // position of each string key, for overwrites
}

func newDict() *pyDict { return &pyDict{index: make(map[string]int)} }

func (d *pyDict) set(k, v any) {
	if s, ok := k.(string); ok {
		if i, dup := d.index[s]; dup {
			d.values[i] = v
			return
		}
		d.index[s] = len(d.keys)
	}
	d.keys = append(d.keys, k)
	d.values = append(d.values, v)
}

// pyGlobal is one of the allowed globals.
type pyGlobal struct {
	kind  globalKind
	dtype DType // storage classes and torch dtypes
	name  string
}

type globalKind int

const (
	globalOrderedDict globalKind = iota
	globalRebuildTensor
	globalRebuildTensorV2
	globalRebuildTensorV3
	globalRebuildParameter
	globalStorageType
	globalUntypedStorage
	globalDType
)

// storageRef is a storage named by a persistent id: bytes in the zip entry data/<key>.
type storageRef struct {
	key    string
	dtype  DType // element type of a typed storage; U8 for an untyped one
	nbytes int64
}

// tensorRef is a tensor built by _rebuild_tensor*: a view of a storage.
type tensorRef struct {
	storage *storageRef
	dtype   DType
	offset  int64 // storage offset in elements of dtype
	shape   []int64
	stride  []int64
}

var storageDTypes = map[string]DType{
	"DoubleStorage": F64, "FloatStorage": F32, "HalfStorage": F16, "BFloat16Storage": BF16,
	"LongStorage": I64, "IntStorage": I32, "ShortStorage": I16, "CharStorage": I8,
	"ByteStorage": U8, "BoolStorage": Bool,
}

var torchDTypes = map[string]DType{
	"float64": F64, "double": F64, "float32": F32, "float": F32, "float16": F16, "half": F16,
	"bfloat16": BF16, "int64": I64, "long": I64, "int32": I32, "int": I32, "int16": I16,
	"short": I16, "int8": I8, "uint8": U8, "bool": Bool,
}

// lookupGlobal resolves module.name against the allow-list.
func lookupGlobal(module, name string) (pyGlobal, error) {
	g := pyGlobal{name: module + "." + name}
	switch {
	case module == "collections" && name == "OrderedDict":
		g.kind = globalOrderedDict
	case module == "torch._utils" && name == "_rebuild_tensor":
		g.kind = globalRebuildTensor
	case module == "torch._utils" && name == "_rebuild_tensor_v2":
		g.kind = globalRebuildTensorV2
	case module == "torch._utils" && name == "_rebuild_tensor_v3":
		g.kind = globalRebuildTensorV3
	case module == "torch._utils" && name == "_rebuild_parameter":
		g.kind = globalRebuildParameter
	case module == "torch" && name == "UntypedStorage":
		g.kind, g.dtype = globalUntypedStorage, U8
	case module == "torch" && storageDTypes[name] != "":
		g.kind, g.dtype = globalStorageType, storageDTypes[name]
	case module == "torch" && torchDTypes[name] != "":
		g.kind, g.dtype = globalDType, torchDTypes[name]
	default:
		return g, fmt.Errorf("pickle global %s.%s is not allowed in a state dict", module, name)
	}
	return g, nil
}

// unpickler holds the machine state while reading one pickle.
type unpickler struct {
	data     []byte
	pos      int
	stack    []any
	marks    []int
	memo     map[uint64]any
	storages map[string]*storageRef
}

// unpickle reads a state-dict pickle and returns its top-level object.
func unpickle(data []byte) (any, error) {
	u := &unpickler{data: data, memo: make(map[uint64]any), storages: make(map[string]*storageRef)}
	v, err := u.run()
	if err != nil {
		return nil, fmt.Errorf("pickle at byte %d: %w", u.pos, err)
	}
	return v, nil
}

var errTruncated = errors.New("truncated pickle")

func (u *unpickler) take(n uint64) ([]byte, error) {
	if n > uint64(len(u.data)-u.pos) {
		return nil, errTruncated
	}
	b := u.data[u.pos : u.pos+int(n)]
	u.pos += int(n)
	return b, nil
}

func (u *unpickler) uint(n int) (uint64, error) {
	b, err := u.take(uint64(n))
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

func (u *unpickler) line() (string, error) {
	i := bytes.IndexByte(u.data[u.pos:], '\n')
	if i < 0 {
		return "", errTruncated
	}
	s := string(u.data[u.pos : u.pos+i])
	u.pos += i + 1
	return s, nil
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1]) {
		return nil, errors.New("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1]) {
		return nil, errors.New("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark returns the items pushed since the last MARK and removes them and the mark.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, errors.New("no MARK on the stack")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) popN(n int) ([]any, error) {
	items := make([]any, n)
	for i := n - 1; i >= 0; i-- {
		v, err := u.pop()
		if err != nil {
			return nil, err
		}
		items[i] = v
	}
	return items, nil
}

func (u *unpickler) run() (any, error) {
	for {
		if u.pos >= len(u.data) {
			return nil, errors.New("no STOP opcode")
		}
		op := u.data[u.pos]
		u.pos++
		if err := u.step(op); err != nil {
			if err == errStop {
				if len(u.stack) != 1 {
					return nil, fmt.Errorf("STOP with %d values on the stack, want 1", len(u.stack))
				}
				return u.stack[0], nil
			}
			return nil, err
		}
	}
}

var errStop = errors.New("stop")

func (u *unpickler) step(op byte) error {
	switch op {
	case 0x80: // PROTO
		v, err := u.uint(1)
		if err != nil {
			return err
		}
		if v > 5 {
			return fmt.Errorf("unsupported pickle protocol %d", v)
		}
	case 0x95: // FRAME: framing only groups opcodes, so its length is skipped
		if _, err := u.uint(8); err != nil {
			return err
		}
	case '.': // STOP
		return errStop
	case '}': // EMPTY_DICT
		u.push(newDict())
	case ']': // EMPTY_LIST
		u.push(&pyList{})
	case ')': // EMPTY_TUPLE
		u.push(pyTuple{})
	case '(': // MARK
		u.marks = append(u.marks, len(u.stack))
	case '0': // POP
		_, err := u.pop()
		return err
	case '1': // POP_MARK
		_, err := u.popMark()
		return err
	case '2': // DUP
		v, err := u.top()
		if err != nil {
			return err
		}
		u.push(v)
	case 'N': // NONE
		u.push(nil)
	case 0x88: // NEWTRUE
		u.push(true)
	case 0x89: // NEWFALSE
		u.push(false)
	case 'K': // BININT1
		v, err := u.uint(1)
		if err != nil {
			return err
		}
		u.push(int64(v))
	case 'M': // BININT2
		v, err := u.uint(2)
		if err != nil {
			return err
		}
		u.push(int64(v))
	case 'J': // BININT
		v, err := u.uint(4)
		if err != nil {
			return err
		}
		u.push(int64(int32(uint32(v))))
	case 0x8a, 0x8b: // LONG1, LONG4
		width := 1
		if op == 0x8b {
			width = 4
		}
		n, err := u.uint(width)
		if err != nil {
			return err
		}
		if n > 8 {
			return fmt.Errorf("integer of %d bytes is too large", n)
		}
		b, err := u.take(n)
		if err != nil {
			return err
		}
		var v uint64
		for i := int(n) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		if n > 0 && n < 8 && b[n-1]&0x80 != 0 { // sign-extend two's complement
			v |= ^uint64(0) << (8 * n)
		}
		u.push(int64(v))
	case 'G': // BINFLOAT, big-endian
		b, err := u.take(8)
		if err != nil {
			return err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 0x8c, 'X', 0x8d, 'U', 'T': // SHORT_BINUNICODE, BINUNICODE, BINUNICODE8, SHORT_BINSTRING, BINSTRING
		width := map[byte]int{0x8c: 1, 'X': 4, 0x8d: 8, 'U': 1, 'T': 4}[op]
		n, err := u.uint(width)
		if err != nil {
			return err
		}
		b, err := u.take(n)
		if err != nil {
			return err
		}
		u.push(string(b))
	case 'C', 'B': // SHORT_BINBYTES, BINBYTES
		width := 1
		if op == 'B' {
			width = 4
		}
		n, err := u.uint(width)
		if err != nil {
			return err
		}
		b, err := u.take(n)
		if err != nil {
			return err
		}
		u.push(append([]byte(nil), b...))
	case 't': // TUPLE
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(pyTuple(items))
	case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
		items, err := u.popN(int(op-0x85) + 1)
		if err != nil {
			return err
		}
		u.push(pyTuple(items))
	case 'l': // LIST
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(&pyList{items: items})
	case 'd': // DICT
		items, err := u.popMark()
		if err != nil {
			return err
		}
		d := newDict()
		if err := setItems(d, items); err != nil {
			return err
		}
		u.push(d)
	case 'a': // APPEND
		v, err := u.pop()
		if err != nil {
			return err
		}
		return u.appendTo([]any{v})
	case 'e': // APPENDS
		items, err := u.popMark()
		if err != nil {
			return err
		}
		return u.appendTo(items)
	case 's': // SETITEM
		kv, err := u.popN(2)
		if err != nil {
			return err
		}
		return u.setItemsOn(kv)
	case 'u': // SETITEMS
		items, err := u.popMark()
		if err != nil {
			return err
		}
		return u.setItemsOn(items)
	case 'q', 'r': // BINPUT, LONG_BINPUT
		width := 1
		if op == 'r' {
			width = 4
		}
		k, err := u.uint(width)
		if err != nil {
			return err
		}
		v, err := u.top()
		if err != nil {
			return err
		}
		u.memo[k] = v
	case 0x94: // MEMOIZE
		v, err := u.top()
		if err != nil {
			return err
		}
		u.memo[uint64(len(u.memo))] = v
	case 'h', 'j': // BINGET, LONG_BINGET
		width := 1
		if op == 'j' {
			width = 4
		}
		k, err := u.uint(width)
		if err != nil {
			return err
		}
		v, ok := u.memo[k]
		if !ok {
			return fmt.Errorf("memo key %d was never stored", k)
		}
		u.push(v)
	case 'c': // GLOBAL
		module, err := u.line()
		if err != nil {
			return err
		}
		name, err := u.line()
		if err != nil {
			return err
		}
		g, err := lookupGlobal(module, name)
		if err != nil {
			return err
		}
		u.push(g)
	case 0x93: // STACK_GLOBAL
		mn, err := u.popN(2)
		if err != nil {
			return err
		}
		module, ok1 := mn[0].(string)
		name, ok2 := mn[1].(string)
		if !ok1 || !ok2 {
			return errors.New("STACK_GLOBAL needs two strings")
		}
		g, err := lookupGlobal(module, name)
		if err != nil {
			return err
		}
		u.push(g)
	case 'Q': // BINPERSID
		pid, err := u.pop()
		if err != nil {
			return err
		}
		s, err := u.persistentLoad(pid)
		if err != nil {
			return err
		}
		u.push(s)
	case 'R': // REDUCE
		fa, err := u.popN(2)
		if err != nil {
			return err
		}
		v, err := u.call(fa[0], fa[1])
		if err != nil {
			return err
		}
		u.push(v)
	case 0x81: // NEWOBJ: cls.__new__(cls, *args); only OrderedDict is allowed
		ca, err := u.popN(2)
		if err != nil {
			return err
		}
		if g, ok := ca[0].(pyGlobal); !ok || g.kind != globalOrderedDict {
			return fmt.Errorf("NEWOBJ of %s is not allowed", describe(ca[0]))
		}
		u.push(newDict())
	case 'b': // BUILD
		state, err := u.pop()
		if err != nil {
			return err
		}
		obj, err := u.top()
		if err != nil {
			return err
		}
		// An OrderedDict state_dict carries its _metadata attribute this way; it only
		// records module versions, which weights do not depend on.
		if _, ok := obj.(*pyDict); !ok {
			return fmt.Errorf("BUILD on %s is not allowed", describe(obj))
		}
		if _, ok := state.(*pyDict); !ok && state != nil {
			return fmt.Errorf("BUILD of a dict with %s state is not allowed", describe(state))
		}
	default:
		return fmt.Errorf("unsupported pickle opcode 0x%02x", op)
	}
	return nil
}

func (u *unpickler) appendTo(items []any) error {
	t, err := u.top()
	if err != nil {
		return err
	}
	l, ok := t.(*pyList)
	if !ok {
		return fmt.Errorf("APPEND to %s", describe(t))
	}
	l.items = append(l.items, items...)
	return nil
}

func (u *unpickler) setItemsOn(items []any) error {
	t, err := u.top()
	if err != nil {
		return err
	}
	d, ok := t.(*pyDict)
	if !ok {
		return fmt.Errorf("SETITEM on %s", describe(t))
	}
	return setItems(d, items)
}

func setItems(d *pyDict, items []any) error {
	if len(items)%2 != 0 {
		return errors.New("odd number of items for a dict")
	}
	for i := 0; i < len(items); i += 2 {
		d.set(items[i], items[i+1])
	}
	return nil
}

// persistentLoad resolves ('storage', storage_type, key, location, numel).
func (u *unpickler) persistentLoad(pid any) (*storageRef, error) {
	t, ok := pid.(pyTuple)
	if !ok || len(t) != 5 {
		return nil, fmt.Errorf("persistent id %s is not a 5-tuple", describe(pid))
	}
	if s, _ := t[0].(string); s != "storage" {
		return nil, fmt.Errorf("persistent id of kind %s is not supported", describe(t[0]))
	}
	g, ok := t[1].(pyGlobal)
	if !ok || (g.kind != globalStorageType && g.kind != globalUntypedStorage) {
		return nil, fmt.Errorf("persistent id names %s, not a storage class", describe(t[1]))
	}
	key, ok := t[2].(string)
	if !ok {
		return nil, fmt.Errorf("storage key %s is not a string", describe(t[2]))
	}
	numel, ok := t[4].(int64)
	if !ok || numel < 0 {
		return nil, fmt.Errorf("storage %s: size %s is not a non-negative integer", key, describe(t[4]))
	}
	size := int64(g.dtype.Size())
	if numel > math.MaxInt64/size {
		return nil, fmt.Errorf("storage %s: size %d overflows", key, numel)
	}
	s := &storageRef{key: key, dtype: g.dtype, nbytes: numel * size}
	if prev, ok := u.storages[key]; ok {
		if prev.dtype != s.dtype || prev.nbytes != s.nbytes {
			return nil, fmt.Errorf("storage %s is described twice, differently", key)
		}
		return prev, nil
	}
	u.storages[key] = s
	return s, nil
}

// call evaluates REDUCE for the allowed callables.
func (u *unpickler) call(fn, args any) (any, error) {
	g, ok := fn.(pyGlobal)
	if !ok {
		return nil, fmt.Errorf("REDUCE on %s is not allowed", describe(fn))
	}
	a, ok := args.(pyTuple)
	if !ok {
		return nil, fmt.Errorf("%s called with %s instead of an argument tuple", g.name, describe(args))
	}
	switch g.kind {
	case globalOrderedDict:
		if len(a) != 0 {
			return nil, fmt.Errorf("%s called with %d arguments, want 0", g.name, len(a))
		}
		return newDict(), nil
	case globalRebuildTensor: // (storage, storage_offset, size, stride)
		if len(a) != 4 {
			return nil, fmt.Errorf("%s called with %d arguments, want 4", g.name, len(a))
		}
		return rebuildTensor(g.name, a, "")
	case globalRebuildTensorV2: // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
		if len(a) != 6 && len(a) != 7 {
			return nil, fmt.Errorf("%s called with %d arguments, want 6 or 7", g.name, len(a))
		}
		return rebuildTensor(g.name, a, "")
	case globalRebuildTensorV3: // (storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype[, metadata])
		if len(a) != 7 && len(a) != 8 {
			return nil, fmt.Errorf("%s called with %d arguments, want 7 or 8", g.name, len(a))
		}
		dt, ok := a[6].(pyGlobal)
		if !ok || dt.kind != globalDType {
			return nil, fmt.Errorf("%s: dtype argument %s is not a torch dtype", g.name, describe(a[6]))
		}
		return rebuildTensor(g.name, a, dt.dtype)
	case globalRebuildParameter: // (data, requires_grad, backward_hooks)
		if len(a) != 3 {
			return nil, fmt.Errorf("%s called with %d arguments, want 3", g.name, len(a))
		}
		t, ok := a[0].(*tensorRef)
		if !ok {
			return nil, fmt.Errorf("%s: data %s is not a tensor", g.name, describe(a[0]))
		}
		return t, nil
	}
	return nil, fmt.Errorf("calling %s is not allowed", g.name)
}

// rebuildTensor checks the arguments of a _rebuild_tensor* call. dtype overrides the
// storage's element type (for _rebuild_tensor_v3 over an untyped storage).
func rebuildTensor(fname string, a pyTuple, dtype DType) (*tensorRef, error) {
	s, ok := a[0].(*storageRef)
	if !ok {
		return nil, fmt.Errorf("%s: storage argument %s is not a storage", fname, describe(a[0]))
	}
	if dtype == "" {
		dtype = s.dtype
	}
	off, ok := a[1].(int64)
	if !ok || off < 0 {
		return nil, fmt.Errorf("%s: storage offset %s is not a non-negative integer", fname, describe(a[1]))
	}
	shape, err := intTuple(a[2])
	if err != nil {
		return nil, fmt.Errorf("%s: size: %w", fname, err)
	}
	stride, err := intTuple(a[3])
	if err != nil {
		return nil, fmt.Errorf("%s: stride: %w", fname, err)
	}
	return &tensorRef{storage: s, dtype: dtype, offset: off, shape: shape, stride: stride}, nil
}

func intTuple(v any) ([]int64, error) {
	t, ok := v.(pyTuple)
	if !ok {
		return nil, fmt.Errorf("%s is not a tuple", describe(v))
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok {
			return nil, fmt.Errorf("element %d is %s, not an integer", i, describe(x))
		}
		out[i] = n
	}
	return out, nil
}

// describe names a pickled value's type for error messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return "a bool"
	case int64:
		return fmt.Sprintf("the integer %d", x)
	case float64:
		return "a float"
	case string:
		if len(x) > 40 {
			x = x[:40] + "..."
		}
		return fmt.Sprintf("the string %q", x)
	case []byte:
		return "bytes"
	case pyTuple:
		return fmt.Sprintf("a %d-tuple", len(x))
	case *pyList:
		return "a list"
	case *pyDict:
		return "a dict"
	case pyGlobal:
		return x.name
	case *storageRef:
		return "a storage"
	case *tensorRef:
		return "a tensor"
	}
	return fmt.Sprintf("%T", v)
}
