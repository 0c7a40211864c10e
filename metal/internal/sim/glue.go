package sim

import (
	"fmt"
	"regexp"
	"strings"
)

// kernel is one `kernel void` function of the MSL source, as the glue needs it.
type kernel struct {
	name        string
	params      []param
	cooperative bool // reaches a barrier or a SIMD-group function: runs as fibers
}

// buffers is the number of buffer slots the kernel binds: one past its highest index.
func (k kernel) buffers() int {
	n := 0
	for _, p := range k.params {
		if p.attr == "buffer" {
			n = max(n, p.index+1)
		}
	}
	return n
}

// param is one kernel parameter: a buffer binding or a thread-position attribute.
type param struct {
	typ   string // declared type, e.g. "device const float*", "constant LinearParams&"
	name  string
	attr  string // buffer, thread_position_in_grid, ...
	index int    // buffer index
}

var (
	kernelDecl = regexp.MustCompile(`(?m)^kernel\s+void\s+(\w+)\s*\(`)
	paramRe    = regexp.MustCompile(`^(.*?)\b(\w+)\s*\[\[\s*(\w+)\s*(?:\(\s*(\d+)\s*\))?\s*\]\]$`)
	syncCall   = regexp.MustCompile(`\b(threadgroup_barrier|simdgroup_barrier|simd_\w+)\s*\(`)
	callRe     = regexp.MustCompile(`\b(\w+)\s*\(`)
	// preprocessorLine is a directive (#include, #define), blanked before the scans.
	preprocessorLine = regexp.MustCompile(`(?m)^[ \t]*#.*$`)
	// tgDecl is a threadgroup array declaration: `threadgroup T name[N];` on its own line.
	tgDecl = regexp.MustCompile(`(?m)^(\s*)threadgroup\s+(\w+)\s+(\w+)\s*\[([^\]\n]+)\]\s*;`)
)

// idFields maps thread-position attributes to the fields of the runtime's msl_rt::Ids;
// vector-valued ones are converted with msl_rt::id_as.
var idFields = map[string]struct {
	field  string
	vector bool
}{
	"thread_position_in_grid":        {"tpig", true},
	"thread_position_in_threadgroup": {"tpitg", true},
	"threadgroup_position_in_grid":   {"tgpig", true},
	"threads_per_threadgroup":        {"tptg", true},
	"threadgroups_per_grid":          {"tgpg", true},
	"thread_index_in_threadgroup":    {"tiitg", false},
	"thread_index_in_simdgroup":      {"tiisg", false},
	"simdgroup_index_in_threadgroup": {"sgitg", false},
}

// stripComments blanks // and /* */ comments, keeping line breaks so positions stay useful.
func stripComments(src string) string {
	var b strings.Builder
	for i := 0; i < len(src); {
		switch {
		case strings.HasPrefix(src[i:], "//"):
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				return b.String()
			}
			i += j
		case strings.HasPrefix(src[i:], "/*"):
			j := strings.Index(src[i+2:], "*/")
			if j < 0 {
				return b.String()
			}
			b.WriteString(strings.Repeat("\n", strings.Count(src[i:i+2+j], "\n")))
			i += j + 4
		default:
			b.WriteByte(src[i])
			i++
		}
	}
	return b.String()
}

// matching returns the index just past the bracket closing the one at src[open].
func matching(src string, open int) (int, error) {
	o, c := src[open], byte(')')
	if o == '{' {
		c = '}'
	}
	depth := 0
	for i := open; i < len(src); i++ {
		switch src[i] {
		case o:
			depth++
		case c:
			if depth--; depth == 0 {
				return i + 1, nil
			}
		}
	}
	return 0, fmt.Errorf("unbalanced %q at offset %d", o, open)
}

// functionBodies maps the name of every function defined at file scope to its body, for the
// barrier scan (a kernel is cooperative when it or a function it calls synchronises).
func functionBodies(src string) map[string]string {
	bodies := map[string]string{}
	depth, start := 0, 0
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case ';':
			if depth == 0 {
				start = i + 1
			}
		case '{':
			if depth == 0 {
				decl := src[start:i]
				if p := strings.IndexByte(decl, '('); p > 0 {
					if m := regexp.MustCompile(`(\w+)\s*$`).FindString(decl[:p]); m != "" {
						end, err := matching(src, i)
						if err == nil {
							bodies[strings.TrimSpace(m)] = src[i:end]
							i = end - 1
							start = end
							continue
						}
					}
				}
			}
			depth++
		case '}':
			depth--
			if depth == 0 {
				start = i + 1
			}
		}
	}
	return bodies
}

// synchronises reports whether body, or a function it calls (transitively), calls a barrier
// or a SIMD-group function.
func synchronises(body string, bodies map[string]string, seen map[string]bool) bool {
	if syncCall.MatchString(body) {
		return true
	}
	for _, m := range callRe.FindAllStringSubmatch(body, -1) {
		name := m[1]
		if b, ok := bodies[name]; ok && !seen[name] {
			seen[name] = true
			if synchronises(b, bodies, seen) {
				return true
			}
		}
	}
	return false
}

// parseKernels finds every kernel of src with its parameters.
func parseKernels(src string) ([]kernel, error) {
	src = preprocessorLine.ReplaceAllString(stripComments(src), "")
	bodies := functionBodies(src)
	var ks []kernel
	for _, loc := range kernelDecl.FindAllStringSubmatchIndex(src, -1) {
		name := src[loc[2]:loc[3]]
		end, err := matching(src, loc[1]-1)
		if err != nil {
			return nil, fmt.Errorf("kernel %s: %w", name, err)
		}
		k := kernel{name: name}
		for _, raw := range splitTop(src[loc[1] : end-1]) {
			m := paramRe.FindStringSubmatch(strings.Join(strings.Fields(raw), " "))
			if m == nil {
				return nil, fmt.Errorf("kernel %s: parameter %q has no [[attribute]]", name, strings.TrimSpace(raw))
			}
			p := param{typ: strings.TrimSpace(m[1]), name: m[2], attr: m[3]}
			switch {
			case p.attr == "buffer":
				if m[4] == "" {
					return nil, fmt.Errorf("kernel %s: parameter %s: [[buffer]] without an index", name, p.name)
				}
				fmt.Sscan(m[4], &p.index)
			case idFields[p.attr].field == "":
				return nil, fmt.Errorf("kernel %s: parameter %s: attribute [[%s]] is not simulated", name, p.name, p.attr)
			}
			k.params = append(k.params, p)
		}
		body, ok := bodies[name]
		if !ok {
			return nil, fmt.Errorf("kernel %s: no body found", name)
		}
		k.cooperative = synchronises(body, bodies, map[string]bool{name: true})
		ks = append(ks, k)
	}
	if len(ks) == 0 {
		return nil, fmt.Errorf("no kernels in the source")
	}
	return ks, nil
}

// splitTop splits a parameter list at the commas outside parentheses.
func splitTop(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[':
			depth++
		case ')', ']':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		parts = append(parts, s[start:])
	}
	return parts
}

// rewriteThreadgroup turns each threadgroup array declaration into the simulator's form: a
// reference to the runtime's per-group memory (strict=false), or a static in clang's
// address space 3 (strict=true, for the syntax-only address-space pass). Any other
// threadgroup variable declaration is left as is and fails to compile, which is the point.
func rewriteThreadgroup(src string, strict bool) string {
	id := 0
	return tgDecl.ReplaceAllStringFunc(src, func(decl string) string {
		m := tgDecl.FindStringSubmatch(decl)
		indent, typ, name, size := m[1], m[2], m[3], m[4]
		if strict {
			return fmt.Sprintf("%smsl_threadgroup_var %s %s[%s];", indent, typ, name, size)
		}
		id++
		return fmt.Sprintf("%s%s (&%s)[%s] = *static_cast<%s (*)[%s]>(msl_rt::tg_slot(%d, sizeof(%s[%s])));",
			indent, typ, name, size, typ, size, id-1, typ, size)
	})
}

// glue writes the C++ translation unit of the simulated device: the runtime, the kernels
// (with threadgroup arrays rewritten), a wrapper per kernel that binds the arguments and
// thread ids to its parameters, and the kernel table the C entry points use.
func glue(src string, ks []kernel) string {
	var b strings.Builder
	b.WriteString("// Generated by metal/internal/sim: the simulated device's translation unit.\n")
	b.WriteString("#include \"msl_runtime.h\"\n\n")
	b.WriteString(rewriteThreadgroup(src, false))
	b.WriteString("\n// ---- kernel wrappers\n")
	for _, k := range ks {
		nargs := k.buffers()
		sizes := make([]string, nargs)
		for i := range sizes {
			sizes[i] = "size_t(-1)"
		}
		var args []string
		for _, p := range k.params {
			if p.attr != "buffer" {
				f := idFields[p.attr]
				if f.vector {
					args = append(args, fmt.Sprintf("msl_rt::id_as<%s>(t.%s)", p.typ, f.field))
				} else {
					args = append(args, fmt.Sprintf("(%s)t.%s", p.typ, f.field))
				}
				continue
			}
			if ref, ok := strings.CutSuffix(p.typ, "&"); ok {
				args = append(args, fmt.Sprintf("*(%s*)a[%d]", ref, p.index))
				sizes[p.index] = fmt.Sprintf("sizeof(%s)", ref)
			} else {
				args = append(args, fmt.Sprintf("(%s)a[%d]", p.typ, p.index))
				sizes[p.index] = "0"
			}
		}
		fmt.Fprintf(&b, "static const size_t janus_size_%s[] = {%s};\n", k.name, strings.Join(append(sizes, "0"), ", "))
		fmt.Fprintf(&b, "static void janus_run_%s(const msl_rt::Ids& t, void* const* a) {\n  %s(%s);\n}\n",
			k.name, k.name, strings.Join(args, ", "))
	}
	b.WriteString("\nstatic const msl_rt::KernelEntry janus_kernels[] = {\n")
	for _, k := range ks {
		nargs := k.buffers()
		fmt.Fprintf(&b, "    {%q, janus_run_%s, %t, %d, janus_size_%s},\n", k.name, k.name, k.cooperative, nargs, k.name)
	}
	fmt.Fprintf(&b, "};\nstatic const int janus_kernel_count = %d;\n\n#include \"msl_entry.h\"\n", len(ks))
	return b.String()
}
