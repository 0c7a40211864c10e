#!/usr/bin/env python3
"""Small understanding fixtures for the Go tests of the model package, computed with the PyTorch
reference in ../shared/reference (README.md beside this file has the command).

Each variant is a tiny Janus model in a shape tiny-a does not cover (grouped-query attention,
select_layer truncation, other image and patch sizes, Janus-1.3B text roles, a linear aligner,
an explicit head_dim, F16/F32 weights, a PyTorch .bin checkpoint). Weights are not stored:
they are the formula of ../formulaweights.py (shared with ../generate/), which the Go test
evaluates again; the salt is the first one (from 0) whose greedy runs all have top-1 minus
top-2 margins of at least MIN_MARGIN and whose two answers differ.

Every variant is a two-turn chat: turn 1 asks about one or more images, turn 2 asks a follow-up
(with or without a new image) after turn 1's greedy answer, exactly as the official chat keeps
history: the answer decoded with special tokens skipped becomes the assistant message, and the
whole conversation is templated and tokenized again with every image in order.

Per variant it writes <name>/: config.json, the tokenizer and processor files, weights.json,
golden.json and float32 .bin goldens; the input PNGs go to inputs/.
"""

import argparse
import os
import sys

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # leave no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(HERE))
import formulaweights as fw  # noqa: E402  (the formula and writers shared with ../generate/)
from formulaweights import EOS, PRO_SPECIALS, V13_SPECIALS  # noqa: E402

MIN_MARGIN = 0.02

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
    for k in [k for k in cfg if k.startswith("_")]:  # the reference's note on its own files
        del cfg[k]
    cfg["vision_config"]["params"]["select_layer"] = vis["select_layer"]
    cfg["aligner_config"]["params"].update(v["aligner"])
    p = cfg["gen_vision_config"]["params"]
    p["encoder_ch_mult"] = list(vq["ch_mult"])
    p["decoder_ch_mult"] = list(vq["ch_mult"])
    down = 2 ** (len(vq["ch_mult"]) - 1)
    p["image_token_num_per_image"] = (vq["image_size"] // down) ** 2
    return cfg, base


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
    salt, specs, (turns, images) = fw.first_salt(name, model, lambda: run_chat(mf, model, cfg, v, pixels),
                                                 "greedy margins of %g and differing answers" % MIN_MARGIN)

    # Model folder without weights.
    d = fw.write_model_folder(mf, name, dict(base, specials=v["specials"], dtype=v["dtype"]), model, scratch,
                              os.path.join(HERE, name))
    fw.write_json(os.path.join(d, "config.json"), cfg_dict)
    fw.write_json(os.path.join(d, "weights.json"), specs)

    files = {}
    with torch.no_grad():
        pv = torch.from_numpy(np.stack([pixels[n] for n in images]))
        vf = model.vision_model(pv)
        af = model.aligner(vf)
    fw.write_bin(d, "vision_features", vf.numpy(), files)
    fw.write_bin(d, "aligner_features", af.numpy(), files)
    out_turns = []
    for i, t in enumerate(turns):
        fw.write_bin(d, "turn%d_step_logits" % i, t.pop("step_logits"), files)
        out_turns.append(t)
    fw.write_json(os.path.join(d, "golden.json"), {
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
    mf = fw.load_reference(a.reference)
    os.makedirs(os.path.join(HERE, "inputs"), exist_ok=True)
    for n, (w, h, variant) in INPUTS.items():
        mf.synthetic_image(w, h, variant).save(os.path.join(HERE, "inputs", n + ".png"))
    for name in a.variants:
        build(mf, name, VARIANTS[name], os.path.abspath(a.scratch))


if __name__ == "__main__":
    main()
