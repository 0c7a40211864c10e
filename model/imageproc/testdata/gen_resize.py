#!/usr/bin/python3
"""Writes resize.json: SHA-256 hashes of what Pillow 9.4 + numpy give for synthetic images
of awkward sizes, (a) Image.resize((w, h), Image.BICUBIC) and (b) the whole Janus
VLMImageProcessor (resize, expand2square with int(mean*255), float64 rescale cast to
float32, float32 normalize), written from the spec. Run once: /usr/bin/python3 gen_resize.py.
The pixel pattern is an integer hash that the Go test recomputes (synthPixel)."""
import hashlib, json, os
import numpy as np
from PIL import Image, __version__ as pil_version

M32 = 0xffffffff


def synth(w, h):
    y, x = np.mgrid[0:h, 0:w].astype(np.uint64)
    out = np.zeros((h, w, 3), np.uint8)
    for c in range(3):
        v = (x * 0x9E3779B1 + y * 0x85EBCA77 + c * 0xC2B2AE3D) & M32
        v ^= v >> 15
        v = (v * 0x2C1B3C6D) & M32
        v ^= v >> 12
        noise = v & 0xff
        smooth = (x * 7 + y * 3 + c * 50) & 0xff
        checker = ((x // 8 + y // 8) % 2) == 0
        out[..., c] = np.where(checker, noise, smooth).astype(np.uint8)
    return Image.fromarray(out, "RGB")


def sha(b):
    return hashlib.sha256(b).hexdigest()


def processor(img, size, min_size, mean, std, rescale, normalize):
    W, H = img.size
    M = max(W, H)
    h = max(int(H / M * size), min_size)
    w = max(int(W / M * size), min_size)
    r = img.resize((w, h), Image.BICUBIC)
    bg = tuple(int(x * 255) for x in mean)
    if w > h:
        sq = Image.new("RGB", (w, w), bg); sq.paste(r, (0, (w - h) // 2))
    elif h > w:
        sq = Image.new("RGB", (h, h), bg); sq.paste(r, ((h - w) // 2, 0))
    else:
        sq = r
    x = np.asarray(sq).transpose(2, 0, 1)
    x = (x.astype(np.float64) * rescale).astype(np.float32)
    if normalize:
        m = np.array(mean, dtype=np.float32)
        s = np.array(std, dtype=np.float32)
        x = ((x.T - m) / s).T
    x = np.ascontiguousarray(x, dtype=np.float32)
    return (w, h), np.asarray(sq), x


RELEASED = dict(size=384, min_size=14, mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5],
                rescale=0.00392156862745098, normalize=True)
CLIP = dict(mean=[0.48145466, 0.4578275, 0.40821073], std=[0.26862954, 0.26130258, 0.27577711])


def main():
    resize_cases = [(50, 40, 50, 97), (50, 40, 13, 40), (17, 19, 3, 200), (640, 480, 384, 288),
                    (1, 1, 5, 3), (300, 7, 1000, 2), (999, 1000, 384, 384), (33, 33, 33, 33)]
    proc_cases = [
        (7, 300, {}), (1000, 999, {}), (33, 33, {}), (640, 480, {}), (2000, 3, {}),
        (385, 384, {}), (1, 1, dict(size=64)), (150, 100, dict(size=64)),
        (500, 200, dict(size=1024, **CLIP)), (300, 301, dict(size=224, normalize=False)),
        (90, 141, dict(size=97, min_size=30, **CLIP)),
    ]
    out = {"pillow_version": pil_version, "numpy_version": np.__version__,
           "resize": [], "processor": []}
    for (w, h, ow, oh) in resize_cases:
        r = synth(w, h).resize((ow, oh), Image.BICUBIC)
        out["resize"].append({"in_wh": [w, h], "out_wh": [ow, oh],
                              "rgb_sha256": sha(np.asarray(r).tobytes())})
    for (w, h, over) in proc_cases:
        p = dict(RELEASED); p.update(over)
        (rw, rh), sq, x = processor(synth(w, h), **p)
        out["processor"].append({
            "in_wh": [w, h], "params": p, "resized_wh": [rw, rh],
            "square_rgb_sha256": sha(sq.tobytes()),
            "pixel_values_f32le_sha256": sha(x.astype("<f4").tobytes()),
            "pixel_values_sum": float(x.astype(np.float64).sum())})
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "resize.json"), "w") as f:
        json.dump(out, f, indent=1)


main()
