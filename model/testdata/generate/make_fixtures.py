#!/usr/bin/env python3
"""Small generation fixtures for the Go tests, computed with the PyTorch reference in
../shared/reference (see README.md beside this file for the command).

Real random weights would make each model hundreds of KB, so the weights here are a formula
that the Go tests re-evaluate: element i of a tensor with seed s is

    offset + scale * q,   q = ((splitmix64((s << 32) | i) >> (64 - bits)) - 2^(bits-1)) / 2^(bits-1)

with scale a power of two, so every value is exact in BF16 and float32 alike. weights.json lists
[name, shape, seed, bits, scale, offset] per tensor in the state_dict order of the official
module; seed = salt * 65536 + the tensor's index, and the salt is the first one (from 0) that
gives greedy margins of at least MIN_MARGIN and varied image tokens.

Per variant it writes:
  ../../testdata/generate/<name>/   model folder without weights (config, tokenizer, processor
                                     files), weights.json, golden.json and float32 .bin goldens
  ../../vq/testdata/<name>/          the VQ part alone: config.json, weights.json restricted to
                                     the decoder, golden.json and vq_grid_decoded.bin
"""

import argparse
import json
import math
import os
import shutil
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_DIR = os.path.normpath(os.path.join(HERE, "..", ".."))

MIN_MARGIN = 0.02
# a useful golden has varied tokens: at least this fraction of the grid distinct
MIN_DISTINCT = 0.3
MASK = (1 << 64) - 1


def splitmix64(x):
    """splitmix64 over a uint64 numpy array (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def formula(t, n, bits, scale, offset):
    i = np.arange(n, dtype=np.uint64)
    h = splitmix64((np.uint64(t) << np.uint64(32)) | i)
    k = (h >> np.uint64(64 - bits)).astype(np.int64) - (1 << (bits - 1))
    q = k.astype(np.float64) / float(1 << (bits - 1))
    return (offset + scale * q).astype(np.float32)


def pow2(x):
    return 2.0 ** round(math.log2(x))


def spec_for(name, shape, modules):
    """[bits, scale, offset] by the kind of parameter (the module that owns it)."""
    mod_name, _, leaf = name.rpartition(".")
    m = modules[mod_name]
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
        return [8, pow2(math.sqrt(3.0 / fan_in)), 0.0]
    return [8, 0.5, 0.0]  # pos_embed, latent


def fill(model, salt):
    modules = dict(model.named_modules())
    specs = []
    sd = model.state_dict()
    with torch.no_grad():
        for t, (name, v) in enumerate(sd.items()):
            shape = list(v.shape)
            bits, scale, offset = spec_for(name, shape, modules)
            seed = salt * 65536 + t
            vals = formula(seed, v.numel(), bits, scale, offset)
            v.copy_(torch.from_numpy(vals.reshape(shape)))
            specs.append([name, shape, seed, bits, scale, offset])
    return specs


BOS = "<\uff5cbegin\u2581of\u2581sentence\uff5c>"
EOS = "<\uff5cend\u2581of\u2581sentence\uff5c>"
PAD = "<\uff5c\u2581pad\u2581\uff5c>"

PRO_SPECIALS = {BOS: 256, EOS: 257, PAD: 258, "<image_placeholder>": 259, "<begin_of_image>": 260,
                "<end_of_image>": 261, "<|User|>": 262, "<|Assistant|>": 263}
# Janus-1.3B keeps its roles as plain text and has no <|User|> tokens.
V13_SPECIALS = {BOS: 256, EOS: 257, PAD: 258, "<image_placeholder>": 259, "<begin_of_image>": 260,
                "<end_of_image>": 261}

BASE = dict(dtype="BF16", torch_dtype="bfloat16", vis_size=32, vis_patch=16, vis_width=32, vis_layers=1,
            vis_heads=2, vis_mlp_ratio=2, inter=64, layers=2, heads=2, vocab=272, image=None,
            seed=0)

VARIANTS = {
    # Janus-1.3B prompt style, two VQ levels, one res block per level (+1 in the decoder),
    # a 64-entry 4-wide codebook, 16 px images (8×8 grid), two images in parallel.
    "gen-b": dict(BASE, hidden=32, specials=V13_SPECIALS, roles=("User", "Assistant"),
                  gen_prompt="A tiny green tree.", parallel_size=2, image_token_embed=48,
                  vq=dict(ch=32, ch_mult=[1, 2], num_res_blocks=1, z_channels=32, codebook_size=64,
                          codebook_embed_dim=4, image_size=16, codebook_l2_norm=True)),
    # Janus-Pro prompt style, three VQ levels, wider latent, codebook without l2
    # normalisation, 32 px images (8×8 grid), three images in parallel.
    "gen-c": dict(BASE, hidden=48, heads=3, specials=PRO_SPECIALS, roles=("<|User|>", "<|Assistant|>"),
                  gen_prompt="Two cats on a sofa, oil painting.", parallel_size=3, image_token_embed=48,
                  vq=dict(ch=32, ch_mult=[1, 1, 2], num_res_blocks=2, z_channels=64, codebook_size=96,
                          codebook_embed_dim=8, image_size=32, codebook_l2_norm=False)),
    # One VQ level: no upsampling, attention at full resolution; 8 px image, 8×8 grid.
    "gen-d": dict(BASE, hidden=32, specials=PRO_SPECIALS, roles=("<|User|>", "<|Assistant|>"),
                  gen_prompt="Sunset.", parallel_size=1, image_token_embed=32,
                  vq=dict(ch=32, ch_mult=[2], num_res_blocks=1, z_channels=32, codebook_size=80,
                          codebook_embed_dim=6, image_size=8, codebook_l2_norm=True)),
}


def make_config(mf, v):
    vq = v["vq"]
    cfg = mf.make_config(dict(v, codebook=vq["codebook_size"], code_dim=vq["codebook_embed_dim"],
                              vq_ch=vq["ch"], vq_res=vq["num_res_blocks"], vq_z=vq["z_channels"],
                              gen_size=vq["image_size"]))
    for k in [k for k in cfg if k.startswith("_")]:  # the reference's note on its own files
        del cfg[k]
    down = 2 ** (len(vq["ch_mult"]) - 1)
    grid = vq["image_size"] // down
    p = cfg["gen_vision_config"]["params"]
    p["encoder_ch_mult"] = list(vq["ch_mult"])
    p["decoder_ch_mult"] = list(vq["ch_mult"])
    p["codebook_l2_norm"] = vq["codebook_l2_norm"]
    p["image_token_num_per_image"] = grid * grid
    return cfg


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")


def write_specs(path, specs):
    """weights.json with one tensor per line (small and diff-friendly)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(s) for s in specs) + "\n]\n")


def write_bin(d, name, arr, files):
    arr = np.ascontiguousarray(np.asarray(arr, dtype=np.float32))
    arr.astype("<f4").tofile(os.path.join(d, name + ".bin"))
    files[name] = {"file": name + ".bin", "shape": list(arr.shape), "dtype": "float32-le"}


def build(mf, name, v, out_model, out_vq, scratch):
    jr = mf.jr
    cfg_dict = make_config(mf, v)
    cfg = jr.JanusConfig(cfg_dict)
    model = jr.build_model(cfg)
    sp = v["specials"]
    gconv = [{"role": v["roles"][0], "content": v["gen_prompt"]}, {"role": v["roles"][1], "content": ""}]
    gprompt = jr.sft_prompt(gconv, system_prompt="") + "<begin_of_image>"
    gids = mf.tiny_encode(gprompt, sp)
    P = v["parallel_size"]
    for salt in range(400):
        specs = fill(model, salt)
        rg = jr.generate_image_tokens(model, gids, sp[PAD], cfg_weight=5.0, temperature=1.0, parallel_size=P,
                                      greedy=True, keep_logits=3)
        gen_min = min(min(m) for m in rg["margins"])
        distinct = len(set(rg["tokens"][0].tolist()))
        if gen_min >= MIN_MARGIN and distinct >= MIN_DISTINCT * cfg.image_token_num_per_image:
            break
    else:
        raise SystemExit("%s: no salt below 400 gives greedy margins of %g and varied tokens" % (name, MIN_MARGIN))

    # Model folder without weights: let the reference writer lay out the tokenizer and
    # processor files, then drop its weights and its stand-in vocabulary.
    mf.OUT_ROOT = scratch
    v2 = dict(v, codebook=v["vq"]["codebook_size"], code_dim=v["vq"]["codebook_embed_dim"],
              vq_ch=v["vq"]["ch"], vq_res=v["vq"]["num_res_blocks"], vq_z=v["vq"]["z_channels"],
              gen_size=v["vq"]["image_size"])
    tmp = mf.write_model_dir(name, v2, model)
    d = os.path.join(out_model, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    for fn in sorted(os.listdir(tmp)):
        if fn in ("model.safetensors", "tiny_vocab.json"):
            continue
        shutil.copy(os.path.join(tmp, fn), os.path.join(d, fn))
    write_json(os.path.join(d, "config.json"), cfg_dict)
    write_specs(os.path.join(d, "weights.json"), specs)

    files = {}
    write_bin(d, "gen_logits_cfg_first3", rg["logits_cfg"].numpy(), files)
    write_bin(d, "gen_step0_logits_cond", rg["logits_cond0"].numpy(), files)
    write_bin(d, "gen_step0_logits_uncond", rg["logits_uncond0"].numpy(), files)
    dec = jr.decode_image_tokens(model, rg["tokens"])
    write_bin(d, "gen_decoded", dec.numpy(), files)
    u8 = jr.postprocess_uint8(dec)
    write_json(os.path.join(d, "golden.json"), {
        "what": "greedy (argmax) CFG generation of the reference on this folder's weights formula",
        "torch_version": torch.__version__,
        "generation": {
            "prompt": v["gen_prompt"], "roles": list(v["roles"]), "prompt_text": gprompt,
            "input_ids": gids, "uncond_input_ids": [gids[0]] + [sp[PAD]] * (len(gids) - 2) + [gids[-1]],
            "pad_id": sp[PAD], "cfg_weight": 5.0, "parallel_size": P,
            "image_token_num_per_image": cfg.image_token_num_per_image, "grid": cfg.gen_grid,
            "image_size": cfg.gen_image_size,
            "image_tokens": rg["tokens"].tolist(), "min_margin": gen_min,
            "image_u8_sum": [int(x) for x in u8.reshape(P, -1).sum(axis=1)],
        },
        "files": files,
    })

    # VQ alone: decoder weights and a fixed-grid decode.
    vd = os.path.join(out_vq, name)
    if os.path.isdir(vd):
        shutil.rmtree(vd)
    os.makedirs(vd)
    write_json(os.path.join(vd, "config.json"), cfg_dict)
    keep = ("gen_vision_model.decoder.", "gen_vision_model.post_quant_conv.", "gen_vision_model.quantize.embedding.")
    write_specs(os.path.join(vd, "weights.json"), [s for s in specs if s[0].startswith(keep)])
    n = cfg.image_token_num_per_image
    cb = v["vq"]["codebook_size"]
    grids = [[(37 * k + 11) % cb for k in range(n)], [(k * k + 5 * k + 3) % cb for k in range(n)]]
    vdec = jr.decode_image_tokens(model, torch.tensor(grids))
    vfiles = {}
    write_bin(vd, "vq_grid_decoded", vdec.numpy(), vfiles)
    write_json(os.path.join(vd, "golden.json"), {
        "what": "VQ decode of two fixed grids by the reference on this folder's weights formula",
        "rules": ["(37*k + 11) % codebook_size", "(k*k + 5*k + 3) % codebook_size"],
        "tokens": grids, "files": vfiles,
        "image_u8_sum": [int(x) for x in jr.postprocess_uint8(vdec).reshape(2, -1).sum(axis=1)],
    })
    print("%s: salt %d, tokens %s..., min margin %.4f, decoded range [%.2f, %.2f]" % (
        name, salt, rg["tokens"].tolist()[0][:8], gen_min, float(dec.min()), float(dec.max())))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", required=True, help="folder of the PyTorch reference (make_fixtures.py)")
    ap.add_argument("--scratch", default="/tmp/janus-gen-fixtures", help="scratch folder for the reference's writer")
    ap.add_argument("variants", nargs="*", default=sorted(VARIANTS))
    a = ap.parse_args()
    sys.path.insert(0, os.path.abspath(a.reference))
    import make_fixtures as mf  # the reference's fixture writer; it imports the reference model code
    torch.set_num_threads(1)
    for name in a.variants:
        build(mf, name, VARIANTS[name], os.path.join(MODEL_DIR, "testdata", "generate"),
              os.path.join(MODEL_DIR, "vq", "testdata"), os.path.abspath(a.scratch))


if __name__ == "__main__":
    main()
