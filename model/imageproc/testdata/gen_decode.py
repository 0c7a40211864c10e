#!/usr/bin/python3
"""Writes the decoding test images under decode/ and, for each, what Pillow's
Image.open(f).convert("RGB") gives (decode/<name>.rgb, raw RGB bytes, row-major), plus
decode/manifest.json. Run once with Pillow 9.4 (Debian 12): /usr/bin/python3 gen_decode.py.
gif_offset*.gif were written with Go's image/gif (a first frame smaller than the screen,
which Pillow cannot write) and are only read here."""
import io, json, os, struct, zlib
import numpy as np
from PIL import Image, ImageOps, __version__ as pil_version

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "decode")
W, H = 13, 11
rng = np.random.default_rng(1234)


def rgb8():
    y, x = np.mgrid[0:H, 0:W]
    a = np.stack([x * 19, y * 23, (x * y * 7) % 256], -1).astype(np.int64)
    a = (a + rng.integers(0, 40, a.shape)) % 256
    return a.astype(np.uint8)


def png_chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)


def raw_png(rows, depth, ctype, extra=b""):
    """A PNG from already packed scanlines (filter byte 0 added here)."""
    ihdr = struct.pack(">IIBBBBB", W, H, depth, ctype, 0, 0, 0)
    idat = zlib.compress(b"".join(b"\x00" + r for r in rows))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + extra +
            png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))


def packbits(vals, depth):
    out, acc, n = bytearray(), 0, 0
    for v in vals:
        acc = (acc << depth) | int(v)
        n += depth
        if n == 8:
            out.append(acc); acc, n = 0, 0
    if n:
        out.append(acc << (8 - n))
    return bytes(out)


def save(img, fmt, **kw):
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


def cases():
    c = {}
    base = rgb8()
    alpha = rng.integers(0, 256, (H, W)).astype(np.uint8)
    alpha[0, :4] = 0
    grey = base[..., 0]
    c["png_rgb.png"] = save(Image.fromarray(base), "PNG")
    c["png_rgba.png"] = save(Image.fromarray(np.dstack([base, alpha]), "RGBA"), "PNG")
    c["png_rgb_trns.png"] = save(Image.fromarray(base), "PNG", transparency=tuple(int(v) for v in base[0, 0]))
    c["png_l.png"] = save(Image.fromarray(grey, "L"), "PNG")
    c["png_l_trns.png"] = save(Image.fromarray(grey, "L"), "PNG", transparency=int(grey[0, 0]))
    c["png_la.png"] = save(Image.fromarray(np.dstack([grey, alpha]), "LA"), "PNG")
    c["png_1.png"] = save(Image.fromarray(grey > 128).convert("1"), "PNG")
    pal = Image.fromarray(base).quantize(200)
    c["png_p.png"] = save(pal, "PNG")
    c["png_p_trns.png"] = save(pal, "PNG", transparency=bytes(range(0, 200, 3)))
    pal16 = Image.fromarray(base).quantize(16)
    c["png_p4.png"] = save(pal16, "PNG", bits=4)
    for depth in (2, 4):
        v = rng.integers(0, 1 << depth, (H, W))
        c["png_l%d.png" % depth] = raw_png([packbits(r, depth) for r in v], depth, 0)
    g16 = rng.integers(0, 65536, (H, W)).astype(">u2")
    g16[::2] = rng.integers(0, 600, (H // 2 + 1, W))  # most clipping happens above 255
    c["png_l16.png"] = raw_png([r.tobytes() for r in g16], 16, 0)
    c["png_l16_trns.png"] = raw_png([r.tobytes() for r in g16], 16, 0,
                                     png_chunk(b"tRNS", g16[0, 0].tobytes()))
    la16 = rng.integers(0, 65536, (H, W, 2)).astype(">u2")
    c["png_la16.png"] = raw_png([r.tobytes() for r in la16], 16, 4)
    rgb16 = rng.integers(0, 65536, (H, W, 3)).astype(">u2")
    c["png_rgb16.png"] = raw_png([r.tobytes() for r in rgb16], 16, 2)
    c["png_rgb16_trns.png"] = raw_png([r.tobytes() for r in rgb16], 16, 2,
                                       png_chunk(b"tRNS", rgb16[0, 0].tobytes()))
    rgba16 = rng.integers(0, 65536, (H, W, 4)).astype(">u2")
    c["png_rgba16.png"] = raw_png([r.tobytes() for r in rgba16], 16, 6)

    c["gif.gif"] = save(pal, "GIF")
    c["gif_trns.gif"] = save(pal, "GIF", transparency=5)
    second = Image.fromarray(255 - base).quantize(64)
    c["gif_anim.gif"] = save(pal, "GIF", save_all=True, append_images=[second], duration=100)

    c["webp_lossless.webp"] = save(Image.fromarray(base), "WEBP", lossless=True)
    c["webp_lossless_rgba.webp"] = save(Image.fromarray(np.dstack([base, alpha]), "RGBA"), "WEBP", lossless=True, exact=True)
    c["webp_lossy.webp"] = save(Image.fromarray(base), "WEBP", quality=90)

    c["bmp_rgb.bmp"] = save(Image.fromarray(base), "BMP")
    c["bmp_p.bmp"] = save(pal, "BMP")
    c["bmp_l.bmp"] = save(Image.fromarray(grey, "L"), "BMP")
    c["bmp_1.bmp"] = save(Image.fromarray(grey > 128).convert("1"), "BMP")

    photo = smooth_photo(48, 40)
    c["jpeg_420.jpg"] = save(photo, "JPEG", quality=90, subsampling=2)
    c["jpeg_422.jpg"] = save(photo, "JPEG", quality=90, subsampling=1)
    c["jpeg_444.jpg"] = save(photo, "JPEG", quality=90, subsampling=0)
    c["jpeg_progressive.jpg"] = save(photo, "JPEG", quality=85, progressive=True)
    c["jpeg_odd_420.jpg"] = save(smooth_photo(37, 29), "JPEG", quality=90, subsampling=2)
    c["jpeg_grey.jpg"] = save(photo.convert("L"), "JPEG", quality=90)
    c["jpeg_cmyk.jpg"] = save(photo.convert("CMYK"), "JPEG", quality=95)
    exif = Image.Exif()
    exif[0x0112] = 6
    c["jpeg_orient6.jpg"] = save(smooth_photo(40, 24), "JPEG", quality=90, exif=exif.tobytes())
    oriented = smooth_photo(40, 24)
    for o in (1, 2, 3, 4, 5, 7, 8):
        exif[0x0112] = o
        c["jpeg_orient%d.jpg" % o] = save(oriented, "JPEG", quality=90, exif=exif.tobytes())
    c["webp_lossy_photo.webp"] = save(smooth_photo(48, 40), "WEBP", quality=80)
    c["webp_lossy_odd.webp"] = save(smooth_photo(37, 29), "WEBP", quality=70)
    pa = smooth_photo(37, 29).convert("RGBA")
    pa.putalpha(Image.fromarray(rng.integers(0, 256, (29, 37)).astype(np.uint8)))
    c["webp_lossy_alpha.webp"] = save(pa, "WEBP", quality=75)
    c["bmp_rgba.bmp"] = save(Image.fromarray(np.dstack([base, alpha]), "RGBA"), "BMP")
    return c


def smooth_photo(w, h):
    """A photo-like image: smooth gradients plus a hard edge and mild noise."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 7.0)
    g = 128 + 100 * np.cos(y / 5.0)
    b = np.where(x + y > (w + h) / 2, 220.0, 40.0)
    a = np.stack([r, g, b], -1) + rng.normal(0, 6, (h, w, 3))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def main():
    os.makedirs(OUT, exist_ok=True)
    files = cases()
    for name, data in files.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    manifest = {"pillow_version": pil_version, "images": {}}
    for name in sorted(os.listdir(OUT)):
        if name.endswith((".rgb", ".json")):
            continue
        im = Image.open(os.path.join(OUT, name))
        mode = im.mode
        if name.startswith("jpeg_orient"):
            im = ImageOps.exif_transpose(im)
        rgb = np.asarray(im.convert("RGB"))
        with open(os.path.join(OUT, name + ".rgb"), "wb") as f:
            f.write(rgb.tobytes())
        manifest["images"][name] = {"pil_mode": mode, "width": rgb.shape[1], "height": rgb.shape[0]}
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


main()
