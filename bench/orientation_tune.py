"""Choose the orientation thresholds on TRAINING pages (issue 18): the dev sets only report.

`collect` reads each page of a labelled set at all four quarter turns and runs the flip
test's sample words both ways on every read, and caches that (JSON). A page scanned at
turn r and read at turn t is the original read at turn r + t (quarter turns are exact),
so `replay` can then run `ocrtool.orientation.choose_rotation` itself, the very code that
`ocrtool read` runs, on every page at every turn, for any setting of the module's
thresholds, in a second: how often the right turn is found, and how often an upright
page needs more than its first read (what costs time).

`lines` measures the per-line 180-degree check: every line of upright pages and of the
same pages turned by 180 (all lines upside down), read as found and turned, so that
LINE_CHECK, LINE_CLEAR and LINE_MARGIN can be chosen (how many upright lines it reads
again and turns wrongly, how many upside-down lines it turns). Crops are read caseless, as
`ocrtool read` reads them for orientation.

    OMP_NUM_THREADS=1 python bench/orientation_tune.py collect \\
        --data ../shared/data/born_digital_train --limit 120 --out /tmp/bd_train.json
    python bench/orientation_tune.py replay /tmp/bd_train.json /tmp/sroie_train.json \\
        --set MIN_SAMPLE_CHARS=6 --set TURN_MIN=0.5
    OMP_NUM_THREADS=1 python bench/orientation_tune.py lines \\
        --data ../shared/data/sroie_train --limit 20
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ocrtool import evaluation as ev
from ocrtool import orientation as ori
from ocrtool.geometry import quad_size
from ocrtool.imageio import load_image
from ocrtool.reader import Reader
from ocrtool.results import PageResult

CACHED_WORDS = 12  # sample words scored per read: replays may use up to this many


def collect(reader: Reader, data: Path, limit: int | None, out: Path) -> None:
    pages = []
    for row in ev.load_ground_truth(data)[:limit]:
        rgb = load_image(data / row["image"])
        turns = {}
        for turn in ori.ROTATIONS:
            image = ori.turn_image(rgb, turn)
            read = PageResult("", image.shape[1], image.shape[0], reader._detect_and_read(image))
            # the lines as cached (rounded), so replays pick the same sample words
            lines = PageResult.from_dict(read.to_dict()).lines
            scores = ori.flip_scores(image, lines, reader.recognition.recognize_caseless,
                                     CACHED_WORDS)
            turns[str(turn)] = {"page": read.to_dict(), "flip": scores}
        pages.append({"data": data.name, "image": row["image"], "turns": turns})
        print(f"{data.name} {row['image']}", file=sys.stderr, flush=True)
    out.write_text(json.dumps(pages) + "\n")


def replay(pages: list[dict]) -> dict:
    """Right turns found per set and turn, and the upright pages' extra reads."""
    found: dict[tuple[str, int], list[bool]] = {}
    cost: dict[str, list[str]] = {}  # extra step of upright pages -> those pages
    wrong = []
    for page in pages:
        lines = {int(t): PageResult.from_dict(v["page"]).lines for t, v in page["turns"].items()}
        flips = {int(t): v["flip"] for t, v in page["turns"].items()}
        for scan in ori.ROTATIONS:  # the page as scanned: turned clockwise by `scan`
            got, used = replay_page(lines, flips, scan)
            right = got == (360 - scan) % 360
            found.setdefault((page["data"], scan), []).append(right)
            if not right:
                wrong.append(f"{page['data']}/{page['image']}@{scan}->{got}")
            if scan == 0:
                for step in used - {0}:
                    cost.setdefault(str(step), []).append(page["image"])
    return {"right": {f"{d} {s}": float(np.mean(v)) for (d, s), v in sorted(found.items())},
            "wrong": wrong, "upright_cost": cost, "sure": sure_words(pages)}


def sure_words(pages: list[dict]) -> dict[str, list[float]]:
    """The least confidence among a read's sample words, for reads of pages upright,
    upside down and sideways: what `SURE_WORD` must tell apart."""
    out: dict[str, list[float]] = {"upright": [], "upside down": [], "sideways": []}
    for page in pages:
        for t, v in page["turns"].items():
            words = ori.sample_words(PageResult.from_dict(v["page"]).lines)
            if len(words) == ori.SAMPLE_WORDS:
                way = {0: "upright", 180: "upside down"}.get(int(t), "sideways")
                out[way].append(min(w.confidence for w in words))
    return out


def replay_page(lines: dict[int, list], flips: dict[int, list], scan: int,
                ) -> tuple[int, set]:
    """The turn chosen for a page scanned at turn `scan`, the turns it read and the flip
    tests it ran."""
    used: set = set()

    def lines_at(t: int) -> list:
        used.add(t % 360)
        return lines[(scan + t) % 360]

    def flip_at(t: int, n: int) -> ori.FlipTest:
        used.update((t % 360, f"flip {t % 360} x{n}"))  # a flip test needs its read
        return ori.FlipTest.of(flips[(scan + t) % 360][:n])

    return ori.choose_rotation(lines_at, flip_at), used


def both_ways_scores(image: np.ndarray, lines: list, recognize
                     ) -> tuple[list[tuple[float, int]], list[tuple[float, int]]]:
    """`ori.turned_scores` of each line's box as found and turned by 180 degrees (its
    corners rolled by two), in one recognizer call: what the per-line check compares
    (`ori.flip_lines` reads as found only the lines that read clearly turned)."""
    found = [np.asarray(ln.points, np.float32) for ln in lines]
    scores = ori.turned_scores(image, found + [np.roll(q, 2, axis=0) for q in found],
                               recognize)
    return scores[: len(found)], scores[len(found):]


def line_stats(reader: Reader, data: Path, limit: int | None) -> None:
    """Per line of upright pages and of the same pages turned by 180 (every line upside
    down): its confidence as found, and its box read caseless as found and turned
    (`both_ways_scores`, as `ori.flip_lines` reads them)."""
    rows = []
    caseless = reader.recognition.recognize_caseless
    for row in ev.load_ground_truth(data)[:limit]:
        rgb = load_image(data / row["image"])
        for turn in (0, 180):
            image = ori.turn_image(rgb, turn)
            lines = reader._detect_and_read(image)
            found, turned = both_ways_scores(image, lines, caseless) if lines else ([], [])
            for ln, (before, _), (score, chars) in zip(lines, found, turned):
                length, height = quad_size(np.asarray(ln.points, np.float32))
                rows.append((turn, ln.confidence, score, chars, length / max(height, 1e-6),
                             before, ln.char_confidence))
    a = np.array(rows)
    up, down = a[a[:, 0] == 0], a[a[:, 0] == 180]
    print(f"{data.name}: {len(up)} upright lines, {len(down)} upside-down lines")
    aspect = ori.LINE_ASPECT
    for check in (0.05, 0.1, 0.2, 0.3):
        cu = up[(up[:, 1] < check) & (up[:, 4] >= aspect)]
        cd = down[(down[:, 1] < check) & (down[:, 4] >= aspect)]
        for clear in (-0.05, -0.1, -0.15, -0.2):
            for margin in (None, 0.0, 0.1, 0.3):
                print(f" check<{check} clear>={clear} margin {margin}: upright lines read "
                      f"again {len(cu) / max(len(up), 1):.3f} (turned wrongly "
                      f"{_turned(cu, clear, margin)}), upside-down lines turned "
                      f"{_turned(cd, clear, margin)}/{int(np.sum(down[:, 4] >= aspect))}")
    prefilter_stats(up, down)


def prefilter_stats(up: np.ndarray, down: np.ndarray) -> None:
    """The shipped thresholds with lines also left alone when their main read's
    char_confidence reaches `sure` (legible lines are not read again), and with the main
    read's log char_confidence standing in for the as-found caseless read ("main")."""
    for sure in (None, 0.8, 0.85, 0.9, 0.95):
        for before in ("read", "main"):
            cu, cd = _checked(up, sure, before), _checked(down, sure, before)
            print(f" char_confidence<{sure} before={before}: upright lines read again "
                  f"{len(cu)}/{len(up)} (turned wrongly "
                  f"{_turned(cu, ori.LINE_CLEAR, ori.LINE_MARGIN)}), upside-down lines "
                  f"read {len(cd)}, turned {_turned(cd, ori.LINE_CLEAR, ori.LINE_MARGIN)}"
                  f"/{int(np.sum(down[:, 4] >= ori.LINE_ASPECT))}")


def _checked(rows: np.ndarray, sure: float | None, before: str) -> np.ndarray:
    """`line_stats`' rows the per-line check reads (see `prefilter_stats`)."""
    ok = (rows[:, 1] < ori.LINE_CHECK) & (rows[:, 4] >= ori.LINE_ASPECT)
    if sure is not None:
        ok &= rows[:, 6] < sure
    rows = rows[ok].copy()
    if before == "main":
        rows[:, 5] = np.log(np.maximum(rows[:, 6], 1e-12))
    return rows


def _turned(rows: np.ndarray, clear: float, margin: float | None) -> int:
    """How many of `line_stats`' rows the per-line check would turn."""
    ok = (rows[:, 2] >= clear) & (rows[:, 3] >= ori.LINE_CHARS)
    if margin is not None:  # None: v0.5's rule, no comparison with the line as found
        ok &= rows[:, 2] >= rows[:, 5] + margin
    return int(np.sum(ok))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--data", required=True, type=Path)
    c.add_argument("--limit", type=int)
    c.add_argument("--out", required=True, type=Path)
    r = sub.add_parser("replay")
    r.add_argument("cache", nargs="+", type=Path)
    r.add_argument("--set", action="append", default=[],
                   help="NAME=VALUE: a threshold of ocrtool.orientation for this replay")
    ln = sub.add_parser("lines")
    ln.add_argument("--data", required=True, type=Path)
    ln.add_argument("--limit", type=int)
    args = ap.parse_args(argv)
    if args.cmd == "replay":
        for item in args.set:
            name, _, value = item.partition("=")
            if not hasattr(ori, name):
                ap.error(f"--set {item!r}: ocrtool.orientation has no {name}")
            setattr(ori, name, type(getattr(ori, name))(value))
        pages = [p for path in args.cache for p in json.loads(path.read_text())]
        result = replay(pages)
        for key, value in result["right"].items():
            print(f"right turn {key}: {value:.3f}")
        print(f"{len(pages)} pages; extra steps on upright pages:")
        for step, images in sorted(result["upright_cost"].items()):
            print(f"  {step}: {len(images)} {' '.join(images[:12])}")
        for way, mins in result["sure"].items():
            a = np.array(mins)
            print(f"least sample-word confidence, {way} reads ({len(a)}): " + ", ".join(
                f">={c}: {np.mean(a >= c):.3f}" for c in (0.5, 0.7, 0.8, 0.9, 0.95)))
        print("wrong:", " ".join(result["wrong"]))
        return 0
    reader = Reader(threads=1, rotate="none")
    if args.cmd == "collect":
        collect(reader, args.data, args.limit, args.out)
    else:
        line_stats(reader, args.data, args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
