"""One place that turns whatever a user hands us into a uint8 RGB numpy array.

Everything downstream (detector, recognizer, annotation) assumes (H, W, 3) uint8 RGB in the
image's upright orientation, so every quirk of real files is settled here: EXIF rotation,
alpha, 16-bit, palettes, CMYK, multi-page TIFF. Every failure becomes an `ImageError` with
a one-line message, so a folder run can report a bad file and carry on without a traceback.

Only numpy, Pillow and OpenCV are used, so the torch-free install can read images.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Union

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from .pixels import (  # noqa: F401  (ImageError, array_to_rgb: also imported from imageio)
    MAX_PIXELS,
    ImageError,
    _one_line,
    array_to_rgb,
    check_size,
    composite_on_white,
    gray_to_rgb,
    reduced,
    reduction,
    to_uint8,
)

# A multi-page TIFF with more pages than this is refused rather than filling memory.
MAX_PAGES = 1000

# Pillow warns above its own limit (89 Mpx) and raises above twice that. Align it with ours
# so a 10000 x 10000 scan loads silently; anything PIL still flags is turned into our own
# "too large" message in `_open` (warnings are escalated there), never a PIL warning.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

IMAGE_EXTENSIONS: tuple[str, ...] = (
    ".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".dib", ".tif", ".tiff",
    ".webp", ".gif", ".pbm", ".pgm", ".ppm", ".pnm", ".pdf",
)

# Formats whose extra frames are an animation, not further pages: only frame 0 is read.
_ANIMATED_FORMATS = {"GIF", "WEBP", "PNG", "FLI", "MPO"}

ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, Image.Image, np.ndarray]


def _name(source: object) -> str:
    """How to name the input in an error message."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return f"<{type(source).__name__}>"


def load_image(source: ImageSource, page: int = 0,
               max_pixels: int | None = None) -> np.ndarray:
    """Load one image (page `page` of a multi-page TIFF) as uint8 RGB of shape (H, W, 3).

    `source` may be a path, the encoded bytes of a file, a PIL image or a numpy array
    (gray, RGB or RGBA; uint8, uint16, bool or float; arrays are taken as RGB, not BGR).
    A PIL image is used at its current frame (`page` applies to paths and bytes).
    `max_pixels`: a file page above it is decoded smaller by a whole factor, as a
    `pixels.ReducedImage` that knows the file's size (the Reader passes WORK_PIXELS).
    Raises ImageError with a one-line message for anything that is not a usable image.
    """
    if isinstance(source, np.ndarray):
        if page != 0:
            raise ImageError(f"a numpy array has only page 0, not page {page}")
        return array_to_rgb(source)
    if isinstance(source, Image.Image):
        return _frame_to_rgb(source, _name(source))
    from .pdf import is_pdf, iter_pdf_pages

    if is_pdf(source):  # page `page` (from 0) rendered at the default resolution
        if page < 0:
            raise ImageError(f"page {page} does not exist: {_name(source)}")
        return next(iter_pdf_pages(source, [page + 1]))[2]
    name = _name(source)
    with _open(source) as im:
        n_frames = _page_count(im, name)
        if page < 0 or page >= n_frames:
            raise ImageError(f"page {page} does not exist ({n_frames} page(s)): {name}")
        if page:
            _seek(im, page, name)
        return _frame_to_rgb(im, name, release=True, max_pixels=max_pixels)


def load_pages(source: ImageSource) -> list[np.ndarray]:
    """Load every page of a multi-page TIFF (one-element list for other images).

    Frames of an animation (GIF, WebP, APNG) are not pages of a document, so only the
    first frame of those is returned. `iter_pages` gives the same pages one at a time.
    """
    return [rgb for _, _, rgb in iter_pages(source)]


def iter_pages(source: ImageSource, pages: str | Iterable[int] | None = None,
               dpi: float = 300, max_pixels: int | None = None,
               ) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield (page number from 1, page count, RGB) for each page, in order.

    One page is decoded at a time, so a long multi-page scan is never in memory whole
    (the Reader reads page 1 while page 2 is still on disk). Pages follow `load_pages`:
    every page of a TIFF or a PDF, one for anything else. A page that cannot be decoded
    raises ImageError naming it ("page 2 of 3: ...") after the earlier pages were yielded.
    `pages` ("1-3,7", or page numbers) keeps only those pages of a TIFF or PDF; `dpi` is
    the resolution PDF pages are rendered at (ocrtool.pdf does that); `max_pixels` is
    `load_image`'s, for image files.
    """
    if isinstance(source, (np.ndarray, Image.Image)):
        yield 1, 1, load_image(source)
        return
    from .pdf import is_pdf, iter_pdf_pages, select_pages

    if is_pdf(source):
        yield from iter_pdf_pages(source, pages, dpi)
        return
    name = _name(source)
    with _open(source) as im:
        count = 1 if im.format in _ANIMATED_FORMATS else _page_count(im, name)
        if count > MAX_PAGES:
            raise ImageError(f"too many pages ({count} > {MAX_PAGES}): {name}")
        for number in select_pages(pages, count, name):
            yield number, count, _page_to_rgb(im, number - 1, count, name, max_pixels)


def _page_to_rgb(im: Image.Image, index: int, count: int, name: str,
                 max_pixels: int | None = None) -> np.ndarray:
    if count == 1:  # messages of single images stay as they were
        return _frame_to_rgb(im, name, release=True, max_pixels=max_pixels)
    where = f"page {index + 1} of {count}"
    _seek(im, index, name, where)
    try:
        return _frame_to_rgb(im, name, max_pixels=max_pixels)
    except ImageError as e:
        raise ImageError(f"{where}: {e}") from None


def _page_count(im: Image.Image, name: str) -> int:
    """Number of frames; a TIFF counts them by walking its page table, which may be broken."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PIL warns (to stderr) before it raises
            return int(getattr(im, "n_frames", 1))
    except Exception as exc:  # a cut page table raises TypeError, EOFError, struct.error...
        raise ImageError(f"corrupt image, cannot count its pages ({_one_line(exc)}): "
                         f"{name}") from None


def _seek(im: Image.Image, index: int, name: str, where: str | None = None) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im.seek(index)
    except Exception as exc:  # a broken page table raises anything from EOFError to struct.error
        raise ImageError(f"corrupt image, cannot read {where or f'page {index}'} "
                         f"({_one_line(exc)}): {name}") from None


def _check_file(path: Path, name: str) -> None:
    """A regular, non-empty file, or an ImageError that says what it is instead: one
    stat() call, so a symlink loop is named as a loop and a name too long for the file
    system is a message, not an OSError escaping from exists()."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImageError(f"symbolic link loop: {name}") from None
        if exc.errno == errno.ENOENT and os.path.islink(path):
            raise ImageError(f"broken symbolic link (to {os.readlink(path)}): {name}") from None
        if exc.errno == errno.ENOENT:
            raise ImageError(f"file not found: {name}") from None
        raise ImageError(f"cannot open ({exc.strerror or exc}): {name}") from None
    if stat.S_ISDIR(st.st_mode):
        try:
            os.listdir(path)
        except OSError as exc:
            raise ImageError(f"folder cannot be listed ({exc.strerror}): {name}") from None
        raise ImageError(f"is a directory, not an image: {name}")
    if not stat.S_ISREG(st.st_mode):
        raise ImageError(f"not a regular file: {name}")
    if st.st_size == 0:
        raise ImageError(f"empty file (0 bytes): {name}")


def _open(source: ImageSource) -> Image.Image:
    """Open lazily (header only) with our own checks and messages; the caller closes it."""
    name = _name(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        _check_file(path, name)
        fp: object = path
        try:
            with open(path, "rb") as f:
                head = f.read(16)
        except OSError as exc:
            raise ImageError(f"cannot open ({exc.strerror or exc}): {name}") from None
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise ImageError("empty input (0 bytes)")
        fp = io.BytesIO(data)
        head = data[:16]
    else:
        raise ImageError(f"unsupported input type {type(source).__name__}: expected a path, "
                         "bytes, a PIL image or a numpy array")
    if head.startswith(b"%PDF"):
        raise ImageError(f"PDF input is not supported, convert its pages to images: {name}")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(fp)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"image too large (more than {MAX_PIXELS} pixels), refused as a "
                         f"possible decompression bomb: {name}") from None
    except UnidentifiedImageError:
        raise ImageError(f"not an image, or an unsupported image format: {name}") from None
    except PermissionError:
        raise ImageError(f"permission denied: {name}") from None
    except Exception as exc:  # PIL plugins raise many types on malformed headers
        raise ImageError(f"corrupt image ({_one_line(exc)}): {name}") from None
    if caught:  # Pillow warns about bad metadata (EXIF) while opening: `_upright` says it
        im.info[_OPEN_WARNING] = _one_line(caught[0].message)
    return im


def _frame_to_rgb(im: Image.Image, name: str, release: bool = False,
                  max_pixels: int | None = None) -> np.ndarray:
    """Fully decode the current frame, turn it upright and convert it to uint8 RGB.

    `release`: the caller needs no other frame of `im`, so a 16-bit image's decoded
    pixels may be freed as soon as its 8-bit copy exists (see `_wide_to_gray8`).
    A frame above `max_pixels` comes back smaller (see `load_image`): reduced while
    converting, so no full-size 8-bit or RGB copy is ever made.
    """
    check_size(im.width, im.height, name)
    factor = reduction(im.width, im.height, max_pixels)
    if factor > 1:
        small = _decode_smaller(im, factor, name)
        if small is not None:
            return small
    try:
        # load() decodes every byte: a truncated file fails here, not later in the model.
        im.load()
    except Exception as exc:  # truncated/corrupt data surfaces as OSError, SyntaxError, ...
        raise ImageError(f"corrupt or truncated image ({_one_line(exc)}): {name}") from None
    upright = _upright(im, name)
    full_size = upright.size
    factor = reduction(*full_size, max_pixels)
    if upright.mode in _WIDE_MODES:
        gray = _wide_to_gray8(upright, factor)
        if release or upright is not im:
            upright.close()  # frees the wide pixels before the RGB copy is made
        return reduced(gray_to_rgb(gray), full_size)
    if factor > 1:
        small = _reduce(upright, factor, name)
        if release or upright is not im:
            upright.close()
        upright = small
    return reduced(_pil_to_rgb(upright, name), full_size)


def _decode_smaller(im: Image.Image, factor: int, name: str) -> np.ndarray | None:
    """A page above the working size decoded straight to a smaller array, so that no
    full-size copy at Pillow's 4 bytes a pixel exists (a 19000 x 19000 RGB PNG took 1.44
    GB that way). None where this does not apply: the caller decodes in full and reduces.

    A JPEG is decoded by libjpeg at 1/2, 1/4 or 1/8 of its size (Pillow's `draft`), in
    colour. An 8-bit PNG without alpha is decoded by libpng straight to gray, one byte a
    pixel, then shrunk: at this size a page is a scan, and the models read it as well
    in gray (colour is only kept below WORK_PIXELS).
    """
    full = im.size
    if im.format == "JPEG" and im.mode in ("RGB", "L"):
        try:
            im.draft(im.mode, (-(-full[0] // factor), -(-full[1] // factor)))
            im.load()
        except Exception as exc:
            raise ImageError(f"corrupt or truncated image ({_one_line(exc)}): {name}") from None
        upright = _upright(im, name)
        full_size = full[::-1] if upright.size != im.size else full  # turned a quarter
        rest = reduction(*upright.size, -(-full[0] // factor) * -(-full[1] // factor))
        if rest > 1:
            upright = _reduce(upright, rest, name)
        return reduced(_pil_to_rgb(upright, name), full_size)
    if (im.format != "PNG" or im.mode not in ("RGB", "L", "P", "1") or _has_alpha(im)
            or getattr(im, "n_frames", 1) != 1 or im.fp is None):
        return None
    # Pillow decodes a whole PNG to look for an EXIF block after the pixels; one before
    # them is already in `info`, and is the only one read here
    orientation = _orientation(im, name) if "exif" in im.info else 1
    try:
        im.fp.seek(0)
        data = np.frombuffer(im.fp.read(), np.uint8)
    except (OSError, ValueError):
        return None
    gray = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION)
    del data
    if gray is None or (gray.shape[1], gray.shape[0]) != full:
        return None  # let Pillow decode it and say what is wrong
    small = cv2.resize(gray, (-(-full[0] // factor), -(-full[1] // factor)),
                       interpolation=cv2.INTER_AREA)
    del gray
    page = Image.fromarray(small)
    if orientation != 1:
        page = page.transpose(_ORIENTATION[orientation])
    full_size = full[::-1] if orientation in _QUARTER_TURNS else full
    return reduced(gray_to_rgb(np.asarray(page)), full_size)


def _reduce(im: Image.Image, factor: int, name: str) -> Image.Image:
    """`im` shrunk by a whole `factor` (box filter); modes Pillow cannot reduce (palette,
    1-bit) are converted first."""
    try:
        if im.mode not in ("L", "LA", "RGB", "RGBA", "CMYK", "I", "F"):
            im = im.convert("RGBA" if _has_alpha(im) else "RGB")
        return im.reduce(factor)
    except Exception as exc:
        raise ImageError(f"unsupported image mode {im.mode} ({_one_line(exc)}): "
                         f"{name}") from None


_OPEN_WARNING = "ocrtool_open_warning"  # key in im.info: Pillow's first warning at open


class ImageWarning(UserWarning):
    """Something odd in a file that was read anyway (e.g. a corrupt EXIF block)."""


# EXIF orientation -> the transpose that makes the image upright (as ImageOps.exif_transpose)
_ORIENTATION = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                8: Image.Transpose.ROTATE_90}
_QUARTER_TURNS = (5, 6, 7, 8)  # the orientations that swap width and height


def _upright(im: Image.Image, name: str) -> Image.Image:
    """`im` turned by its EXIF orientation; `im` itself (no copy) when none is needed.

    The EXIF block is parsed once with Pillow's warnings caught: a corrupt block gives
    at most one ImageWarning (Pillow printed four), and an orientation that is not a
    valid value (1-8) is ignored, keeping the pixels as stored. ImageOps.exif_transpose
    is not used: it parses EXIF again and copies the whole image when nothing turns.
    """
    orientation = _orientation(im, name)
    if orientation == 1:
        return im
    return im.transpose(_ORIENTATION[orientation])


def _orientation(im: Image.Image, name: str) -> int:
    """The EXIF orientation of `im` (1-8; 1 when absent or invalid, with one warning)."""
    problem = im.info.pop(_OPEN_WARNING, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            orientation = im.getexif().get(0x0112, 1)
        except Exception as exc:  # a broken block raises anything from struct.error on
            orientation, problem = 1, _one_line(exc)
    if caught and problem is None:
        problem = _one_line(caught[0].message)
    if orientation not in range(1, 9):
        problem = problem or f"invalid orientation {_one_line(orientation)[:20]}"
        orientation = 1
    if problem:
        how = "orientation ignored" if orientation == 1 else f"orientation {orientation} used"
        warnings.warn(f"corrupt metadata ({problem}), {how}: {name}", ImageWarning,
                      stacklevel=3)
    return orientation


_WIDE_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")


def _wide_to_gray8(im: Image.Image, factor: int = 1) -> np.ndarray:
    """A 16-bit, 32-bit or float gray image as uint8, converted a band of rows at a time
    (and shrunk by a whole `factor`, box filter, band by band).

    Converting the whole image at once made several full-size wide copies (5 GB for a
    19000 x 19000 16-bit PNG); here the only full-size array is the 8-bit result (none
    when `factor` > 1). The mapping is `to_uint8`'s, with the value range taken from the
    whole image.
    """
    width, height = im.size
    extrema = im.getextrema()
    out_w = -(-width // factor)
    out = np.empty((-(-height // factor), out_w), np.uint8)
    # bands of about a million pixels, a whole number of `factor` rows
    rows = factor * max(1, (1 << 20) // max(width * factor, 1))
    for y in range(0, height, rows):
        band = to_uint8(np.asarray(im.crop((0, y, width, min(y + rows, height)))), extrema)
        if factor > 1:
            band = cv2.resize(band, (out_w, -(-band.shape[0] // factor)),
                              interpolation=cv2.INTER_AREA)
        out[y // factor:y // factor + band.shape[0]] = band
    return out


def _pil_to_rgb(im: Image.Image, name: str) -> np.ndarray:
    mode = im.mode
    try:
        if mode in _WIDE_MODES:
            return gray_to_rgb(_wide_to_gray8(im))
        if mode == "RGB":
            return np.asarray(im, dtype=np.uint8).copy()
        if mode == "L":
            return gray_to_rgb(np.asarray(im, dtype=np.uint8))
        if mode == "1":
            return gray_to_rgb(np.asarray(im.convert("L"), dtype=np.uint8))
        if _has_alpha(im):
            return composite_on_white(np.asarray(im.convert("RGBA"), dtype=np.uint8))
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()  # P, CMYK, YCbCr, LAB...
    except ImageError:
        raise
    except Exception as exc:  # an exotic mode PIL cannot convert
        raise ImageError(f"unsupported image mode {mode} ({_one_line(exc)}): {name}") from None


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info


def _normalise_extensions(extensions: Iterable[str] | None) -> tuple[str, ...]:
    if extensions is None:
        return IMAGE_EXTENSIONS
    exts = []
    for ext in extensions:
        ext = ext.strip().lower()
        if ext:
            exts.append(ext if ext.startswith(".") else "." + ext)
    return tuple(exts)


def iter_image_files(paths: Iterable[str | os.PathLike], recursive: bool = False,
                     extensions: Iterable[str] | None = None,
                     skip_suffixes: tuple[str, ...] = ()) -> list[tuple[Path, Path]]:
    """Expand the CLI's PATH arguments into (file, root) pairs, in a stable order.

    A folder yields its image files (by extension, case-insensitive; hidden files and
    folders skipped, and files ending in one of `skip_suffixes`, e.g. our own annotated
    pictures), sorted, with the folder as root so outputs can mirror the tree. A folder
    that cannot be listed is kept as an entry of its own, so it is reported, not skipped.
    A path that is not a folder is kept as given with its parent as root, even when it
    does not exist, cannot be examined or has an unknown extension: the user named it,
    so it gets a result or an error rather than silently vanishing (or ending the run).
    A file named twice is listed once.
    """
    exts = _normalise_extensions(extensions)
    skip = tuple(s.lower() for s in skip_suffixes)
    out: list[tuple[Path, Path]] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if _is_dir(path):
            pairs = [(f, path) for f in _files_in_dir(path, recursive, exts)
                     if not (skip and f.name.lower().endswith(skip))]
        else:
            pairs = [(path, path.parent)]
        for file, root in pairs:
            key = Path(os.path.abspath(file))
            if key not in seen:
                seen.add(key)
                out.append((file, root))
    return out


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # e.g. a name too long: it is reported when it is read
        return False


def _files_in_dir(folder: Path, recursive: bool, exts: tuple[str, ...]) -> list[Path]:
    found: list[Path] = []

    def unlistable(exc: OSError) -> None:  # reading the folder as an image says why
        found.append(Path(exc.filename) if exc.filename else folder)

    # os.walk does not follow symlinked folders, so a link loop cannot hang a run.
    for dirpath, dirnames, filenames in os.walk(folder, onerror=unlistable):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")] if recursive else []
        for fname in filenames:
            if not fname.startswith(".") and fname.lower().endswith(exts):
                found.append(Path(dirpath) / fname)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())
