"""Writes torch_ops.json and torch_ops.bin: small inputs and PyTorch float32 CPU outputs of
every op of compute.Backend, for computetest's torch goldens. Run with python3 and torch:
    python3 torch_ops.py
Each entry of the JSON maps a tensor name to its shape and its offset (in floats) into the .bin
file of little-endian float32 values."""
import json
import math

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(1234)
out = {}


def put(name, t):
    out[name] = t.detach().to(torch.float32).contiguous()


def bf16(t):
    return t.to(torch.bfloat16).to(torch.float32)


# Linear with BF16 weights upcast to float32 (how the models run), and a bias.
x = torch.randn(5, 70)
w = bf16(torch.randn(33, 70))
b = torch.randn(33)
put("linear.x", x); put("linear.w", w); put("linear.b", b)
put("linear.out", F.linear(x, w, b))
put("linear1.x", x[:1]); put("linear1.out", F.linear(x[:1], w))

# Elementwise.
x = torch.randn(4, 50) * 4
put("act.x", x)
put("gelu.out", F.gelu(x))
put("silu.out", F.silu(x))
up = torch.randn(4, 50)
put("swiglu.up", up)
put("swiglu.out", F.silu(x) * up)

# LayerNorm (eps 1e-6 as the ViT), RMSNorm as transformers' LlamaRMSNorm.
x = torch.randn(3, 64) * 3 + 1
w, b = torch.randn(64), torch.randn(64)
put("norm.x", x); put("norm.w", w); put("norm.b", b)
put("layernorm.out", F.layer_norm(x, (64,), w, b, 1e-6))
var = x.pow(2).mean(-1, keepdim=True)
put("rmsnorm.out", w * (x * torch.rsqrt(var + 1e-6)))

# GroupNorm(4 groups) over [2, 8, 5, 3].
x = torch.randn(2, 8, 5, 3) * 2 + 0.5
w, b = torch.randn(8), torch.randn(8)
put("groupnorm.x", x); put("groupnorm.w", w); put("groupnorm.b", b)
put("groupnorm.out", F.group_norm(x, 4, w, b, 1e-6))

# RoPE as transformers' LLaMA (rotate_half, float32 cos/sin), positions 7..9, 2 heads of 16.
heads, hd, pos0, theta = 2, 16, 7, 10000.0
x = torch.randn(1, 3, heads * hd)
inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
pos = torch.arange(pos0, pos0 + 3)
freqs = pos.float()[:, None] * inv_freq[None, :]
emb = torch.cat((freqs, freqs), dim=-1)
cos, sin = emb.cos(), emb.sin()
xh = x.view(1, 3, heads, hd).transpose(1, 2)
rot = torch.cat((-xh[..., hd // 2:], xh[..., : hd // 2]), dim=-1)
put("rope.x", x)
put("rope.out", (xh * cos + rot * sin).transpose(1, 2).reshape(1, 3, heads * hd))

# Attention: B=2, T=6 queries at positions 3..8 over a cache of S=12 rows of which 9 are
# used, 4 heads sharing 2 kv heads, causal; softmax in float32 like the eager LLaMA code.
B, T, S, H, KV, D, kvlen, q0 = 2, 6, 12, 4, 2, 8, 9, 3
q = torch.randn(B, T, H * D)
k = torch.randn(B, S, KV * D)
v = torch.randn(B, S, KV * D)
scale = 1 / math.sqrt(D)
qh = q.view(B, T, H, D).transpose(1, 2)
kh = k[:, :kvlen].view(B, kvlen, KV, D).transpose(1, 2).repeat_interleave(H // KV, dim=1)
vh = v[:, :kvlen].view(B, kvlen, KV, D).transpose(1, 2).repeat_interleave(H // KV, dim=1)
s = torch.matmul(qh, kh.transpose(2, 3)) * scale
mask = torch.full((T, kvlen), float("-inf")).triu(q0 + 1)
p = torch.softmax(s + mask, dim=-1, dtype=torch.float32)
put("attn.q", q); put("attn.k", k); put("attn.v", v)
put("attn.out", torch.matmul(p, vh).transpose(1, 2).reshape(B, T, H * D))
s = torch.matmul(qh, kh.transpose(2, 3)) * scale
put("attn_full.out", torch.matmul(torch.softmax(s, dim=-1), vh).transpose(1, 2).reshape(B, T, H * D))

# Convolutions: 3x3 pad 1, stride 2 pad 0, 1x1, 4x4 stride 4 patches; nearest upsampling.
x = torch.randn(2, 5, 9, 8)
put("conv.x", x)
for name, (cout, k, stride, pad) in {"conv3": (6, 3, 1, 1), "conv3s2": (4, 3, 2, 0),
                                     "conv1": (7, 1, 1, 0), "patch": (6, 4, 4, 0)}.items():
    w = torch.randn(cout, 5, k, k) * 0.3
    b = torch.randn(cout)
    put(name + ".w", w); put(name + ".b", b)
    put(name + ".out", F.conv2d(x, w, b, stride=stride, padding=pad))
put("upsample.out", F.interpolate(x, scale_factor=2.0, mode="nearest"))

# Embedding rows of a BF16 table.
table = bf16(torch.randn(10, 12))
put("embedding.table", table)
put("embedding.out", F.embedding(torch.tensor([3, 0, 9, 3]), table))

index, blobs, offset = {}, [], 0
for name, t in out.items():
    a = t.numpy().astype("<f4").ravel()
    index[name] = {"shape": list(t.shape), "offset": offset}
    blobs.append(a)
    offset += a.size
np.concatenate(blobs).tofile("torch_ops.bin")
with open("torch_ops.json", "w") as f:
    json.dump({"torch_version": torch.__version__, "tensors": index}, f, indent=1)
