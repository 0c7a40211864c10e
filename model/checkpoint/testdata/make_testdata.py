"""Writes the small checkpoints the Go tests read, with real torch.save and a minimal
safetensors writer (the layout of the official library: u64 header length, JSON header padded
with spaces to 8 bytes, data), plus expected.json with every tensor's dtype, shape and values.

Run from this folder with Debian's python3-torch: /usr/bin/python3 make_testdata.py
"""
import collections
import json
import struct

import torch

DT = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.int64: "I64",
      torch.bool: "BOOL", torch.float64: "F64", torch.int32: "I32", torch.uint8: "U8"}


def describe(sd):
    out = collections.OrderedDict()
    for k, v in sd.items():
        vals = v.flatten().tolist()
        if v.dtype == torch.bool:
            vals = [int(x) for x in vals]
        out[k] = {"dtype": DT[v.dtype], "shape": list(v.shape),
                  "values": [float(x) for x in v.float().flatten().tolist()] if v.is_floating_point() else vals}
    return out


# A module's state_dict: an OrderedDict with a _metadata attribute (pickled with BUILD).
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
with torch.no_grad():
    m[0].weight.copy_(torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.25 - 1)
    m[0].bias.copy_(torch.tensor([0.5, -0.5, 2.0]))
m = m.to(torch.bfloat16)
sd = m.state_dict()
sd["f32"] = torch.arange(6, dtype=torch.float32).reshape(2, 3) / 3
sd["f16"] = torch.tensor([1.0, -2.5, 65504.0, 6e-8, 0.0, -0.0], dtype=torch.float16)
sd["f64"] = torch.tensor([[1.5, -1e-3]], dtype=torch.float64)
sd["i64"] = torch.tensor([1, -2, 3 << 40])
sd["i32"] = torch.tensor([7, -8], dtype=torch.int32)
sd["u8"] = torch.tensor([0, 255], dtype=torch.uint8)
sd["flag"] = torch.tensor([True, False, True])
sd["scalar"] = torch.tensor(3.5)
base = torch.arange(10, dtype=torch.float32)  # two views of one storage, at offsets 2 and 6
sd["view_a"] = base[2:6]
sd["view_b"] = base[6:10].view(2, 2)
torch.save(sd, "torch_small.bin")
expected = {"torch_small.bin": describe(sd)}

torch.save({"t": torch.arange(6, dtype=torch.float32).reshape(2, 3).t()}, "torch_noncontig.bin")
torch.save({"state_dict": {"w": torch.zeros(2)}}, "torch_nested.bin")
torch.save({"w": torch.zeros(2)}, "torch_legacy.bin", _use_new_zipfile_serialization=False)

# Safetensors, tensors in sorted-name order as the official library lays them out; BF16 via
# torch so its rounding is torch's.
st = collections.OrderedDict()
st["w.bf16"] = torch.arange(8, dtype=torch.float32).reshape(2, 4) * 0.3 - 1
st["w.f32"] = torch.tensor([[1.25, -3.0, 1e-7]], dtype=torch.float32)
st["w.f16"] = torch.tensor([0.5, -65504.0, 1e-6], dtype=torch.float16)
st["ids"] = torch.tensor([3, -4], dtype=torch.int64)
st["w.bf16"] = st["w.bf16"].to(torch.bfloat16)
header = {"__metadata__": {"format": "pt"}}
blobs, off = [], 0
for k in sorted(st):
    v = st[k]
    raw = (v.view(torch.int16) if v.dtype == torch.bfloat16 else v).numpy().tobytes()
    header[k] = {"dtype": DT[v.dtype], "shape": list(v.shape), "data_offsets": [off, off + len(raw)]}
    blobs.append(raw)
    off += len(raw)
hb = json.dumps(header, separators=(",", ":")).encode()
hb += b" " * ((8 - len(hb) % 8) % 8)
with open("small.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))
expected["small.safetensors"] = describe(collections.OrderedDict((k, st[k]) for k in sorted(st)))

with open("expected.json", "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
print("torch", torch.__version__)

# Digest of a few tensors of the shared tiny-a model, read independently of the Go code.
tiny = "../../../../shared/fixtures/models/tiny-a/model.safetensors"
with open(tiny, "rb") as f:
    blob = f.read()
(n,) = struct.unpack("<Q", blob[:8])
head = json.loads(blob[8:8 + n])
digest = collections.OrderedDict()
for k in ["language_model.model.norm.weight", "gen_vision_model.quantize.embedding.weight",
          "vision_model.vision_tower.pos_embed"]:
    b, e = head[k]["data_offsets"]
    v = torch.frombuffer(bytearray(blob[8 + n + b:8 + n + e]), dtype=torch.bfloat16).float()
    digest[k] = {"shape": head[k]["shape"], "first": v[:4].tolist(), "sum": float(v.double().sum())}
with open("tiny_a_digest.json", "w") as f:
    json.dump(digest, f, indent=1)
    f.write("\n")
