#!/usr/bin/python3
"""Writes goroot.json: for image files that ship with Go ($GOROOT/src/image/...: the PNG
suite, GIFs, JPEGs), the SHA-256 of Pillow's Image.open(f).convert("RGB") bytes, and
goroot_440.png, Pillow's RGB for the 4:4:0 JPEG (Pillow cannot write 4:4:0 itself).
Run once: /usr/bin/python3 gen_goroot.py /usr/local/go."""
import glob, hashlib, json, os, sys
import numpy as np
from PIL import Image, __version__ as pil_version

root = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
files = sorted(glob.glob(os.path.join(root, "src/image/png/testdata/pngsuite/*.png")) +
               glob.glob(os.path.join(root, "src/image/testdata/*.gif")) +
               glob.glob(os.path.join(root, "src/image/testdata/*.png")))
out = {"pillow_version": pil_version, "exact": {}}
for f in files:
    rgb = np.asarray(Image.open(f).convert("RGB"))
    out["exact"][os.path.relpath(f, root)] = {
        "width": rgb.shape[1], "height": rgb.shape[0],
        "rgb_sha256": hashlib.sha256(rgb.tobytes()).hexdigest()}
j440 = "src/image/testdata/video-001.q50.440.jpeg"
Image.open(os.path.join(root, j440)).convert("RGB").save(os.path.join(here, "goroot_440.png"), optimize=True)
out["jpeg_vs_png"] = {j440: "goroot_440.png"}
with open(os.path.join(here, "goroot.json"), "w") as f:
    json.dump(out, f, indent=1)
