#!/usr/bin/env python3
"""Small generation fixtures for the Go tests, computed with the PyTorch reference in
../shared/reference (see README.md beside this file for the command).

The weights are the formula of ../formulaweights.py (shared with ../understand/); the salt is
the first one (from 0) that gives greedy margins of at least MIN_MARGIN and varied image tokens.

Per variant it writes:
  ../../testdata/generate/<name>/   model folder without weights (config, tokenizer, processor
                                     files), weights.json, golden.json and float32 .bin goldens
  ../../vq/testdata/<name>/          the VQ part alone: config.json, weights.json restricted to
                                     the decoder, golden.json and vq_grid_decoded.bin
"""

import argparse
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_DIR = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.dont_write_bytecode = True  # leave no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(HERE))
import formulaweights as fw  # noqa: E402  (the formula and writers shared with ../understand/)

MIN_MARGIN = 0.02
# a useful golden has varied tokens: at least this fraction of the grid distinct
MIN_DISTINCT = 0.3

BASE = dict(dtype="BF16", torch_dtype="bfloat16", vis_size=32, vis_patch=16, vis_width=32, vis_layers=1,
            vis_heads=2, vis_mlp_ratio=2, inter=64, layers=2, heads=2, vocab=272, image=None,
            seed=0)

VARIANTS = {
    # Janus-1.3B prompt style, two VQ levels, one res block per level (+1 in the decoder),
    # a 64-entry 4-wide codebook, 16 px images (8×8 grid), two images in parallel.
    "gen-b": dict(BASE, hidden=32, specials=fw.V13_SPECIALS, roles=("User", "Assistant"),
                  gen_prompt="A tiny green tree.", parallel_size=2, image_token_embed=48,
                  vq=dict(ch=32, ch_mult=[1, 2], num_res_blocks=1, z_channels=32, codebook_size=64,
                          codebook_embed_dim=4, image_size=16, codebook_l2_norm=True)),
    # Janus-Pro prompt style, three VQ levels, wider latent, codebook without l2
    # normalisation, 32 px images (8×8 grid), three images in parallel.
    "gen-c": dict(BASE, hidden=48, heads=3, specials=fw.PRO_SPECIALS, roles=("<|User|>", "<|Assistant|>"),
                  gen_prompt="Two cats on a sofa, oil painting.", parallel_size=3, image_token_embed=48,
                  vq=dict(ch=32, ch_mult=[1, 1, 2], num_res_blocks=2, z_channels=64, codebook_size=96,
                          codebook_embed_dim=8, image_size=32, codebook_l2_norm=False)),
    # One VQ level: no upsampling, attention at full resolution; 8 px image, 8×8 grid.
    "gen-d": dict(BASE, hidden=32, specials=fw.PRO_SPECIALS, roles=("<|User|>", "<|Assistant|>"),
                  gen_prompt="Sunset.", parallel_size=1, image_token_embed=32,
                  vq=dict(ch=32, ch_mult=[2], num_res_blocks=1, z_channels=32, codebook_size=80,
                          codebook_embed_dim=6, image_size=8, codebook_l2_norm=True)),
    # F16 weights (the tests write them as a PyTorch .bin); a 10×10 grid (40 px over three
    # levels, [1,2,2]: a repeated multiplier), an odd codebook width.
    "gen-e": dict(BASE, dtype="F16", torch_dtype="float16", hidden=48, heads=3, specials=fw.PRO_SPECIALS,
                  roles=("<|User|>", "<|Assistant|>"), gen_prompt="A red kite.", parallel_size=1,
                  image_token_embed=40,
                  vq=dict(ch=32, ch_mult=[1, 2, 2], num_res_blocks=1, z_channels=32, codebook_size=96,
                          codebook_embed_dim=5, image_size=40, codebook_l2_norm=True),
                  vq_alone=False, min_distinct=0.2),  # (25 of 100: a tiny LM repeats itself)
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

    def run():
        rg = jr.generate_image_tokens(model, gids, sp[fw.PAD], cfg_weight=5.0, temperature=1.0, parallel_size=P,
                                      greedy=True, keep_logits=3)
        gen_min = min(min(m) for m in rg["margins"])
        distinct = len(set(rg["tokens"][0].tolist()))
        if gen_min >= MIN_MARGIN and distinct >= v.get("min_distinct", MIN_DISTINCT) * cfg.image_token_num_per_image:
            return rg, gen_min
        return None

    salt, specs, (rg, gen_min) = fw.first_salt(name, model, run, "greedy margins of %g and varied tokens" % MIN_MARGIN)

    # Model folder without weights.
    v2 = dict(v, codebook=v["vq"]["codebook_size"], code_dim=v["vq"]["codebook_embed_dim"],
              vq_ch=v["vq"]["ch"], vq_res=v["vq"]["num_res_blocks"], vq_z=v["vq"]["z_channels"],
              gen_size=v["vq"]["image_size"])
    d = fw.write_model_folder(mf, name, v2, model, scratch, os.path.join(out_model, name))
    fw.write_json(os.path.join(d, "config.json"), cfg_dict)
    fw.write_specs(os.path.join(d, "weights.json"), specs)

    files = {}
    fw.write_bin(d, "gen_logits_cfg_first3", rg["logits_cfg"].numpy(), files)
    fw.write_bin(d, "gen_step0_logits_cond", rg["logits_cond0"].numpy(), files)
    fw.write_bin(d, "gen_step0_logits_uncond", rg["logits_uncond0"].numpy(), files)
    dec = jr.decode_image_tokens(model, rg["tokens"])
    fw.write_bin(d, "gen_decoded", dec.numpy(), files)
    u8 = jr.postprocess_uint8(dec)
    fw.write_json(os.path.join(d, "golden.json"), {
        "what": "greedy (argmax) CFG generation of the reference on this folder's weights formula",
        "torch_version": torch.__version__,
        "generation": {
            "prompt": v["gen_prompt"], "roles": list(v["roles"]), "prompt_text": gprompt,
            "input_ids": gids, "uncond_input_ids": [gids[0]] + [sp[fw.PAD]] * (len(gids) - 2) + [gids[-1]],
            "pad_id": sp[fw.PAD], "cfg_weight": 5.0, "parallel_size": P,
            "image_token_num_per_image": cfg.image_token_num_per_image, "grid": cfg.gen_grid,
            "image_size": cfg.gen_image_size,
            "image_tokens": rg["tokens"].tolist(), "min_margin": gen_min,
            "image_u8_sum": [int(x) for x in u8.reshape(P, -1).sum(axis=1)],
        },
        "files": files,
    })

    if not v.get("vq_alone", True):  # the VQ tests in ../../vq have their own variants
        print("%s: salt %d, tokens %s..., min margin %.4f" % (name, salt, rg["tokens"].tolist()[0][:8], gen_min))
        return
    # VQ alone: decoder weights and a fixed-grid decode.
    vd = os.path.join(out_vq, name)
    fw.fresh_dir(vd)
    fw.write_json(os.path.join(vd, "config.json"), cfg_dict)
    keep = ("gen_vision_model.decoder.", "gen_vision_model.post_quant_conv.", "gen_vision_model.quantize.embedding.")
    fw.write_specs(os.path.join(vd, "weights.json"), [s for s in specs if s[0].startswith(keep)])
    n = cfg.image_token_num_per_image
    cb = v["vq"]["codebook_size"]
    grids = [[(37 * k + 11) % cb for k in range(n)], [(k * k + 5 * k + 3) % cb for k in range(n)]]
    vdec = jr.decode_image_tokens(model, torch.tensor(grids))
    vfiles = {}
    fw.write_bin(vd, "vq_grid_decoded", vdec.numpy(), vfiles)
    fw.write_json(os.path.join(vd, "golden.json"), {
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
    mf = fw.load_reference(a.reference)
    for name in a.variants:
        build(mf, name, VARIANTS[name], os.path.join(MODEL_DIR, "testdata", "generate"),
              os.path.join(MODEL_DIR, "vq", "testdata"), os.path.abspath(a.scratch))


if __name__ == "__main__":
    main()
