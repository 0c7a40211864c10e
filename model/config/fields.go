package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// problems collects every invalid value of one Load, so that a user sees them all at once.
type problems struct {
	list []Problem
}

func (p *problems) add(file, field, format string, args ...any) {
	p.list = append(p.list, Problem{File: file, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// object is one JSON object of a config file, with the dotted path that leads to it (for
// error messages). A JSON null value counts as absent, as Python's keyword defaults do.
type object struct {
	file  string
	path  string
	m     map[string]json.RawMessage
	probs *problems
}

func parseObject(file string, raw []byte, probs *problems) (*object, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("top level is null, want a JSON object")
	}
	return &object{file: file, m: m, probs: probs}, nil
}

func (o *object) field(key string) string {
	if o.path == "" {
		return key
	}
	return o.path + "." + key
}

func (o *object) fail(key, format string, args ...any) {
	o.probs.add(o.file, o.field(key), format, args...)
}

// has reports whether key is present and not null.
func (o *object) has(key string) bool {
	if o == nil {
		return false
	}
	v, ok := o.m[key]
	return ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

func (o *object) value(key string) (json.RawMessage, bool) {
	if !o.has(key) {
		return nil, false
	}
	return bytes.TrimSpace(o.m[key]), true
}

// child returns the nested object at key. A missing required object is reported and an
// empty object is returned, so parsing continues and finds the other problems too.
func (o *object) child(key string, required bool) *object {
	c := &object{file: o.file, path: o.field(key), m: map[string]json.RawMessage{}, probs: o.probs}
	v, ok := o.value(key)
	if !ok {
		if required {
			o.fail(key, "missing")
		}
		return c
	}
	if len(v) == 0 || v[0] != '{' || json.Unmarshal(v, &c.m) != nil {
		o.fail(key, "must be a JSON object")
	}
	return c
}

// number decodes a JSON number; a string or other type is reported.
func (o *object) number(key string, v json.RawMessage) (json.Number, bool) {
	if len(v) == 0 || !(v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) {
		o.fail(key, "must be a number, got %s", abbreviate(v))
		return "", false
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err != nil {
		o.fail(key, "must be a number, got %s", abbreviate(v))
		return "", false
	}
	return n, true
}

func (o *object) toInt(key string, v json.RawMessage) (int, bool) {
	n, ok := o.number(key, v)
	if !ok {
		return 0, false
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		if i > math.MaxInt32 || i < math.MinInt32 {
			o.fail(key, "%d is out of range", i)
			return 0, false
		}
		return int(i), true
	}
	// Python writes 4.0 for a float that holds an integer; accept it where an int is meant.
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		o.fail(key, "must be an integer, got %s", n)
		return 0, false
	}
	return int(f), true
}

// intOr returns the integer at key, or def when absent.
func (o *object) intOr(key string, def int) int {
	v, ok := o.value(key)
	if !ok {
		return def
	}
	i, ok := o.toInt(key, v)
	if !ok {
		return def
	}
	return i
}

// intReq returns the integer at key and reports it when missing.
func (o *object) intReq(key string) int {
	if !o.has(key) {
		o.fail(key, "missing")
		return 0
	}
	return o.intOr(key, 0)
}

// positive returns the integer at key (or def when absent) and reports values below 1.
func (o *object) positive(key string, def int, required bool) int {
	var i int
	if required {
		if !o.has(key) {
			o.fail(key, "missing")
			return 0
		}
		i = o.intReq(key)
	} else {
		v, ok := o.value(key)
		if !ok {
			return def
		}
		if i, ok = o.toInt(key, v); !ok {
			// Reported; 0 (unknown) rather than the default keeps the checks that relate
			// this value to others quiet, so only the real error is shown.
			return 0
		}
	}
	if i < 1 && o.has(key) {
		o.fail(key, "must be positive, got %d", i)
	}
	return i
}

// count is positive for a structural count or size, which must also be at most limit.
func (o *object) count(key string, def int, required bool, limit int) int {
	i := o.positive(key, def, required)
	if i > limit {
		o.fail(key, "%d is more than the %d supported", i, limit)
		return 0
	}
	return i
}

func (o *object) floatOr(key string, def float64) float64 {
	v, ok := o.value(key)
	if !ok {
		return def
	}
	n, ok := o.number(key, v)
	if !ok {
		return def
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) {
		o.fail(key, "%s is not a finite number", n)
		return def
	}
	return f
}

func (o *object) boolOr(key string, def bool) bool {
	v, ok := o.value(key)
	if !ok {
		return def
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		o.fail(key, "must be true or false, got %s", abbreviate(v))
		return def
	}
	return b
}

func (o *object) stringOr(key, def string) string {
	v, ok := o.value(key)
	if !ok {
		return def
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		o.fail(key, "must be a string, got %s", abbreviate(v))
		return def
	}
	return s
}

func (o *object) stringReq(key string) string {
	if !o.has(key) {
		o.fail(key, "missing")
		return ""
	}
	return o.stringOr(key, "")
}

func (o *object) intsOr(key string, def []int) []int {
	v, ok := o.value(key)
	if !ok {
		return append([]int(nil), def...)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(v, &raws); err != nil {
		o.fail(key, "must be a list of integers, got %s", abbreviate(v))
		return append([]int(nil), def...)
	}
	out := make([]int, 0, len(raws))
	for i, r := range raws {
		x, ok := o.toInt(fmt.Sprintf("%s[%d]", key, i), bytes.TrimSpace(r))
		if !ok {
			return append([]int(nil), def...)
		}
		out = append(out, x)
	}
	return out
}

// floatsOr returns the list of numbers at key, or def when absent.
func (o *object) floatsOr(key string, def []float64) []float64 {
	v, ok := o.value(key)
	if !ok {
		return def
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(v, &raws); err != nil {
		o.fail(key, "must be a list of numbers, got %s", abbreviate(v))
		return def
	}
	out := make([]float64, 0, len(raws))
	for i, r := range raws {
		sub := &object{file: o.file, path: o.path, m: map[string]json.RawMessage{fmt.Sprintf("%s[%d]", key, i): r}, probs: o.probs}
		if !sub.has(fmt.Sprintf("%s[%d]", key, i)) {
			o.fail(fmt.Sprintf("%s[%d]", key, i), "must be a number, got null")
			return def
		}
		before := len(o.probs.list)
		f := sub.floatOr(fmt.Sprintf("%s[%d]", key, i), 0)
		if len(o.probs.list) != before {
			return def
		}
		out = append(out, f)
	}
	return out
}

func abbreviate(v json.RawMessage) string {
	s := string(v)
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}
