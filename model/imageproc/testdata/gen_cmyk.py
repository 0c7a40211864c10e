#!/usr/bin/python3
"""Writes cmyk.json: 1024 CMYK pixels (edge values and random ones) and Pillow's
convert("RGB") of them, hex-encoded. Run once: /usr/bin/python3 gen_cmyk.py."""
import json, os
import numpy as np
from PIL import Image, __version__ as pil_version

rng = np.random.default_rng(3)
edge = np.array([0, 1, 127, 128, 254, 255], np.uint8)
grid = np.stack(np.meshgrid(edge, edge, edge, edge), -1).reshape(-1, 4)  # 1296 combinations
px = np.concatenate([grid[rng.permutation(len(grid))[:512]],
                     rng.integers(0, 256, (512, 4)).astype(np.uint8)])
img = Image.frombytes("CMYK", (len(px), 1), px.tobytes())
rgb = np.asarray(img.convert("RGB"))
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "cmyk.json"), "w") as f:
    json.dump({"pillow_version": pil_version, "cmyk_hex": px.tobytes().hex(),
               "rgb_hex": rgb.tobytes().hex()}, f)
