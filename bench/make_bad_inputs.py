"""Build a folder of awkward and broken inputs for a folder run of `ocrtool read`.

    python bench/make_bad_inputs.py DIR [--huge]

Every file is made here from the samples and a few bytes, so nothing binary is committed.
The corpus covers what a reliability probe of the CLI found (issue 14): broken and
truncated files of every format, files that are not images, metadata that lies (huge
sizes, corrupt EXIF), odd pixel formats, and odd file names (not UTF-8, a newline, a
leading quote, links that loop or dangle). `--huge` adds a 19000 x 19000 16-bit PNG
(0.7 MB on disk, 0.7 GB decoded; about 20 s to make) and a 19000 x 19000 8-bit RGB PNG
(1 MB on disk, 1.1 GB decoded) for the memory check.

Reading DIR as one folder must give one result or one error line per file, no traceback,
and exit code 1 (some files are bad). Files named ok_* (and the odd names, unless broken)
decode; the rest fail with a one-line reason.
"""

from __future__ import annotations

import argparse
import io
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def _png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _encoded(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def _png_header(width: int, height: int, bit_depth: int = 8, color: int = 2) -> bytes:
    """A PNG signature and IHDR claiming a size, with a tiny (wrong) IDAT and IEND."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b""))


def huge_rgb_png(width: int = 19000, height: int = 19000) -> bytes:
    """A white 8-bit RGB page with one dark bar, written row by row (the full image is
    never in memory here): about 1 MB on disk, 1.1 GB as RGB, 1.44 GB in Pillow."""
    white = b"\x00" + b"\xff" * (3 * width)  # filter byte 0, then the pixels
    bar = b"\x00" + (b"\xff" * 3 * (width // 10) + b"\x20" * 3 * (width * 8 // 10)).ljust(
        3 * width, b"\xff")
    z = zlib.compressobj(9)
    idat = [z.compress(bar if height // 2 <= y < height // 2 + 400 else white)
            for y in range(height)]
    idat.append(z.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", b"".join(idat)) + _png_chunk(b"IEND", b""))


def corrupt_exif_jpeg(orientation: int = 77) -> bytes:
    """A JPEG whose EXIF block has tags pointing past its end and an invalid orientation:
    Pillow printed four warnings for it."""
    im = Image.open(SAMPLES / "sign.jpg").convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Camera maker name"
    exif[0x0110] = "Model x"
    data = bytearray(_encoded(im, "JPEG", exif=exif.tobytes()))
    tiff = data.find(b"Exif\x00\x00") + 6
    big_endian = data[tiff:tiff + 2] == b"MM"
    e = ">" if big_endian else "<"
    ifd = tiff + struct.unpack(e + "I", data[tiff + 4:tiff + 8])[0]
    for k in range(struct.unpack(e + "H", data[ifd:ifd + 2])[0]):
        entry = ifd + 2 + 12 * k
        tag = struct.unpack(e + "H", data[entry:entry + 2])[0]
        if tag == 0x0112:
            data[entry + 8:entry + 10] = struct.pack(e + "H", orientation)
        else:  # a count far past the end of the block
            data[entry + 4:entry + 8] = struct.pack(e + "I", 0x00FFFFFF)
    return bytes(data)


def huge_16bit_png(width: int = 19000, height: int = 19000) -> bytes:
    """A mostly white 16-bit gray page with one dark bar: tiny on disk, huge decoded."""
    a = np.full((height, width), 60000, np.uint16)
    a[height // 2:height // 2 + 400, width // 10:width * 9 // 10] = 3000
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG", compress_level=9)
    return buf.getvalue()


def build(folder: str | os.PathLike, huge: bool = False) -> list[Path]:
    """Write the corpus into `folder` (created); returns the paths a folder run lists."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    line = Image.open(SAMPLES / "line.png").convert("RGB")
    png = _png_bytes(line)
    jpg = _encoded(line, "JPEG", quality=90)
    tif = _encoded(line, "TIFF")
    two_page = io.BytesIO()
    line.save(two_page, "TIFF", save_all=True, append_images=[line])
    rng = np.random.default_rng(0)
    files: dict[str, bytes] = {
        # good files in unusual forms
        "ok_line.png": png,
        "ok_line.jpg": jpg,
        "ok_line.tif": tif,
        "ok_line.bmp": _encoded(line, "BMP"),
        "ok_line.webp": _encoded(line, "WEBP", lossless=True),
        "ok_gray16.png": _png_bytes(Image.fromarray(
            np.asarray(line.convert("L"), np.uint16) * 257)),
        "ok_palette.gif": _encoded(line.convert("P"), "GIF"),
        "ok_cmyk.jpg": _encoded(line.convert("CMYK"), "JPEG"),
        "ok_rgba_transparent.png": _png_bytes(Image.new("RGBA", (64, 32), (0, 0, 0, 0))),
        "ok_one_pixel.png": _png_bytes(Image.new("RGB", (1, 1), "white")),
        "ok_thin_1x4000.png": _png_bytes(Image.new("L", (1, 4000), 255)),
        "ok_wide_4000x1.png": _png_bytes(Image.new("L", (4000, 1), 0)),
        "ok_noise.png": _png_bytes(Image.fromarray(
            rng.integers(0, 256, (200, 300, 3), dtype=np.uint8))),
        "ok_black.png": _png_bytes(Image.new("RGB", (300, 100), "black")),
        "ok_bilevel.tif": _encoded(line.convert("1"), "TIFF", compression="group4"),
        "ok_two_pages.tif": two_page.getvalue(),
        "ok_float.tif": _encoded(Image.fromarray(
            np.asarray(line.convert("L"), np.float32) / 255.0), "TIFF"),
        "ok_corrupt_exif.jpg": corrupt_exif_jpeg(),
        "ok_upper_case.PNG": png,
        # broken files
        "empty.png": b"",
        "one_byte.jpg": b"\xff",
        "truncated_half.png": png[: len(png) // 2],
        "truncated_header.png": png[:20],
        "truncated.jpg": jpg[: len(jpg) // 2],
        "truncated.tif": tif[: len(tif) // 3],
        "truncated.webp": files_webp_cut(line),
        "second_page_cut.tif": two_page.getvalue()[:-500],
        "bad_crc.png": png[:40] + bytes([png[40] ^ 0xFF]) + png[41:],
        "garbage.png": bytes(rng.integers(0, 256, 4096, dtype=np.uint8)),
        "png_magic_only.png": b"\x89PNG\r\n\x1a\n",
        "jpeg_magic_only.jpg": b"\xff\xd8\xff\xe0",
        "text_file.png": b"this is plain text, not an image\n",
        "html_page.jpg": b"<!DOCTYPE html><html><body>404 Not Found</body></html>",
        "zip_archive.png": b"PK\x03\x04" + b"\x00" * 100,
        "bomb_100000x100000.png": _png_header(100000, 100000),
        "zero_width.png": _png_header(0, 100),
        "lying_header.bmp": b"BM" + struct.pack("<IHHI", 999999, 0, 0, 54)
                            + struct.pack("<IiiHHIIiiII", 40, 30000, 30000, 1, 24, 0, 0,
                                          0, 0, 0, 0),
        # odd names (the contents are good, the name is the test)
        '"quoted" name.png': png,
        "name with spaces.png": png,
        "ünïcödé 名前.png": png,
        "bad\nnewline.png": png[: len(png) // 2],  # broken too: its error line must stay one
        "x" * 200 + ".png": png,
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    (root / os.fsdecode(b"latin1_\xe9t\xe9.png")).write_bytes(png)  # not UTF-8
    (root / os.fsdecode(b"bad_\xff.jpg")).write_bytes(jpg[:100])  # not UTF-8, and broken
    _link(root / "loop.png", "loop.png")  # a link to itself
    _link(root / "dangling.png", "does_not_exist.png")
    _link(root / "link_to_ok.png", "ok_line.png")
    (root / "folder.png").mkdir(exist_ok=True)  # a folder with an image's name: not listed
    if huge:
        (root / "huge_19000x19000_16bit.png").write_bytes(huge_16bit_png())
        (root / "huge_19000x19000_rgb.png").write_bytes(huge_rgb_png())
    return sorted(p for p in root.iterdir() if not p.is_dir() or p.is_symlink())


def files_webp_cut(im: Image.Image) -> bytes:
    data = _encoded(im, "WEBP", quality=80)
    return data[: len(data) // 2]


def _link(path: Path, target: str) -> None:
    if path.is_symlink():
        path.unlink()
    path.symlink_to(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--huge", action="store_true",
                        help="add a 19000 x 19000 16-bit PNG (slow to make)")
    args = parser.parse_args(argv)
    paths = build(args.folder, huge=args.huge)
    print(f"{len(paths)} files in {args.folder}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
