#!/usr/bin/env python3
"""Small understanding fixtures for the Go tests of the model package, computed with the PyTorch
reference in ../shared/reference (README.md beside this file has the command).

Each variant is a tiny Janus model in a shape tiny-a does not cover (grouped-query attention,
select_layer truncation, other image and patch sizes, Janus-1.3B text roles, a linear aligner,
an explicit head_dim, F16/F32 weights, a PyTorch .bin checkpoint). Weights are not stored: every
tensor is a formula the Go test evaluates again,

    value[i] = offset + scale * q,  q = ((splitmix64((seed << 32) | i) >> (64 - bits)) - 2^(bits-1)) / 2^(bits-1)

with scale a power of two, so each value is exact in BF16, F16 and float32 alike.
weights.json lists [name, shape, seed, bits, scale, offset] per tensor in the official
state_dict order; seed = salt * 65536 + the tensor's index, where salt is the first one (from 0)
whose greedy runs all have top-1 minus top-2 margins of at least MIN_MARGIN and whose two
answers differ.

Every variant is a two-turn chat: turn 1 asks about one or more images, turn 2 asks a follow-up
(with or without a new image) after turn 1's greedy answer, exactly as the official chat keeps
history: the answer decoded with special tokens skipped becomes the assistant message, and the
whole conversation is templated and tokenized again with every image in order.

Per variant it writes <name>/: config.json, the tokenizer and processor files, weights.json,
golden.json and float32 .bin goldens; the input PNGs go to inputs/.
"""

import argparse
import json
import math
import os
import shutil
import sys

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
MIN_MARGIN = 0.02

BOS = "<\uff5cbegin\u2581of\u2581sentence\uff5c>"
EOS = "<\uff5cend\u2581of\u2581sentence\uff5c>"
PAD = "<\uff5c\u2581pad\u2581\uff5c>"
PRO_SPECIALS = {BOS: 256, EOS: 257, PAD: 258, "<image_placeholder>": 259, "<begin_of_image>": 260,
                "<end_of_image>": 261, "<|User|>": 262, "<|Assistant|>": 263}
V13_SPECIALS = {BOS: 256, EOS: 257, PAD: 258, "<image_placeholder>": 259, "<begin_of_image>": 260,
                "<end_of_image>": 261}

# input images: name -> (width, height, variant of the reference's synthetic drawing)
INPUTS = {"wide": (24, 16, 0), "tall": (15, 22, 1), "square": (20, 20, 0)}

# A one-level VQ with the smallest legal widths: the generation parts must load, not run.
SMALL_VQ = dict(ch=32, ch_mult=[1], num_res_blocks=1, z_channels=32, codebook_size=16,
                codebook_embed_dim=4, image_size=4)

VARIANTS = {
    # Janus-Pro roles, BF16 safetensors; GQA (4 heads over 2 kv heads); a 32 px ViT with 8 px
    # patches and 3 preset layers cut to 2 by select_layer -2; two images in the first turn and
    # a text-only follow-up.
    "und-gqa": dict(
        dtype="BF16", format="safetensors", specials=PRO_SPECIALS, roles=("<|User|>", "<|Assistant|>"),
        vis=dict(image_size=32, patch_size=8, width=32, layers=3, heads=2, mlp_ratio=2, select_layer=-2),
        lm=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, vocab_size=272),
        aligner=dict(projector_type="mlp_gelu", depth=2),
        turns=[dict(images=["wide", "tall"], question="What is shown?", max_new_tokens=6),
               dict(images=[], question="And the colours?", max_new_tokens=6)]),
    # Janus-1.3B: plain-text roles and no role tokens, F16 weights in a PyTorch .bin; one kv
    # head for three query heads; 48 px images, 16 px patches (9 tokens); select_layer 2 of 3;
    # a non-integer mlp_ratio (fc1 width truncated); rope_theta and rms_norm_eps changed; a new
    # image in the second turn.
    "und-13b": dict(
        dtype="F16", format="pytorch", specials=V13_SPECIALS, roles=("User", "Assistant"),
        vis=dict(image_size=48, patch_size=16, width=24, layers=3, heads=3, mlp_ratio=3.7362, select_layer=2),
        lm=dict(hidden_size=24, intermediate_size=40, num_hidden_layers=3, num_attention_heads=3,
                num_key_value_heads=1, vocab_size=270, rope_theta=500000.0, rms_norm_eps=1e-5),
        aligner=dict(projector_type="mlp_gelu", depth=2),
        turns=[dict(images=["tall"], question="Describe it.", max_new_tokens=5),
               dict(images=["square"], question="Compare.", max_new_tokens=5)]),
    # F32 safetensors, a "linear" aligner, head_dim 12 with hidden 32 and 2 heads (so q is
    # narrower than the hidden size), 40 px images with 10 px patches, one ViT layer.
    "und-f32": dict(
        dtype="F32", format="safetensors", specials=PRO_SPECIALS, roles=("<|User|>", "<|Assistant|>"),
        vis=dict(image_size=40, patch_size=10, width=16, layers=1, heads=1, mlp_ratio=4, select_layer=-1),
        lm=dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=2,
                num_key_value_heads=2, head_dim=12, vocab_size=268),
        aligner=dict(projector_type="linear", depth=1),
        turns=[dict(images=["square"], question="Hi", max_new_tokens=4),
               dict(images=["wide"], question="More?", max_new_tokens=4)]),
}

MASK64 = (1 << 64) - 1


def splitmix64(x):
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def formula(seed, n, bits, scale, offset):
    i = np.arange(n, dtype=np.uint64)
    h = splitmix64((np.uint64(seed) << np.uint64(32)) | i)
    k = (h >> np.uint64(64 - bits)).astype(np.int64) - (1 << (bits - 1))
    return (offset + scale * (k.astype(np.float64) / float(1 << (bits - 1)))).astype(np.float32)


def kind(name, shape, modules):
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
    return [8, 0.5, 0.0]  # pos_embed


def fill(model, salt):
    modules = dict(model.named_modules())
    specs = []
    with torch.no_grad():
        for t, (name, v) in enumerate(model.state_dict().items()):
            shape = list(v.shape)
            bits, scale, offset = kind(name, shape, modules)
            seed = salt * 65536 + t
            v.copy_(torch.from_numpy(formula(seed, v.numel(), bits, scale, offset).reshape(shape)))
            specs.append([name, shape, seed, bits, scale, offset])
    return specs


def model_config(mf, v):
    vis, lm, vq = v["vis"], v["lm"], SMALL_VQ
    base = dict(vis_width=vis["width"], hidden=lm["hidden_size"], code_dim=vq["codebook_embed_dim"],
                image_token_embed=lm["hidden_size"], codebook=vq["codebook_size"], vq_ch=vq["ch"],
                vq_res=vq["num_res_blocks"], vq_z=vq["z_channels"], gen_size=vq["image_size"],
                heads=lm["num_attention_heads"], inter=lm["intermediate_size"], layers=lm["num_hidden_layers"],
                torch_dtype={"BF16": "bfloat16", "F16": "float16", "F32": "float32"}[v["dtype"]],
                vocab=lm["vocab_size"], vis_size=vis["image_size"], vis_layers=vis["layers"],
                vis_heads=vis["heads"], vis_mlp_ratio=vis["mlp_ratio"], vis_patch=vis["patch_size"],
                extra_lm={k: x for k, x in lm.items() if k not in (
                    "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size")})
    cfg = mf.make_config(base)
    cfg.pop("_janus_ref_note", None)
    cfg["vision_config"]["params"]["select_layer"] = vis["select_layer"]
    cfg["aligner_config"]["params"].update(v["aligner"])
    p = cfg["gen_vision_config"]["params"]
    p["encoder_ch_mult"] = list(vq["ch_mult"])
    p["decoder_ch_mult"] = list(vq["ch_mult"])
    down = 2 ** (len(vq["ch_mult"]) - 1)
    p["image_token_num_per_image"] = (vq["image_size"] // down) ** 2
    return cfg, base


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")


def write_bin(d, name, arr, files):
    arr = np.ascontiguousarray(np.asarray(arr, dtype=np.float32))
    arr.astype("<f4").tofile(os.path.join(d, name + ".bin"))
    files[name] = {"file": name + ".bin", "shape": list(arr.shape), "dtype": "float32-le"}


def user_content(n_images, question):
    return "<image_placeholder>\n" * n_images + question


def run_chat(mf, model, cfg, v, pixels):
    """Both turns of the chat; returns per-turn results (None when a margin is too small)."""
    jr, sp = mf.jr, v["specials"]
    n_img = cfg.vision_image_size // cfg.vision_patch_size
    n_img *= n_img
    conv, images, turns = [], [], []
    for turn in v["turns"]:
        images += turn["images"]
        conv = conv + [{"role": v["roles"][0], "content": user_content(len(turn["images"]), turn["question"])},
                       {"role": v["roles"][1], "content": ""}]
        prompt = jr.sft_prompt(conv, system_prompt=mf.SYSTEM)
        raw = mf.tiny_encode(prompt, sp)
        ids = jr.expand_image_placeholders(raw, sp["<image_placeholder>"], sp["<begin_of_image>"],
                                           sp["<end_of_image>"], n_img)
        pv = torch.from_numpy(np.stack([pixels[n] for n in images]))[None]
        r = jr.understand_greedy(model, ids, pv, sp["<image_placeholder>"], n_img, turn["max_new_tokens"],
                                 eos_id=sp[EOS], stop_at_eos=True)
        if min(r["margins"]) < MIN_MARGIN:
            return None
        text = mf.tiny_decode(r["tokens"], sp)
        turns.append(dict(turn, prompt_text=prompt, input_ids=ids, tokens=r["tokens"], text=text,
                          eos=sp[EOS] in r["tokens"], min_margin=min(r["margins"]),
                          step_logits=r["step_logits"].numpy()))
        conv[-1] = {"role": v["roles"][1], "content": text}
    if turns[0]["tokens"] == turns[1]["tokens"]:
        return None  # a follow-up that repeats the first answer would hide a stale cache
    return turns, images


def build(mf, name, v, scratch):
    jr = mf.jr
    cfg_dict, base = model_config(mf, v)
    cfg = jr.JanusConfig(cfg_dict)
    model = jr.build_model(cfg)
    pixels = {}
    for n, (w, h, variant) in INPUTS.items():
        img = Image.open(os.path.join(HERE, "inputs", n + ".png")).convert("RGB")
        pixels[n] = jr.vlm_preprocess(img, cfg.vision_image_size, 14, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5),
                                      1.0 / 255.0, True)
    for salt in range(400):
        specs = fill(model, salt)
        res = run_chat(mf, model, cfg, v, pixels)
        if res is not None:
            break
    else:
        raise SystemExit("%s: no salt below 400 gives greedy margins of %g" % (name, MIN_MARGIN))
    turns, images = res

    # Model folder without weights: the reference's writer lays out the tokenizer and
    # processor files; its weights and stand-in vocabulary are dropped.
    mf.OUT_ROOT = scratch
    tmp = mf.write_model_dir(name, dict(base, specials=v["specials"], dtype=v["dtype"]), model)
    d = os.path.join(HERE, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    for fn in sorted(os.listdir(tmp)):
        if fn not in ("model.safetensors", "tiny_vocab.json"):
            shutil.copy(os.path.join(tmp, fn), os.path.join(d, fn))
    write_json(os.path.join(d, "config.json"), cfg_dict)
    write_json(os.path.join(d, "weights.json"), specs)

    files = {}
    with torch.no_grad():
        pv = torch.from_numpy(np.stack([pixels[n] for n in images]))
        vf = model.vision_model(pv)
        af = model.aligner(vf)
    write_bin(d, "vision_features", vf.numpy(), files)
    write_bin(d, "aligner_features", af.numpy(), files)
    out_turns = []
    for i, t in enumerate(turns):
        write_bin(d, "turn%d_step_logits" % i, t.pop("step_logits"), files)
        out_turns.append(t)
    write_json(os.path.join(d, "golden.json"), {
        "what": "greedy two-turn chat of the reference on this folder's weights formula",
        "torch_version": torch.__version__,
        "weights_dtype": v["dtype"], "checkpoint_format": v["format"],
        "roles": list(v["roles"]), "system_prompt": mf.SYSTEM,
        "images": images, "turns": out_turns, "files": files,
    })
    print("%s: salt %d, turn tokens %s, min margin %.4f" % (
        name, salt, [t["tokens"] for t in turns], min(t["min_margin"] for t in turns)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", required=True, help="folder of the PyTorch reference (make_fixtures.py)")
    ap.add_argument("--scratch", default="/tmp/janus-und-fixtures", help="scratch folder for the reference's writer")
    ap.add_argument("variants", nargs="*", default=sorted(VARIANTS))
    a = ap.parse_args()
    sys.path.insert(0, os.path.abspath(a.reference))
    import make_fixtures as mf  # the reference's fixture writer; it imports the reference model code
    torch.set_num_threads(1)
    os.makedirs(os.path.join(HERE, "inputs"), exist_ok=True)
    for n, (w, h, variant) in INPUTS.items():
        mf.synthetic_image(w, h, variant).save(os.path.join(HERE, "inputs", n + ".png"))
    for name in a.variants:
        build(mf, name, VARIANTS[name], os.path.abspath(a.scratch))


if __name__ == "__main__":
    main()
