package vq

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/janus-desktop/janus/compute"
	"github.com/janus-desktop/janus/model/weights"
)

// conv is a 2-D convolution with "same" padding (3×3 with pad 1, or 1×1).
type conv struct {
	w, b *compute.Tensor
	pad  int
	cout int
}

// dense is a 1×1 convolution bound as a [out, in] matrix, applied to [positions, channels]
// rows with Linear: cheaper than Conv2D and what the attention block needs anyway.
type dense struct {
	w, b *compute.Tensor
}

// groupNorm holds the affine parameters of one GroupNorm(32, C, eps 1e-6).
type groupNorm struct {
	w, b *compute.Tensor
}

// resBlock is LlamaGen's ResnetBlock: GN, swish, conv3×3, GN, swish, conv3×3, plus the input
// (through a 1×1 nin_shortcut when the channel count changes).
type resBlock struct {
	in, out      int
	norm1, norm2 groupNorm
	conv1, conv2 conv
	nin          *conv
}

// attnBlock is LlamaGen's AttnBlock: single-head self-attention over all positions with the
// full channel width as head dimension.
type attnBlock struct {
	c           int
	norm        groupNorm
	q, k, v, po dense
}

// level is one entry of decoder.conv_blocks.
type level struct {
	plan     blockPlan
	res      []resBlock
	attn     []attnBlock
	upsample *conv
}

// Decoder decodes grids of image token ids into images. Its methods must not be called
// concurrently with each other on the same backend (the backend executes ops in issue order).
type Decoder struct {
	b         compute.Backend
	p         Params
	codebook  *compute.Tensor // [CodebookSize, CodebookDim], already l2-normalised if L2Norm
	postQuant dense           // CodebookDim → ZChannels
	convIn    conv            // ZChannels → mid channels
	mid1      resBlock
	midAttn   attnBlock
	mid2      resBlock
	levels    []level
	normOut   groupNorm
	convOut   conv // last level channels → 3
	// ownBackend: Free closes b too (OwnBackend).
	ownBackend bool
}

// OwnBackend hands the decoder its backend: Free then closes the backend after freeing the
// weights. For a caller that opened a backend for this decoder alone (model.LoadVQ).
func (d *Decoder) OwnBackend() { d.ownBackend = true }

// Params returns the hyperparameters the decoder was built from.
func (d *Decoder) Params() Params { return d.p }

// binder names the decoder's tensors under weights.GenVisionPrefix, all as float32 (the
// backend's Conv2D and GroupNorm take F32 weights).
type binder struct {
	l weights.Layout
	b compute.Backend // reshapes the 1×1 convolutions bound as matrices
}

func (l binder) f32(name string, shape ...int) *compute.Tensor {
	return l.l.F32(weights.GenVisionPrefix+name, shape...)
}

func (l binder) conv(name string, cin, cout, k int) conv {
	return conv{w: l.f32(name+".weight", cout, cin, k, k), b: l.f32(name+".bias", cout), pad: k / 2, cout: cout}
}

func (l binder) dense(name string, cin, cout int) dense {
	w := l.f32(name+".weight", cout, cin, 1, 1)
	bias := l.f32(name+".bias", cout)
	if w == nil {
		return dense{}
	}
	return dense{w: l.b.Reshape(w, cout, cin), b: bias}
}

func (l binder) norm(name string, c int) groupNorm {
	return groupNorm{w: l.f32(name+".weight", c), b: l.f32(name+".bias", c)}
}

func (l binder) res(name string, cin, cout int) resBlock {
	r := resBlock{
		in: cin, out: cout,
		norm1: l.norm(name+".norm1", cin),
		conv1: l.conv(name+".conv1", cin, cout, 3),
		norm2: l.norm(name+".norm2", cout),
		conv2: l.conv(name+".conv2", cout, cout, 3),
	}
	if cin != cout {
		nin := l.conv(name+".nin_shortcut", cin, cout, 1)
		r.nin = &nin
	}
	return r
}

func (l binder) attn(name string, c int) attnBlock {
	return attnBlock{
		c:    c,
		norm: l.norm(name+".norm", c),
		q:    l.dense(name+".q", c, c),
		k:    l.dense(name+".k", c, c),
		v:    l.dense(name+".v", c, c),
		po:   l.dense(name+".proj_out", c, c),
	}
}

// Load binds the decoder tensors named in Appendix A (under weights.GenVisionPrefix) for
// the structure p describes, all as float32. The encoder, quant_conv and
// quantize.codebook_used are not read.
func Load(b compute.Backend, src weights.Source, p Params) (*Decoder, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p.ChMult = append([]int(nil), p.ChMult...)
	l := weights.NewBinder(src)
	d := &Decoder{b: b, p: p}
	d.bind(binder{l, b})
	if l.Err() != nil {
		// Free what was bound before the failure: a caller that retries (another folder, a
		// fixed file) must not keep the first attempt's weights.
		d.Free()
		return nil, fmt.Errorf("vq decoder: %w", l.Err())
	}
	cb, err := normaliseCodebook(b, d.codebook, p)
	if err != nil {
		d.Free()
		return nil, err
	}
	d.codebook = cb
	return d, nil
}

// Tensors names the weights of the decoder p describes to l: model.Plan records them.
func Tensors(l weights.Layout, p Params) {
	if len(p.ChMult) > 0 {
		(&Decoder{p: p}).bind(binder{l: l})
	}
}

// bind binds what decode_code runs through l, in state-dict order: the decoder, the
// codebook (still raw) and post_quant_conv.
func (d *Decoder) bind(l binder) {
	p := d.p
	mid := p.midChannels()
	d.convIn = l.conv("decoder.conv_in", p.ZChannels, mid, 3)
	d.mid1 = l.res("decoder.mid.0", mid, mid)
	d.midAttn = l.attn("decoder.mid.1", mid)
	d.mid2 = l.res("decoder.mid.2", mid, mid)
	for _, bp := range p.plan() {
		lv := level{plan: bp}
		name := fmt.Sprintf("decoder.conv_blocks.%d", bp.index)
		in := bp.in
		for j := 0; j <= p.NumResBlocks; j++ {
			lv.res = append(lv.res, l.res(fmt.Sprintf("%s.res.%d", name, j), in, bp.out))
			in = bp.out
		}
		for j := 0; bp.attn && j <= p.NumResBlocks; j++ {
			lv.attn = append(lv.attn, l.attn(fmt.Sprintf("%s.attn.%d", name, j), bp.out))
		}
		if bp.upsample {
			up := l.conv(name+".upsample.conv", bp.out, bp.out, 3)
			lv.upsample = &up
		}
		d.levels = append(d.levels, lv)
	}
	last := p.Ch * p.ChMult[0]
	d.normOut = l.norm("decoder.norm_out", last)
	d.convOut = l.conv("decoder.conv_out", last, 3, 3)
	d.codebook = l.f32(strings.TrimPrefix(weights.VQCodebookName, weights.GenVisionPrefix), p.CodebookSize, p.CodebookDim)
	d.postQuant = l.dense("post_quant_conv", p.CodebookDim, p.ZChannels)
}

// normaliseCodebook applies F.normalize(W, p=2, dim=-1) = W[i] / max(‖W[i]‖₂, 1e-12) once at
// load time, on the host: the table is tiny (16384×8 in the releases) and is then only gathered.
// On success raw has been freed and the normalised table replaces it; on failure raw is left
// to the caller.
func normaliseCodebook(b compute.Backend, raw *compute.Tensor, p Params) (*compute.Tensor, error) {
	if !p.L2Norm {
		return raw, nil
	}
	rows := make([]float32, p.CodebookSize*p.CodebookDim)
	if err := b.Read(raw, rows); err != nil {
		return nil, fmt.Errorf("vq: read codebook %s: %w", weights.VQCodebookName, err)
	}
	b.Free(raw)
	for i := 0; i < p.CodebookSize; i++ {
		row := rows[i*p.CodebookDim : (i+1)*p.CodebookDim]
		var sum float32
		for _, v := range row {
			sum += float32(v * v) // rounded, not fused, on every architecture
		}
		norm := float32(math.Sqrt(float64(sum)))
		norm = max(norm, 1e-12)
		for j := range row {
			row[j] /= norm
		}
	}
	return b.FromFloat32(rows, p.CodebookSize, p.CodebookDim), nil
}

// Free releases the decoder's weights, and closes its backend when the decoder owns it
// (OwnBackend); the decoder must not be used afterwards.
func (d *Decoder) Free() {
	free := func(ts ...*compute.Tensor) {
		for _, t := range ts {
			if t != nil {
				d.b.Free(t)
			}
		}
	}
	freeConv := func(c *conv) {
		if c != nil {
			free(c.w, c.b)
		}
	}
	freeRes := func(r *resBlock) {
		free(r.norm1.w, r.norm1.b, r.norm2.w, r.norm2.b)
		freeConv(&r.conv1)
		freeConv(&r.conv2)
		freeConv(r.nin)
	}
	freeAttn := func(a *attnBlock) {
		free(a.norm.w, a.norm.b, a.q.w, a.q.b, a.k.w, a.k.b, a.v.w, a.v.b, a.po.w, a.po.b)
	}
	free(d.codebook, d.postQuant.w, d.postQuant.b, d.normOut.w, d.normOut.b)
	freeConv(&d.convIn)
	freeConv(&d.convOut)
	freeRes(&d.mid1)
	freeAttn(&d.midAttn)
	freeRes(&d.mid2)
	for i := range d.levels {
		lv := &d.levels[i]
		for j := range lv.res {
			freeRes(&lv.res[j])
		}
		for j := range lv.attn {
			freeAttn(&lv.attn[j])
		}
		freeConv(lv.upsample)
	}
	if d.ownBackend {
		_ = d.b.Close() // Free has no error to return; device failures surface at Sync and Read
	}
	*d = Decoder{b: d.b, p: d.p}
}

// Stages is the number of progress stages Decode reports per image: the codebook lookup with
// conv_in and the mid blocks, every res, attention and upsample block, and the output head.
func (d *Decoder) Stages() int {
	n := 2
	for _, lv := range d.levels {
		n += len(lv.res) + len(lv.attn)
		if lv.upsample != nil {
			n++
		}
	}
	return n
}

// Decode turns P grids of Tokens() image token ids (token k at row k/Grid, column k%Grid)
// into P images [P, 3, ImageSize, ImageSize] of float32 RGB, nominally in [-1, 1] and not
// clipped, like decode_code. Images are decoded one at a time, which gives the same numbers as
// a batch (GroupNorm and attention never mix images) with a fraction of the memory; the
// result still holds all P, so callers with many grids use DecodeEachImage instead.
//
// onStage, when not nil, is called after each stage with the stages done and the total
// (P × Stages()), once the backend has finished the stage's work (Sync), so the count is of
// work done, not merely queued. Decode stops with ctx's error between stages once ctx is done.
func (d *Decoder) Decode(ctx context.Context, grids [][]int32, onStage func(done, total int)) ([]float32, error) {
	per := 3 * d.p.ImageSize * d.p.ImageSize
	out := make([]float32, len(grids)*per)
	err := d.decodeEach(ctx, grids, onStage, func(i int, pixels []float32) error {
		copy(out[i*per:], pixels)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CheckGrids reports the first grid that is not Tokens() ids inside the codebook, naming the
// grid and the token. Decode checks every grid this way before decoding the first one.
func (d *Decoder) CheckGrids(grids [][]int32) error {
	n := d.p.Tokens()
	for i, g := range grids {
		if len(g) != n {
			return fmt.Errorf("vq: grid %d has %d tokens, want %d (%d×%d)", i, len(g), n, d.p.Grid(), d.p.Grid())
		}
		for k, id := range g {
			if id < 0 || int(id) >= d.p.CodebookSize {
				return fmt.Errorf("vq: grid %d token %d is %d, outside the codebook [0,%d)", i, k, id, d.p.CodebookSize)
			}
		}
	}
	return nil
}

// decodeEach checks every grid, then decodes them in order and hands each image's
// [3, ImageSize, ImageSize] values to emit. The slice is reused for the next image, so at
// most one decoded image is held at a time; an error from emit stops the decode.
func (d *Decoder) decodeEach(ctx context.Context, grids [][]int32, onStage func(done, total int), emit func(i int, pixels []float32) error) error {
	if err := d.CheckGrids(grids); err != nil {
		return err
	}
	if len(grids) == 0 {
		return nil
	}
	pixels := make([]float32, 3*d.p.ImageSize*d.p.ImageSize)
	r := &run{d: d, b: d.b, ctx: ctx, scratch: newScratch(d), onStage: onStage, total: len(grids) * d.Stages()}
	defer r.scratch.release()
	for i, g := range grids {
		img, err := r.decodeOne(g)
		if err != nil {
			return err
		}
		err = d.b.Read(img, pixels)
		r.scratch.put(img)
		if err != nil {
			return fmt.Errorf("vq: read decoded image %d: %w", i, err)
		}
		if err := emit(i, pixels); err != nil {
			return err
		}
	}
	return nil
}

// run is the state of one Decode call: the scratch buffers and the progress count.
type run struct {
	d       *Decoder
	b       compute.Backend
	ctx     context.Context
	scratch scratch
	onStage func(done, total int)
	done    int
	total   int
}

// stage waits for the stage's ops (an asynchronous backend may still be running them), so
// that progress counts work done rather than issued and a device failure stops the decode
// at once, then reports the stage and checks for cancellation.
func (r *run) stage() error {
	if err := r.b.Sync(); err != nil {
		return fmt.Errorf("vq: decode: %w", err)
	}
	r.done++
	if r.onStage != nil {
		r.onStage(r.done, r.total)
	}
	if err := r.ctx.Err(); err != nil {
		return fmt.Errorf("vq: decode: %w", err)
	}
	return nil
}

// decodeOne runs the decoder on one grid and returns [1, 3, S, S] (a scratch tensor).
func (r *run) decodeOne(ids []int32) (*compute.Tensor, error) {
	if err := r.ctx.Err(); err != nil {
		return nil, fmt.Errorf("vq: decode: %w", err)
	}
	r.scratch.begin()
	d, b, p := r.d, r.b, r.d.p
	g := p.Grid()
	gg := g * g

	// Codebook rows in grid order, [1, g*g, dim] — already the channels-last layout, so
	// post_quant_conv is a Linear and one transpose gives [1, z, g, g].
	e := r.scratch.get(1, gg, p.CodebookDim)
	b.Embedding(b.Reshape(e, gg, p.CodebookDim), d.codebook, ids)
	zt := r.scratch.get(1, gg, p.ZChannels)
	b.Linear(zt, e, d.postQuant.w, d.postQuant.b)
	r.scratch.put(e)
	z := r.scratch.get(1, p.ZChannels, gg)
	b.Transpose(z, zt)
	r.scratch.put(zt)
	z4 := b.Reshape(z, 1, p.ZChannels, g, g)

	h := r.convOver(z4, d.convIn, g)
	h = r.res(h, &d.mid1, g)
	h = r.attn(h, &d.midAttn, g)
	h = r.res(h, &d.mid2, g)
	if err := r.stage(); err != nil {
		return nil, err
	}

	side := g
	for li := range d.levels {
		lv := &d.levels[li]
		for j := range lv.res {
			h = r.res(h, &lv.res[j], side)
			if err := r.stage(); err != nil {
				return nil, err
			}
			if len(lv.attn) > 0 {
				h = r.attn(h, &lv.attn[j], side)
				if err := r.stage(); err != nil {
					return nil, err
				}
			}
		}
		if lv.upsample != nil {
			up := r.scratch.get(1, lv.plan.out, 2*side, 2*side)
			b.Upsample2x(up, h)
			r.scratch.put(h)
			side *= 2
			h = r.convOver(up, *lv.upsample, side)
			if err := r.stage(); err != nil {
				return nil, err
			}
		}
	}

	a := r.normSwish(h, d.normOut)
	r.scratch.put(h)
	img := r.conv(a, d.convOut, side)
	r.scratch.put(a)
	if err := r.stage(); err != nil {
		return nil, err
	}
	return img, nil
}

// conv applies a same-padded convolution to x[1, C, side, side].
func (r *run) conv(x *compute.Tensor, c conv, side int) *compute.Tensor {
	y := r.scratch.get(1, c.cout, side, side)
	r.b.Conv2D(y, x, c.w, c.b, compute.Conv2DParams{Stride: 1, Pad: c.pad})
	return y
}

// normSwish returns swish(GroupNorm(x)).
func (r *run) normSwish(x *compute.Tensor, n groupNorm) *compute.Tensor {
	y := r.scratch.get(x.Shape...)
	r.b.GroupNorm(y, x, n.w, n.b, r.d.p.Groups, float32(r.d.p.Eps))
	r.b.SiLU(y, y)
	return y
}

// convOver applies c to x[1, C, side, side], which it takes: in place at the output's size
// where c keeps the channel count (Conv2D allows it for a same-padded convolution) and the
// scratch gains from it (scratch.inPlace), else into a new tensor, putting x back. In place,
// a resblock at 384² holds two activations instead of three, which sets the scratch plan's
// size; below the top level three fit in the same arena, and the out-of-place convolution is
// faster (the in-place one copies the image in bands; README, "What the speed rests on").
func (r *run) convOver(x *compute.Tensor, c conv, side int) *compute.Tensor {
	if r.scratch.inPlace() && c.cout == x.Shape[1] && side == r.d.p.ImageSize {
		r.b.Conv2D(x, x, c.w, c.b, compute.Conv2DParams{Stride: 1, Pad: c.pad})
		return x
	}
	y := r.conv(x, c, side)
	r.scratch.put(x)
	return y
}

// res applies a ResnetBlock to x[1, in, side, side]; x is put back.
func (r *run) res(x *compute.Tensor, blk *resBlock, side int) *compute.Tensor {
	h := r.convOver(r.normSwish(x, blk.norm1), blk.conv1, side)
	r.b.GroupNorm(h, h, blk.norm2.w, blk.norm2.b, r.d.p.Groups, float32(r.d.p.Eps))
	r.b.SiLU(h, h)
	h = r.convOver(h, blk.conv2, side)
	if blk.nin != nil {
		s := r.conv(x, *blk.nin, side)
		r.b.Add(h, h, s)
		r.scratch.put(s)
	} else {
		r.b.Add(h, h, x)
	}
	r.scratch.put(x)
	return h
}

// attn applies an AttnBlock to x[1, C, side, side]; x is put back. The 1×1
// q/k/v/proj_out convolutions run as Linear on the transposed [HW, C] activations, which is
// also the layout Attention wants (one head of width C over HW positions).
func (r *run) attn(x *compute.Tensor, blk *attnBlock, side int) *compute.Tensor {
	b, c, hw := r.b, blk.c, side*side
	n := r.scratch.get(1, c, side, side)
	b.GroupNorm(n, x, blk.norm.w, blk.norm.b, r.d.p.Groups, float32(r.d.p.Eps))
	nt := r.scratch.get(1, hw, c)
	b.Transpose(nt, b.Reshape(n, 1, c, hw))
	r.scratch.put(n)
	q, k, v := r.scratch.get(1, hw, c), r.scratch.get(1, hw, c), r.scratch.get(1, hw, c)
	b.Linear(q, nt, blk.q.w, blk.q.b)
	b.Linear(k, nt, blk.k.w, blk.k.b)
	b.Linear(v, nt, blk.v.w, blk.v.b)
	o := nt // reuse: nt is no longer needed
	b.Attention(o, q, k, v, compute.AttentionParams{
		Heads: 1, KVHeads: 1, HeadDim: c, KVLen: hw,
		Scale: float32(1 / math.Sqrt(float64(c))),
	})
	r.scratch.put(k)
	r.scratch.put(v)
	b.Linear(q, o, blk.po.w, blk.po.b)
	r.scratch.put(o)
	y := r.scratch.get(1, c, hw)
	b.Transpose(y, q)
	r.scratch.put(q)
	y4 := b.Reshape(y, 1, c, side, side)
	b.Add(y4, y4, x)
	r.scratch.put(x)
	return y4
}
