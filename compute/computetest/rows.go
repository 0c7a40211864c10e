package computetest

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/janus-desktop/janus/compute"
)

// testWriteRows checks a backend's compute.RowWriter, when it has one: a tensor filled a few
// rows at a time holds exactly what FromBytes makes of the same bytes, for every source and
// target dtype (Q8 and Q4 included, compared through Embedding, which dequantizes rows),
// and misuse is an error, not a panic.
func testWriteRows(t *testing.T, be compute.Backend) {
	rw, ok := be.(compute.RowWriter)
	if !ok {
		t.Skipf("%s has no WriteRows: loaders upload through FromBytes", be.Name())
	}
	const rows, cols = 7, 2 * compute.QBlock
	rng := rand.New(rand.NewPCG(71, 72))
	vals := randVals(rng, rows*cols, 3)
	bits := make([]uint16, len(vals))
	for i, v := range vals {
		bits[i] = compute.F32ToBF16(v)
	}
	sources := map[compute.DType][]byte{compute.F32: le32(vals), compute.BF16: le16(bits)}
	ids := make([]int32, rows)
	for i := range ids {
		ids[i] = int32(i)
	}
	for _, bad := range []struct {
		dt    compute.DType
		shape []int
	}{{compute.Q8, []int{4, compute.QBlock + 1}}, {compute.Q4, nil}, {compute.F32, []int{2, -1}}} {
		if x, err := rw.Alloc(bad.dt, bad.shape); err == nil {
			t.Errorf("Alloc(%v, %v) = %v, want an error", bad.dt, bad.shape, x)
			be.Free(x)
		}
	}
	// A 1-D Q8 tensor's rows are single elements, not whole blocks: refused, not misplaced.
	flat, err := rw.Alloc(compute.Q8, []int{2 * compute.QBlock})
	if err != nil {
		t.Fatal(err)
	}
	if err := rw.WriteRows(flat, 1, compute.F32, le32(vals[:compute.QBlock])); err == nil || !strings.Contains(err.Error(), "blocks") {
		t.Errorf("WriteRows of single elements into a 1-D Q8 tensor: %v, want an error about blocks", err)
	}
	be.Free(flat)

	for _, src := range []compute.DType{compute.F32, compute.BF16} {
		raw := sources[src]
		rowBytes := len(raw) / rows
		for _, dt := range []compute.DType{compute.F32, compute.F16, compute.BF16, compute.Q8, compute.Q4, compute.Q4M} {
			whole, err := be.FromBytes(dt, []int{rows, cols}, src, raw)
			if err != nil {
				t.Fatalf("%v->%v FromBytes: %v", src, dt, err)
			}
			parts, err := rw.Alloc(dt, []int{rows, cols})
			if err != nil {
				t.Fatalf("%v->%v Alloc: %v", src, dt, err)
			}
			for _, r := range [][2]int{{3, 7}, {0, 1}, {1, 3}} { // out of order, uneven
				if err := rw.WriteRows(parts, r[0], src, raw[r[0]*rowBytes:r[1]*rowBytes]); err != nil {
					t.Fatalf("%v->%v WriteRows(%d:%d): %v", src, dt, r[0], r[1], err)
				}
			}
			want, got := be.New(compute.F32, rows, cols), be.New(compute.F32, rows, cols)
			be.Embedding(want, whole, ids)
			be.Embedding(got, parts, ids)
			if w, g := read(t, be, want), read(t, be, got); !slices.Equal(w, g) {
				t.Errorf("%v->%v: rows written in parts differ from FromBytes", src, dt)
			}
			for _, tt := range []*compute.Tensor{whole, want, got} {
				be.Free(tt)
			}

			for _, bad := range []struct {
				name string
				r0   int
				src  compute.DType
				raw  []byte
				want string
			}{
				{"part of a row", 0, src, raw[:rowBytes-2], "rows"},
				{"past the end", rows - 1, src, raw[:2*rowBytes], "outside"},
				{"negative row", -1, src, raw[:rowBytes], "outside"},
				{"source dtype", 0, compute.Q8, raw[:rowBytes], "dtype"},
			} {
				if err := rw.WriteRows(parts, bad.r0, bad.src, bad.raw); err == nil || !strings.Contains(err.Error(), bad.want) {
					t.Errorf("%v->%v WriteRows with %s: %v, want an error saying %q", src, dt, bad.name, err, bad.want)
				}
			}
			be.Free(parts)
			if err := rw.WriteRows(parts, 0, src, raw[:rowBytes]); err == nil {
				t.Errorf("%v->%v WriteRows into a freed tensor succeeded", src, dt)
			}
		}
	}
}
