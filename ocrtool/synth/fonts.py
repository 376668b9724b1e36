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
MONO_HINTS = ("Mono", "Courier", "Code", "Hack", "Inconsolata", "Anonymous", "Nimbus Mono")


@dataclass(frozen=True)
class Font:
    path: str
    name: str
    chars: frozenset[str]

    @property
    def monospace(self) -> bool:
        return any(h.lower() in self.name.lower() for h in MONO_HINTS)


CACHE_FILE = Path(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))) / (
    "ocrtool/font_cmaps.json"
)


def _read_cmap(path: Path) -> frozenset[str]:
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True, fontNumber=0) as tt:
        cmap = tt.getBestCmap() or {}
    return frozenset(chr(c) for c in cmap)


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


def _cached_cmap(path: Path, cache: dict) -> frozenset[str]:
    """The font's characters, from the on-disk cache when the file is unchanged.

    Reading 220 cmaps with fontTools takes 2-5 s, paid by every process (CLI runs,
    data-loader workers); the cache keys on path, size and mtime.
    """
    st = path.stat()
    key = f"{st.st_size}:{st.st_mtime_ns}"
    hit = cache.get(str(path))
    if hit and hit[0] == key:
        return frozenset(hit[1])
    chars = _read_cmap(path)
    cache[str(path)] = [key, "".join(sorted(chars))]
    return chars


@lru_cache(maxsize=1)
def discover_fonts() -> tuple[Font, ...]:
    """All usable Latin text faces on this machine, sorted by path (deterministic)."""
    found: list[Font] = []
    cache = _load_cache()
    before = dict(cache)
    for root in FONT_DIRS:
        if not os.path.isdir(root):
            continue
        for path in sorted(Path(root).rglob("*")):
            if path.suffix.lower() not in (".ttf", ".otf") or any(s in path.name for s in SKIP):
                continue
            try:
                chars = _cached_cmap(path, cache)
            except Exception:
                continue
            if sum(c in chars for c in "AZaz09$%.,") < 10:
                continue
            found.append(Font(str(path), path.stem, chars))
    if cache != before:
        _save_cache(cache)
    if not found:
        raise RuntimeError(
            "no fonts found for synthetic text: install them with the command in README.md "
            "(apt-get install fonts-...)"
        )
    return tuple(found)
