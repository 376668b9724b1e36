"""Image input: every supported kind loads as upright uint8 RGB; every bad input is one line."""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocrtool import imageio, pixels
from ocrtool.imageio import (
    IMAGE_EXTENSIONS,
    ImageError,
    array_to_rgb,
    iter_image_files,
    iter_pages,
    load_image,
    load_pages,
)


def _noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _png_bytes_with_header(width: int, height: int) -> bytes:
    """A PNG whose header claims any size, with almost no data: a cheap decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


def _assert_rgb(a: np.ndarray, h: int, w: int) -> None:
    assert a.dtype == np.uint8 and a.shape == (h, w, 3) and a.flags.c_contiguous


# --- formats that load ---------------------------------------------------------------


@pytest.mark.parametrize("ext,fmt", [(".png", "PNG"), (".bmp", "BMP"), (".tif", "TIFF"),
                                     (".webp", "WEBP")])
def test_lossless_formats_round_trip_exactly(tmp_path: Path, ext: str, fmt: str) -> None:
    arr = _noise(17, 23)
    path = tmp_path / f"x{ext}"
    save_kwargs = {"lossless": True} if fmt == "WEBP" else {}
    Image.fromarray(arr).save(path, fmt, **save_kwargs)
    out = load_image(path)
    _assert_rgb(out, 17, 23)
    assert np.array_equal(out, arr)
    assert np.array_equal(load_image(str(path)), arr)


def test_jpeg_exif_orientation_6_is_rotated(tmp_path: Path) -> None:
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20] = 255  # left half white: after a 90-degree clockwise turn it is on top
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rot.jpg"
    Image.fromarray(arr).save(path, "JPEG", exif=exif.tobytes(), quality=95)
    out = load_image(path)
    _assert_rgb(out, 40, 20)
    assert out[:20].mean() > 200 and out[20:].mean() < 50


def test_16bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    arr = np.array([[0, 257 * 128, 65535, 1000]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(arr).save(path)
    out = load_image(path)
    _assert_rgb(out, 1, 4)
    assert out[0, :, 0].tolist() == [0, 128, 255, 4]


def test_rgba_is_composited_on_white(tmp_path: Path) -> None:
    rgba = np.array([[[255, 0, 0, 255], [0, 0, 0, 0], [0, 0, 0, 128]]], dtype=np.uint8)
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path)
    out = load_image(path)
    assert out[0].tolist() == [[255, 0, 0], [255, 255, 255], [127, 127, 127]]


def test_grayscale_and_bilevel(tmp_path: Path) -> None:
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    Image.fromarray(gray, "L").save(tmp_path / "g.png")
    out = load_image(tmp_path / "g.png")
    _assert_rgb(out, 3, 4)
    assert np.array_equal(out[:, :, 0], gray) and np.array_equal(out[:, :, 2], gray)
    Image.fromarray(gray > 100).convert("1").save(tmp_path / "b.png")
    assert set(np.unique(load_image(tmp_path / "b.png")).tolist()) <= {0, 255}


def test_palette_with_transparency(tmp_path: Path) -> None:
    im = Image.new("P", (4, 2), 0)
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    im.putpixel((1, 0), 1)
    im.info["transparency"] = 0
    im.save(tmp_path / "p.png", transparency=0)
    out = load_image(tmp_path / "p.png")
    assert out[0, 0].tolist() == [255, 255, 255]  # transparent red -> white
    assert out[0, 1].tolist() == [0, 0, 255]


def test_cmyk_jpeg(tmp_path: Path) -> None:
    im = Image.new("CMYK", (10, 6), (0, 0, 0, 0))  # no ink = white paper
    im.paste((0, 0, 0, 255), (0, 0, 5, 6))  # full black ink on the left half
    im.save(tmp_path / "c.jpg", "JPEG", quality=95)
    out = load_image(tmp_path / "c.jpg")
    _assert_rgb(out, 6, 10)
    assert out[:, 7:].mean() > 230 and out[:, :3].mean() < 30


def test_multipage_tiff(tmp_path: Path) -> None:
    pages = [Image.fromarray(_noise(10 + i, 12, seed=i)) for i in range(3)]
    path = tmp_path / "doc.tiff"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    out = load_pages(path)
    assert [p.shape for p in out] == [(10, 12, 3), (11, 12, 3), (12, 12, 3)]
    assert np.array_equal(load_image(path), out[0])
    assert np.array_equal(load_image(path, page=2), out[2])
    with pytest.raises(ImageError, match="page 3 does not exist"):
        load_image(path, page=3)


def _tiff_bytes(pages: list[np.ndarray]) -> bytes:
    buf = io.BytesIO()
    ims = [Image.fromarray(p) for p in pages]
    ims[0].save(buf, format="TIFF", save_all=True, append_images=ims[1:])
    return buf.getvalue()


def test_iter_pages_numbers_and_counts(tmp_path: Path) -> None:
    pages = [_noise(10 + i, 12, seed=i) for i in range(3)]
    path = tmp_path / "doc.tif"
    path.write_bytes(_tiff_bytes(pages))
    out = list(iter_pages(path))
    assert [(n, count) for n, count, _ in out] == [(1, 3), (2, 3), (3, 3)]
    assert all(np.array_equal(rgb, p) for (_, _, rgb), p in zip(out, pages))
    assert [(n, c) for n, c, _ in iter_pages(pages[0])] == [(1, 1)]  # numpy: one page


def test_corrupt_page_of_a_tiff_names_the_page() -> None:
    data = _tiff_bytes([_noise(40, 40, seed=i) for i in range(2)])
    pages = iter_pages(data[:-100])  # the second page's pixels are cut short
    number, _, _ = next(pages)  # the first page is still fine
    assert number == 1
    with pytest.raises(ImageError, match=r"^page 2 of 2: corrupt or truncated image"):
        next(pages)


def test_broken_page_table_is_an_image_error() -> None:
    """A file cut inside a later page's directory: PIL raises TypeError counting pages."""
    big = [_noise(200, 200, seed=i) for i in range(3)]
    data = _tiff_bytes(big)
    with Image.open(io.BytesIO(data)) as im:
        im.seek(2)
        cut = im.tile[0].offset - 50  # inside page 3's tags, before its pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no PIL warning leaks to the user's stderr
        for load in (load_pages, load_image):
            with pytest.raises(ImageError, match="cannot count its pages"):
                load(data[:cut])


def test_gif_first_frame_only(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 255, 255), (0, 0, 0))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    out = load_image(path)
    _assert_rgb(out, 8, 8)
    assert out.min() == 255
    assert len(load_pages(path)) == 1  # animation frames are not document pages


# --- in-memory inputs ----------------------------------------------------------------


def test_bytes_pil_and_numpy_inputs() -> None:
    arr = _noise(9, 7)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    assert np.array_equal(load_image(buf.getvalue()), arr)
    assert np.array_equal(load_image(bytearray(buf.getvalue())), arr)
    assert np.array_equal(load_image(Image.fromarray(arr)), arr)
    assert np.array_equal(load_image(Image.open(io.BytesIO(buf.getvalue()))), arr)
    out = load_image(arr)
    assert np.array_equal(out, arr) and out is not arr
    assert load_pages(arr)[0].shape == (9, 7, 3)


@pytest.mark.parametrize("array,expected", [
    (np.full((2, 3), 7, np.uint8), 7),
    (np.full((2, 3, 1), 7, np.uint8), 7),
    (np.full((2, 3), 65535, np.uint16), 255),
    (np.full((2, 3, 3), 0.5, np.float32), 128),
    (np.ones((2, 3), bool), 255),
    (np.dstack([np.zeros((2, 3, 3), np.uint8), np.zeros((2, 3), np.uint8)]), 255),
])
def test_numpy_dtypes_and_shapes(array: np.ndarray, expected: int) -> None:
    out = array_to_rgb(array)
    _assert_rgb(out, 2, 3)
    assert (out == expected).all()


# --- bad inputs: ImageError with a single line ---------------------------------------


def _error_of(source: object, **kw: object) -> str:
    with pytest.raises(ImageError) as info:
        load_image(source, **kw)  # type: ignore[arg-type]
    message = str(info.value)
    assert message and "\n" not in message
    return message


def test_missing_directory_and_zero_byte(tmp_path: Path) -> None:
    assert "not found" in _error_of(tmp_path / "nope.png")
    assert "directory" in _error_of(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    assert "0 bytes" in _error_of(tmp_path / "empty.png")
    assert "0 bytes" in _error_of(b"")


def test_non_image_and_pdf(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("this is not\na picture\n")
    msg = _error_of(path)
    assert "not an image" in msg and str(path) in msg
    (tmp_path / "doc.pdf").write_bytes(b"%PDF-1.4\n%stuff\n")
    assert "PDF" in _error_of(tmp_path / "doc.pdf")
    assert "unsupported input type" in _error_of(12345)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_files_are_refused(tmp_path: Path, fmt: str) -> None:
    buf = io.BytesIO()
    Image.fromarray(_noise(64, 64)).save(buf, fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    msg = _error_of(path)
    assert "truncated" in msg or "corrupt" in msg


def test_empty_images() -> None:
    assert "no pixels" in _error_of(np.zeros((0, 5, 3), np.uint8))
    msg = _error_of(_png_bytes_with_header(0, 10))
    assert "no pixels" in msg or "corrupt" in msg or "not an image" in msg


def test_bad_array_shape() -> None:
    assert "shape" in _error_of(np.zeros((4, 4, 2), np.uint8))
    assert "shape" in _error_of(np.zeros((4,), np.uint8))


def test_too_large_with_small_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pixels, "MAX_PIXELS", 50 * 50)  # the one source of the limit
    Image.fromarray(_noise(60, 60)).save(tmp_path / "big.png")
    assert "too large" in _error_of(tmp_path / "big.png")
    assert "too large" in _error_of(_noise(60, 60))
    assert load_image(_noise(40, 40)).shape == (40, 40, 3)


def test_decompression_bomb_gets_our_message() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no PIL warning may escape either
        assert "too large" in _error_of(_png_bytes_with_header(30000, 30000))  # > 2x limit
        assert "too large" in _error_of(_png_bytes_with_header(21000, 21000))  # warning zone


def test_pil_limit_allows_a_10000px_scan() -> None:
    """A 10000 x 10000 header opens without PIL's bomb warning (only the header is read)."""
    assert Image.MAX_IMAGE_PIXELS >= 10000 * 10000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with imageio._open(_png_bytes_with_header(10000, 10000)) as im:
            assert im.size == (10000, 10000)


# --- folder expansion ----------------------------------------------------------------


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    for rel in ["b.JPG", "a.png", "notes.txt", "sub/c.png", "sub/deeper/d.tif",
                ".hidden/e.png", "sub/.f.png"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    return root


def test_iter_image_files_flat_and_recursive(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    flat = iter_image_files([root], recursive=False)
    assert [(f.relative_to(root).as_posix(), r) for f, r in flat] == [("a.png", root),
                                                                       ("b.JPG", root)]
    deep = iter_image_files([root], recursive=True)
    assert [f.relative_to(root).as_posix() for f, _ in deep] == [
        "a.png", "b.JPG", "sub/c.png", "sub/deeper/d.tif"]
    assert all(r == root for _, r in deep)


def test_iter_image_files_extension_filter_and_explicit_files(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    only_png = iter_image_files([root], recursive=True, extensions=["PNG"])
    assert [f.name for f, _ in only_png] == ["a.png", "c.png"]
    assert iter_image_files([root], True, [".tif"])[0][0].name == "d.tif"
    explicit = [root / "notes.txt", root / "missing.png", root / "a.png"]
    out = iter_image_files([*explicit, root], recursive=False)
    assert [f for f, _ in out] == [*explicit, root / "b.JPG"]  # a.png listed once
    assert out[0][1] == root
    assert ".png" in IMAGE_EXTENSIONS and ".tiff" in IMAGE_EXTENSIONS


# --- issue 14: memory of 16-bit images, corrupt EXIF, links, unexaminable names ----------


def _make_bad_inputs():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "bench" / "make_bad_inputs.py"
    spec = importlib.util.spec_from_file_location("make_bad_inputs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_16bit_png_decodes_with_bounded_memory(tmp_path: Path) -> None:
    """A 19000 x 19000 16-bit PNG took 5 GB: whole-image uint16/uint32 copies. Now the only
    full-size arrays are the 8-bit gray and the RGB result (numpy memory, by tracemalloc)."""
    import tracemalloc

    a = np.full((2000, 3000), 50000, np.uint16)
    a[900:1100, 300:2700] = np.arange(2400, dtype=np.uint16) * 27
    path = tmp_path / "g16.png"
    Image.fromarray(a).save(path)
    tracemalloc.start()
    try:
        rgb = load_image(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    expected = ((a.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    assert np.array_equal(rgb[:, :, 0], expected) and np.array_equal(rgb[:, :, 2], expected)
    assert peak < 1.5 * rgb.nbytes, f"peak {peak / 1e6:.0f} MB, image {rgb.nbytes / 1e6:.0f} MB"


@pytest.mark.parametrize("mode,dtype,scale", [("F", np.float32, 1 / 255), ("I", np.int32, 257)])
def test_wide_modes_map_by_the_whole_image_range(tmp_path: Path, mode, dtype, scale) -> None:
    """Converted a band at a time, but scaled by the whole image's range (a band that is all
    white must not be stretched on its own)."""
    a = np.full((1500, 800), 255, np.float64)
    a[1400:] = np.linspace(0, 255, 800)  # the dark values are only in the last band
    Image.fromarray((a * scale).astype(dtype), mode).save(tmp_path / "w.tif")
    rgb = load_image(tmp_path / "w.tif")
    assert (rgb[:1400] == 255).all()
    assert np.abs(rgb[1400:, :, 0].astype(int) - np.rint(a[1400:]).astype(int)).max() <= 1


@pytest.mark.parametrize("orientation,size", [(77, (900, 600)), (6, (600, 900))])
def test_corrupt_exif_is_one_warning(tmp_path: Path, orientation: int, size) -> None:
    """Pillow printed four warnings for this file; now one ImageWarning, and an orientation
    that is not 1-8 is ignored (a valid one is still applied)."""
    path = tmp_path / "exif.jpg"
    path.write_bytes(_make_bad_inputs().corrupt_exif_jpeg(orientation))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rgb = load_image(path)
    assert [w.category for w in caught] == [imageio.ImageWarning]
    assert "corrupt metadata" in str(caught[0].message) and "exif.jpg" in str(caught[0].message)
    assert (rgb.shape[1], rgb.shape[0]) == size


def test_clean_image_gives_no_warning_and_no_copy_for_exif(tmp_path: Path) -> None:
    Image.fromarray(_noise(40, 60)).save(tmp_path / "a.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _assert_rgb(load_image(tmp_path / "a.png"), 40, 60)


def test_links_and_unexaminable_names_get_their_own_message(tmp_path: Path) -> None:
    (tmp_path / "loop.png").symlink_to("loop.png")
    (tmp_path / "gone.png").symlink_to("missing.png")
    with pytest.raises(ImageError, match="symbolic link loop"):
        load_image(tmp_path / "loop.png")
    with pytest.raises(ImageError, match=r"broken symbolic link \(to missing.png\)"):
        load_image(tmp_path / "gone.png")
    too_long = tmp_path / ("x" * 300 + ".png")
    with pytest.raises(ImageError, match="File name too long"):
        load_image(too_long)
    # listing does not fail on it either: it is kept, to be reported when read
    assert iter_image_files([too_long]) == [(too_long, tmp_path)]


def test_folder_listing_skips_annotated_pictures_and_keeps_links(tmp_path: Path) -> None:
    Image.fromarray(_noise(8, 8)).save(tmp_path / "a.png")
    Image.fromarray(_noise(8, 8)).save(tmp_path / "a.annotated.png")
    (tmp_path / "loop.png").symlink_to("loop.png")
    listed = [f.name for f, _ in iter_image_files([tmp_path], skip_suffixes=(".annotated.png",))]
    assert listed == ["a.png", "loop.png"]
    # named explicitly, an annotated picture is still read
    named = iter_image_files([tmp_path / "a.annotated.png"], skip_suffixes=(".annotated.png",))
    assert [f.name for f, _ in named] == ["a.annotated.png"]
