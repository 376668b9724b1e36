"""Font discovery: the faces installed by the README's `apt-get install fonts-...` line.

Each font's character map is read once (fontTools) so text is only drawn with glyphs the
face really has: characters a font lacks are dropped from that sample, never drawn as tofu.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

FONT_DIRS = ["/usr/share/fonts", "/usr/local/share/fonts", os.path.expanduser("~/.fonts")]
# Small caps draw lower case as capitals: the label would not match what is seen.
SKIP = (
    "Smallcaps",
    "SmallCaps",
    "Math",
    "_K.",
    "_K",
    "Keyboard",
    "Symbol",
    "Dingbat",
    "Z003",
    "D050000L",
    "Noto",
    "Droid",
    "Emoji",
    "OCRB",
)
# Hangul faces: handwriting scripts are left out (not what documents, signs and screens
# use); Noto CJK comes from its collections (.ttc), Korean face only.
HANGUL_SKIP = ("Brush", "NanumPen", "UnPen", "UnPilgia", "UnTaza", "UnYetgul", "YetHangul")
# Families kept out of Korean training: the held-out-font dev lines are drawn with them.
HANGUL_HELD_OUT = ("Baekmuk", "UnGraphic", "NanumSquareRound")
SCRIPTS = ("latin", "hangul")
MONO_HINTS = ("Mono", "Courier", "Code", "Hack", "Inconsolata", "Anonymous", "Nimbus Mono")


@dataclass(frozen=True)
class Font:
    path: str
    name: str
    chars: frozenset[str]
    index: int = 0  # face number inside a font collection (.ttc)

    @property
    def monospace(self) -> bool:
        return any(h.lower() in self.name.lower() for h in MONO_HINTS)


CACHE_FILE = Path(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))) / (
    "ocrtool/font_cmaps.json"
)


def _read_cmap(path: Path, index: int = 0) -> frozenset[str]:
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True, fontNumber=index) as tt:
        cmap = tt.getBestCmap() or {}
    return frozenset(chr(c) for c in cmap if not 0xD800 <= c <= 0xDFFF)  # no surrogates


def _korean_faces(path: Path) -> list[tuple[int, str]]:
    """(index, name) of the Korean faces of a font collection (Noto CJK 'KR')."""
    from fontTools.ttLib import TTCollection

    with TTCollection(str(path), lazy=True) as ttc:
        names = [f["name"].getDebugName(4) or "" for f in ttc.fonts]
    return [(i, n.replace(" ", "")) for i, n in enumerate(names) if " KR" in n]


def _load_cache() -> dict:
    try:
        return json.loads(CACHE_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _save_cache(cache: dict) -> None:
    """Best effort: a read-only home only costs the ~2 s rescan next time."""
    try:
        CACHE_FILE.parent.mkdir(parents=True, exist_ok=True)
        tmp = CACHE_FILE.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, CACHE_FILE)
    except OSError:
        pass


def _cached_cmap(path: Path, cache: dict, index: int = 0) -> frozenset[str]:
    """The font's characters, from the on-disk cache when the file is unchanged.

    Reading 220 cmaps with fontTools takes 2-5 s, paid by every process (CLI runs,
    data-loader workers); the cache keys on path, size and mtime.
    """
    st = path.stat()
    key = f"{st.st_size}:{st.st_mtime_ns}"
    entry = str(path) if index == 0 else f"{path}#{index}"
    hit = cache.get(entry)
    if hit and hit[0] == key:
        return frozenset(hit[1])
    chars = _read_cmap(path, index)
    cache[entry] = [key, "".join(sorted(chars))]
    return chars


def _font_files() -> list[Path]:
    return [path for root in FONT_DIRS if os.path.isdir(root)
            for path in sorted(Path(root).rglob("*"))
            if path.suffix.lower() in (".ttf", ".otf", ".ttc")]


def _candidates(path: Path, script: str) -> list[tuple[int, str]]:
    """(face index, name) of the faces of one file that may serve `script`."""
    if script == "latin":
        if path.suffix.lower() == ".ttc" or any(s in path.name for s in SKIP):
            return []
        return [(0, path.stem)]
    if any(s in path.name for s in HANGUL_SKIP):
        return []
    if path.suffix.lower() == ".ttc":
        return _korean_faces(path)
    return [(0, path.stem)]


def _usable(chars: frozenset[str], script: str) -> bool:
    latin = sum(c in chars for c in "AZaz09$%.,") >= 10
    hangul = all(c in chars for c in "가한글뷁읽")
    # Korean faces stay out of the Latin list, so installing them changes no English data
    return latin and (hangul if script == "hangul" else not hangul)


@lru_cache(maxsize=4)
def discover_fonts(script: str = "latin") -> tuple[Font, ...]:
    """All usable text faces for `script` ('latin' or 'hangul') on this machine, sorted by
    path (deterministic)."""
    if script not in SCRIPTS:
        raise ValueError(f"unknown script {script!r} (use {', '.join(SCRIPTS)})")
    found: list[Font] = []
    cache = _load_cache()
    before = dict(cache)
    for path in _font_files():
        try:
            for index, name in _candidates(path, script):
                chars = _cached_cmap(path, cache, index)
                if _usable(chars, script):
                    found.append(Font(str(path), name, chars, index))
        except Exception:
            continue
    if cache != before:
        _save_cache(cache)
    if not found:
        raise RuntimeError(
            f"no {script} fonts found for synthetic text: install them with the command in "
            "README.md (apt-get install fonts-...)"
        )
    return tuple(found)


def hangul_fonts(held_out: bool = False) -> tuple[Font, ...]:
    """Korean training faces, or (held_out=True) the families kept for the dev lines."""
    return tuple(f for f in discover_fonts("hangul")
                 if any(h.lower() in f.path.lower() for h in HANGUL_HELD_OUT) == held_out)
