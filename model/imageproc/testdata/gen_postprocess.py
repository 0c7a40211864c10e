#!/usr/bin/python3
"""Writes postprocess.json: float32 decoder values (as uint32 bit patterns) and the uint8 the
official generation script makes of them (np.clip((d + 1) / 2 * 255, 0, 255) in float32,
assigned into a uint8 array). The values crowd around the truncation boundaries, where
float32 versus float64 arithmetic or rounding versus truncation would differ.
Run once: /usr/bin/python3 gen_postprocess.py."""
import json, os
import numpy as np

rng = np.random.default_rng(7)
k = np.arange(256, dtype=np.float64)
edges = (k / 255.0 * 2.0 - 1.0).astype(np.float32)
vals = [rng.uniform(-1.3, 1.3, 300).astype(np.float32), edges,
        np.nextafter(edges, np.float32(-2)), np.nextafter(edges, np.float32(2)),
        ((k + 0.5) / 255.0 * 2.0 - 1.0).astype(np.float32),
        np.array([-1, 1, 0, -0.0, -5, 5, 1e-8, -1e-8, np.inf, -np.inf], np.float32)]
d = np.concatenate(vals).astype(np.float32)
img = np.zeros(d.shape, dtype=np.uint8)
img[:] = np.clip((d + 1) / 2 * 255, 0, 255)
out = {"numpy_version": np.__version__,
       "f32_bits": [int(v) for v in d.view(np.uint32)],
       "uint8": [int(v) for v in img]}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "postprocess.json"), "w") as f:
    json.dump(out, f)
