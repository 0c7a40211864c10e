"""What the fixture scripts in generate/ and understand/ share: the weights formula, the salt
search, the special tokens of the tiny tokenizers, and the writers of model folders and goldens.

Real random weights would make each fixture model hundreds of KB, so the weights are a formula
that the Go tests evaluate again (model/vq/formulaweights): element i of a tensor with seed s is

    offset + scale * q,   q = ((splitmix64((s << 32) | i) >> (64 - bits)) - 2^(bits-1)) / 2^(bits-1)

with scale a power of two, so every value is exact in BF16, F16 and float32 alike. A fixture's
weights.json lists [name, shape, seed, bits, scale, offset] per tensor in the state_dict order
of the official module; seed = salt * 65536 + the tensor's index.
"""

import json
import math
import os
import shutil
import sys

import numpy as np
import torch

BOS = "<\uff5cbegin\u2581of\u2581sentence\uff5c>"
EOS = "<\uff5cend\u2581of\u2581sentence\uff5c>"
PAD = "<\uff5c\u2581pad\u2581\uff5c>"

# Janus-Pro writes its roles as the <|User|> / <|Assistant|> tokens.
PRO_SPECIALS = {BOS: 256, EOS: 257, PAD: 258, "<image_placeholder>": 259, "<begin_of_image>": 260,
                "<end_of_image>": 261, "<|User|>": 262, "<|Assistant|>": 263}
# Janus-1.3B keeps its roles as plain text and has no <|User|> tokens.
V13_SPECIALS = {BOS: 256, EOS: 257, PAD: 258, "<image_placeholder>": 259, "<begin_of_image>": 260,
                "<end_of_image>": 261}

MAX_SALT = 400


def splitmix64(x):
    """splitmix64 over a uint64 numpy array (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def formula(seed, n, bits, scale, offset):
    """The n values of a tensor with the given seed, as float32."""
    i = np.arange(n, dtype=np.uint64)
    h = splitmix64((np.uint64(seed) << np.uint64(32)) | i)
    k = (h >> np.uint64(64 - bits)).astype(np.int64) - (1 << (bits - 1))
    return (offset + scale * (k.astype(np.float64) / float(1 << (bits - 1)))).astype(np.float32)


def param_spec(name, shape, modules):
    """[bits, scale, offset] by the kind of module that owns the parameter."""
    mod, _, leaf = name.rpartition(".")
    m = modules[mod]
    if leaf == "codebook_used":
        return [8, 0.0, 0.0]
    if isinstance(m, (torch.nn.LayerNorm, torch.nn.GroupNorm)) or type(m).__name__ == "LlamaRMSNorm":
        return [4, 0.25, 1.0] if leaf == "weight" else [8, 0.125, 0.0]
    if isinstance(m, torch.nn.Embedding):
        return [8, 1.0, 0.0]
    if leaf == "bias":
        return [8, 0.0625, 0.0]
    if len(shape) >= 2:
        fan_in = int(np.prod(shape[1:]))
        return [8, 2.0 ** round(math.log2(math.sqrt(3.0 / fan_in))), 0.0]
    return [8, 0.5, 0.0]  # pos_embed, latent


def fill(model, salt):
    """Sets every tensor of model from the formula with this salt; returns weights.json's rows."""
    modules = dict(model.named_modules())
    specs = []
    with torch.no_grad():
        for t, (name, v) in enumerate(model.state_dict().items()):
            shape = list(v.shape)
            bits, scale, offset = param_spec(name, shape, modules)
            seed = salt * 65536 + t
            v.copy_(torch.from_numpy(formula(seed, v.numel(), bits, scale, offset).reshape(shape)))
            specs.append([name, shape, seed, bits, scale, offset])
    return specs


def first_salt(name, model, run, why):
    """Fills model with salts 0, 1, ... until run() returns something other than None; returns
    the salt, weights.json's rows and what run returned. why says what run asks for."""
    for salt in range(MAX_SALT):
        specs = fill(model, salt)
        res = run()
        if res is not None:
            return salt, specs, res
    raise SystemExit("%s: no salt below %d gives %s" % (name, MAX_SALT, why))


def load_reference(folder):
    """Imports the PyTorch reference's fixture writer (make_fixtures.py in folder, which imports
    the reference model code) and makes torch deterministic on one thread."""
    sys.path.insert(0, os.path.abspath(folder))
    import make_fixtures as mf
    torch.set_num_threads(1)
    return mf


def write_model_folder(mf, name, params, model, scratch, dest):
    """Writes dest as a model folder without weights: the reference's writer lays out the
    tokenizer and processor files in scratch, and its weights and stand-in vocabulary are left
    out. Returns dest."""
    mf.OUT_ROOT = scratch
    tmp = mf.write_model_dir(name, params, model)
    fresh_dir(dest)
    for fn in sorted(os.listdir(tmp)):
        if fn not in ("model.safetensors", "tiny_vocab.json"):
            shutil.copy(os.path.join(tmp, fn), os.path.join(dest, fn))
    return dest


def fresh_dir(path):
    """Makes path an empty folder, removing what a previous run left there."""
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")


def write_specs(path, specs):
    """weights.json with one tensor per line (small and diff-friendly)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(s) for s in specs) + "\n]\n")


def write_bin(d, name, arr, files):
    """Writes arr as little-endian float32 d/name.bin and lists it in files."""
    arr = np.ascontiguousarray(np.asarray(arr, dtype=np.float32))
    arr.astype("<f4").tofile(os.path.join(d, name + ".bin"))
    files[name] = {"file": name + ".bin", "shape": list(arr.shape), "dtype": "float32-le"}
