"""Result dataclasses for one page: words inside lines, in reading order, with polygons.

`to_dict()` gives the JSON schema of README.md (the one `ocrtool read --format json`
writes), so every writer and `ocrtool eval --pred` read the same structure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Points = list[list[float]]  # 4 [x, y] pairs, clockwise from the text's top-left


def _round_points(points: Points) -> list[list[float]]:
    return [[round(float(x), 1), round(float(y), 1)] for x, y in points]


@dataclass
class Word:
    text: str
    confidence: float
    points: Points

    def to_dict(self) -> dict:
        return {"text": self.text, "confidence": round(float(self.confidence), 4),
                "points": _round_points(self.points)}


@dataclass
class Line:
    text: str
    confidence: float
    points: Points
    words: list[Word] = field(default_factory=list)
    block: int = 0  # index of the block/paragraph the line belongs to
    # how legibly its characters were read: their probabilities' geometric mean, before
    # any calibration (1.0 when unknown). Unlike `confidence` it does not fall with the
    # line's length, so it tells a detection of non-text from a long line; the Reader
    # drops detected lines under `ReaderConfig.min_char_confidence`. Not written out.
    char_confidence: float = field(default=1.0, compare=False)

    def to_dict(self) -> dict:
        return {"text": self.text, "confidence": round(float(self.confidence), 4),
                "points": _round_points(self.points), "block": self.block,
                "words": [w.to_dict() for w in self.words]}


def upright(points: Points, rotation: int = 0) -> Points:
    """Points of a page read turned clockwise by `rotation`, in that upright frame (up to
    a shift, which comparisons of boxes do not need)."""
    k = (rotation // 90) % 4
    turn = [lambda x, y: (x, y), lambda x, y: (-y, x), lambda x, y: (-x, -y),
            lambda x, y: (y, -x)][k]
    return [list(turn(x, y)) for x, y in points]


def same_row(left: Line, right: Line, rotation: int = 0) -> bool:
    """`right` starts after `left` ends, and their vertical extents overlap by half (on the
    page turned upright by `rotation`)."""
    lp, rp = upright(left.points, rotation), upright(right.points, rotation)
    lx = [p[0] for p in lp]
    rx = [p[0] for p in rp]
    ly = [p[1] for p in lp]
    ry = [p[1] for p in rp]
    overlap = min(max(ly), max(ry)) - max(min(ly), min(ry))
    shorter = min(max(ly) - min(ly), max(ry) - min(ry))
    return min(rx) >= max(lx) - 0.25 * shorter and overlap >= 0.5 * shorter > 0


@dataclass
class PageResult:
    image: str
    width: int
    height: int
    lines: list[Line] = field(default_factory=list)
    error: str | None = None
    page: int = 1  # 1-based page of a multi-page TIFF
    pages: int = 1  # how many pages its file has; 1 for ordinary images
    # clockwise turn (0/90/180/270) applied before reading; points stay the original's
    rotation: int = 0

    @property
    def text(self) -> str:
        """Full text in reading order; blank line between blocks.

        Consecutive lines that sit side by side on one row (an item and its price on a
        receipt, the cells of a table row) share one text line, as a person would copy it.
        """
        out: list[str] = []
        prev: Line | None = None
        for line in self.lines:
            if prev is not None and line.block != prev.block:
                out.append("")
            if prev is not None and out and out[-1] and same_row(prev, line, self.rotation):
                out[-1] += " " + line.text
            else:
                out.append(line.text)
            prev = line
        return "\n".join(out)

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line.words]

    def to_dict(self) -> dict:
        """The JSON record; "page" and "pages" only for files of several pages, and
        "rotation" only for pages read turned, so the record of an ordinary upright image
        is the same as before multi-page and orientation support."""
        if self.error is not None:
            return {"image": self.image, "error": self.error}
        where = {"page": self.page, "pages": self.pages} if self.pages > 1 else {}
        turned = {"rotation": self.rotation} if self.rotation else {}
        return {"image": self.image, **where, "width": self.width, "height": self.height,
                **turned, "text": self.text, "lines": [ln.to_dict() for ln in self.lines]}

    @classmethod
    def from_dict(cls, d: dict) -> PageResult:
        if "error" in d:
            return cls(d.get("image", ""), 0, 0, error=d["error"])
        lines = [
            Line(ln["text"], ln.get("confidence", 1.0), ln["points"],
                 [Word(w["text"], w.get("confidence", 1.0), w["points"])
                  for w in ln.get("words", [])], ln.get("block", 0))
            for ln in d.get("lines", [])
        ]
        return cls(d.get("image", ""), d.get("width", 0), d.get("height", 0), lines,
                   page=d.get("page", 1), pages=d.get("pages", 1),
                   rotation=d.get("rotation", 0))


def line_blocks(page: PageResult) -> list[list[Line]]:
    """Consecutive lines with the same block index (lines are already in reading order):
    the blocks that hOCR and ALTO write."""
    blocks: list[list[Line]] = []
    for line in page.lines:
        if blocks and blocks[-1][-1].block == line.block:
            blocks[-1].append(line)
        else:
            blocks.append([line])
    return blocks
