"""Scoring on hand-made pages whose scores are known exactly, and `ocrtool eval` itself."""

from __future__ import annotations

import json
import sys
import types

import pytest
from click.testing import CliRunner

from ocrtool import evaluation as ev
from ocrtool.cli import main
from ocrtool.results import Line, PageResult, Word


def quad(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


# Two text lines of two words each, plus an ignored region on the right.
HELLO, WORLD = quad(10, 10, 50, 30), quad(60, 10, 110, 30)
FOO, BAR = quad(10, 50, 40, 70), quad(50, 50, 80, 70)
LINE1, LINE2 = quad(10, 10, 110, 30), quad(10, 50, 80, 70)
IGNORED = quad(150, 10, 190, 30)
GT_TEXT = "Hello World foo bar"  # 19 characters


def gt_lines(image: str = "images/a.png") -> dict:
    return {"image": image, "width": 200, "height": 100, "regions": [
        {"points": LINE1, "text": "Hello World"},
        {"points": LINE2, "text": "foo bar"},
        {"points": IGNORED, "text": "###", "ignore": True}]}


def gt_words(image: str = "images/a.png") -> dict:
    return {"image": image, "width": 200, "height": 100, "regions": [
        {"points": HELLO, "text": "Hello"}, {"points": WORLD, "text": "World"},
        {"points": FOO, "text": "foo"}, {"points": BAR, "text": "bar"},
        {"points": IGNORED, "text": "###", "ignore": True}]}


def word(text: str, points) -> Word:
    return Word(text, 0.9, points)


def page(lines: list[Line], image: str = "images/a.png") -> dict:
    return PageResult(image, 200, 100, lines).to_dict()


def perfect_lines() -> list[Line]:
    return [
        Line("Hello World", 0.9, LINE1, [word("Hello", HELLO), word("World", WORLD)]),
        Line("foo bar", 0.9, LINE2, [word("foo", FOO), word("bar", BAR)], block=1),
    ]


def words_as_lines(*items: tuple[str, list]) -> list[Line]:
    """A word-only engine: every word is its own line, without word boxes."""
    return [Line(text, 0.9, points) for text, points in items]


# ---------------------------------------------------------------------------- primitives


def test_cer_known_values():
    assert ev.cer("kitten", "sitting") == pytest.approx(3 / 6)
    assert ev.cer("abc", "abc") == 0.0
    assert ev.cer("", "") == 0.0
    assert ev.cer("", "x") == 1.0
    assert ev.edit_distance("Hello", "hello") == 1


def test_word_f1_is_order_free_multiset():
    assert ev.word_f1(["a b a"], ["a", "b"]) == pytest.approx(2 * 2 / (3 + 2))
    assert ev.word_f1(["b a"], ["a b"]) == 1.0
    assert ev.word_f1(["Hello"], ["hello"]) == 0.0
    assert ev.word_f1(["Hello"], ["hello"], lower=True) == 1.0
    assert ev.word_f1([], []) == 1.0


def test_reading_order_ignores_engine_order_and_granularity():
    lines = [ev.Region(ev.polygon(LINE2), "foo bar"), ev.Region(ev.polygon(LINE1), "Hello World")]
    jittered = [ev.Region(ev.polygon(quad(60, 12, 110, 32)), "World"),
                ev.Region(ev.polygon(FOO), "foo"), ev.Region(ev.polygon(BAR), "bar"),
                ev.Region(ev.polygon(HELLO), "Hello")]
    assert ev.reading_order_text(lines) == GT_TEXT
    assert ev.reading_order_text(jittered) == GT_TEXT


def test_choose_level_from_ground_truth():
    assert ev.choose_level([gt_lines()]) == "line"
    assert ev.choose_level([gt_words()]) == "word"
    assert ev.choose_level([gt_words()], "line") == "line"


# ---------------------------------------------------------------------------- pages


def test_perfect_prediction():
    report = ev.evaluate_pages([gt_lines()], [page(perfect_lines())])
    assert report["kind"] == "pages" and report["level"] == "line"
    for key in ("word_f1", "word_f1_ci", "det_precision", "det_recall", "det_hmean"):
        assert report[key] == 1.0, key
    assert report["cer"] == 0.0 and report["cer_ci"] == 0.0
    assert report["images"] == 1 and report["worst"] == []
    assert report["seconds_per_image"] is None


def test_one_missing_word():
    pred = page([Line("Hello World foo", 0.9, LINE1,
                      [word("Hello", HELLO), word("World", WORLD), word("foo", FOO)])])
    report = ev.evaluate_pages([gt_words()], [pred])
    assert report["level"] == "word"
    assert report["det_precision"] == 1.0
    assert report["det_recall"] == pytest.approx(3 / 4)
    assert report["det_hmean"] == pytest.approx(6 / 7)
    assert report["word_f1"] == pytest.approx(6 / 7)
    assert report["cer"] == pytest.approx(4 / 19)  # " bar" deleted
    assert report["worst"][0]["pred_text"] == "Hello World foo"


def test_one_false_positive():
    box = quad(10, 80, 40, 95)
    lines = perfect_lines() + [Line("xyz", 0.5, box, [word("xyz", box)])]
    report = ev.evaluate_pages([gt_words()], [page(lines)])
    assert report["det_precision"] == pytest.approx(4 / 5)
    assert report["det_recall"] == 1.0
    assert report["det_hmean"] == pytest.approx(8 / 9)
    assert report["word_f1"] == pytest.approx(8 / 9)
    assert report["cer"] == pytest.approx(4 / 19)  # " xyz" inserted
    assert report["per_image"][0]["false_positives"] == 1


@pytest.mark.parametrize("box", [IGNORED, quad(155, 12, 175, 28)])  # same box / mostly inside
def test_prediction_on_ignored_region_is_neither_hit_nor_false_positive(box):
    lines = perfect_lines() + [Line("junk", 0.5, box, [word("junk", box)])]
    for gt in (gt_lines(), gt_words()):
        report = ev.evaluate_pages([gt], [page(lines)])
        assert report["det_precision"] == 1.0 and report["det_recall"] == 1.0
        assert report["word_f1"] == 1.0 and report["cer"] == 0.0
        detail = report["per_image"][0]
        assert detail["ignored_predictions"] == 1 and detail["false_positives"] == 0
        assert detail["ignored_regions"] == 1 and detail["gt_regions"] in (2, 4)


def test_text_read_inside_a_figure_is_not_a_false_positive():
    """Pages may list `figures` whose inner text (axis labels, legends) is not annotated
    (docbank): text read there is neither a hit nor a false positive."""
    legend = quad(120, 40, 190, 90)
    label = quad(130, 60, 170, 75)
    lines = perfect_lines() + [Line("axis", 0.9, label, [word("axis", label)])]
    plain = gt_words()
    with_figure = dict(plain, figures=[[120, 40, 190, 90]])
    assert ev.evaluate_pages([plain], [page(lines)])["word_f1"] == pytest.approx(8 / 9)
    report = ev.evaluate_pages([with_figure], [page(lines)])
    assert report["word_f1"] == 1.0 and report["det_precision"] == 1.0
    assert report["per_image"][0]["ignored_predictions"] == 1
    four_points = dict(plain, figures=[legend])  # a figure given as four corners
    assert ev.evaluate_pages([four_points], [page(lines)])["word_f1"] == 1.0


def test_recall_by_label_says_which_kind_of_text_is_missed():
    """DocBank labels its tokens (paragraph, equation, ...): the report and the terminal
    summary give the detection recall of each label; ignored regions do not count."""
    labelled = gt_words()
    for region, label in zip(labelled["regions"], ("paragraph", "paragraph", "equation",
                                                   "equation", "equation")):
        region["label"] = label
    pred = page([Line("Hello World foo", 0.9, LINE1,
                      [word("Hello", HELLO), word("World", WORLD), word("foo", FOO)])])
    report = ev.evaluate_pages([labelled], [pred])
    assert report["recall_by_label"] == {
        "paragraph": {"hits": 2, "regions": 2, "recall": 1.0},
        "equation": {"hits": 1, "regions": 2, "recall": 0.5}}
    assert "  recall by label: paragraph 1.00 (2/2), equation 0.50 (1/2)" in \
        ev.summary_lines(report)
    assert "recall_by_label" not in ev.evaluate_pages([gt_words()], [pred])


def test_granularity_mismatch_keeps_text_scores_exact():
    world = quad(62, 10, 110, 30)  # IoU 0.48 with its line
    pred = page(words_as_lines(("bar", BAR), ("World", world), ("Hello", HELLO), ("foo", FOO)))
    at_line = ev.evaluate_pages([gt_lines()], [pred])  # auto -> line boxes
    assert at_line["level"] == "line"
    assert at_line["word_f1"] == 1.0 and at_line["cer"] == 0.0
    assert at_line["det_hmean"] == 0.0  # no word box covers half of its line
    at_word = ev.evaluate_pages([gt_words()], [page(perfect_lines())])
    assert at_word["det_hmean"] == 1.0 and at_word["word_f1"] == 1.0


def test_case_insensitive_scores():
    lines = [Line("hello world", 0.9, LINE1), Line("foo bar", 0.9, LINE2)]
    report = ev.evaluate_pages([gt_lines()], [page(lines)])
    assert report["cer"] == pytest.approx(2 / 19) and report["cer_ci"] == 0.0
    assert report["word_f1"] == pytest.approx(2 * 2 / 8) and report["word_f1_ci"] == 1.0


def test_missing_prediction_and_micro_average():
    gts = [gt_words("images/a.png"), gt_words("images/b.png")]
    pred = page(perfect_lines(), image="/elsewhere/a.png")  # matched by basename
    pred["seconds"] = 0.25
    report = ev.evaluate_pages(gts, [pred])
    assert report["missing_predictions"] == 1 and report["images"] == 2
    assert report["cer"] == pytest.approx(19 / 38)
    assert report["word_f1"] == pytest.approx(8 / 12)
    assert report["det_precision"] == 1.0 and report["det_recall"] == pytest.approx(0.5)
    assert report["seconds_per_image"] == pytest.approx(0.25)
    assert [w["image"] for w in report["worst"]] == ["images/b.png"]


def test_icdar_folder_ground_truth(tmp_path):
    (tmp_path / "gt_a.txt").write_text(
        "\ufeff10,10,50,10,50,30,10,30,Hello\n60,10,110,10,110,30,60,30,World\n"
        "150,10,190,10,190,30,150,30,###\n", encoding="utf-8")
    rows = ev.load_ground_truth(tmp_path)
    assert rows[0]["image"] == "a" and rows[0]["regions"][2]["ignore"] is True
    pred = page([Line("Hello World", 0.9, LINE1, [word("Hello", HELLO), word("World", WORLD)])],
                image="images/a.jpg")
    report = ev.evaluate_pages(rows, [pred])
    assert report["level"] == "word" and report["det_hmean"] == 1.0 and report["cer"] == 0.0


# ---------------------------------------------------------------------------- crops


def test_crop_set_word_accuracy():
    gts = [{"image": f"images/{i}.png", "text": t} for i, t in enumerate(["JOINT", "Hello", "a b"])]
    preds = [{"image": "images/0.png", "text": "JOINT"}, {"image": "images/1.png", "text": "hello"},
             page([Line("a  b", 0.9, quad(0, 0, 9, 9))], image="images/2.png")]
    report = ev.evaluate_crops(gts, preds)
    assert report["word_accuracy"] == pytest.approx(2 / 3)
    assert report["word_accuracy_ci"] == 1.0
    assert report["cer"] == pytest.approx(1 / 13) and report["cer_ci"] == 0.0
    assert report["worst"] == []  # every crop is right ignoring case


# ---------------------------------------------------------------------------- CLI


def write_jsonl(path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_cli_scores_predictions_and_writes_report(tmp_path):
    write_jsonl(tmp_path / "gt.jsonl", [gt_lines()])
    write_jsonl(tmp_path / "preds.jsonl", [page(perfect_lines())])
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["eval", "--data", str(tmp_path), "--pred",
                                       str(tmp_path / "preds.jsonl"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "det_hmean" in result.output
    report = json.loads(out.read_text())
    for key in ("cer", "cer_ci", "word_f1", "word_f1_ci", "det_precision", "det_recall",
                "det_hmean", "images", "seconds_per_image", "per_image", "worst"):
        assert key in report, key
    assert report["word_f1"] == 1.0


@pytest.mark.parametrize("case", ["no_dir", "no_pred", "bad_json", "no_gt", "no_detect_on_pages"])
def test_cli_errors_are_one_line(tmp_path, case):
    write_jsonl(tmp_path / "gt.jsonl", [gt_lines()])
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    args = {
        "no_dir": (["--data", str(tmp_path / "missing"), "--pred", "x.jsonl"], 2),
        "no_pred": (["--data", str(tmp_path), "--pred", str(tmp_path / "missing.jsonl")], 2),
        "bad_json": (["--data", str(tmp_path), "--pred", str(tmp_path / "bad.jsonl")], 1),
        "no_gt": (["--data", str(tmp_path / "empty"), "--pred", str(tmp_path / "bad.jsonl")], 1),
        "no_detect_on_pages": (["--data", str(tmp_path), "--no-detect"], 2),
    }
    (tmp_path / "empty").mkdir()
    argv, code = args[case]
    result = CliRunner().invoke(main, ["eval", *argv])
    assert result.exit_code == code, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "Traceback" not in result.output and result.output.startswith("Error:")


class FakeReader:
    """Stands in for ocrtool.reader.Reader: reads every page perfectly."""

    calls: list[tuple[str, dict]] = []

    def __init__(self, config):  # eval builds a ReaderConfig of its reading options
        self.options = (config.backend, config.decoder)

    def read(self, path: str, **kwargs) -> PageResult:
        FakeReader.calls.append((path, kwargs))
        if kwargs.get("recognize_only"):
            return PageResult(path, 9, 9, [Line("JOINT", 0.9, quad(0, 0, 9, 9))])
        return PageResult(path, 200, 100, perfect_lines())


def test_cli_runs_the_reader_without_pred(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ocrtool.reader", types.SimpleNamespace(Reader=FakeReader))
    FakeReader.calls = []
    pages, crops = tmp_path / "pages", tmp_path / "crops"
    pages.mkdir()
    crops.mkdir()
    write_jsonl(pages / "gt.jsonl", [gt_lines()])
    write_jsonl(crops / "gt.jsonl", [{"image": "images/w.png", "text": "JOINT"}])
    runner = CliRunner()
    result = runner.invoke(main, ["eval", "--data", str(pages), "--out", str(tmp_path / "p.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "p.json").read_text())
    assert report["det_hmean"] == 1.0 and report["seconds_per_image"] is not None
    result = runner.invoke(main, ["eval", "--data", str(crops), "--no-detect",
                                  "--out", str(tmp_path / "c.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "c.json").read_text())["word_accuracy"] == 1.0
    assert FakeReader.calls[-1][1] == {"recognize_only": True}
    assert FakeReader.calls[0][1] == {}


def _report(rows: list[tuple[str, int, int, int]]) -> dict:
    """A page report's per-image counts: (image, word true positives, truths, predictions)."""
    return {"kind": "pages", "per_image": [
        {"image": im, "word_tp": tp, "word_tp_ci": tp, "gt_words": gt, "pred_words": pr,
         "hits": tp, "gt_regions": gt, "predictions": pr + 1, "ignored_predictions": 1}
        for im, tp, gt, pr in rows]}


def test_paired_bootstrap_scores_both_reports_and_the_difference_interval() -> None:
    from ocrtool.evaluation.compare import paired_bootstrap

    a = _report([("p1", 3, 4, 4), ("p2", 1, 2, 2), ("p3", 0, 2, 1)])
    same = paired_bootstrap(a, a, "word_f1")
    assert same["a"] == same["b"] == 2 * 4 / (8 + 7)
    assert (same["diff"], same["low"], same["high"], same["b_ahead"]) == (0, 0, 0, 0.5)
    # B finds one more word on every page (listed in another order): ahead in every draw
    b = _report([("p3", 1, 2, 1), ("p1", 4, 4, 4), ("p2", 2, 2, 2)])
    better = paired_bootstrap(a, b, "det_hmean", rounds=500)
    assert better["b"] == 2 * 7 / (8 + 7) and better["diff"] == 2 * 3 / 15
    assert better["low"] > 0 and better["b_ahead"] == 1.0
    with pytest.raises(ValueError, match="same images"):
        paired_bootstrap(a, _report([("p1", 3, 4, 4)]), "word_f1")


def test_pooled_reports_are_judged_on_all_their_images() -> None:
    """Two small sets pooled: the score counts every image of both, images of the same
    name in different reports stay apart, and reports of different kinds do not mix."""
    from ocrtool.evaluation.compare import paired_bootstrap, pool_reports

    a1, a2 = _report([("p1", 3, 4, 4)]), _report([("p1", 0, 2, 2), ("p2", 1, 2, 2)])
    b1, b2 = _report([("p1", 3, 4, 4)]), _report([("p2", 2, 2, 2), ("p1", 1, 2, 2)])
    pooled_a, pooled_b = pool_reports([a1, a2]), pool_reports([b1, b2])
    assert len(pooled_a["per_image"]) == 3
    r = paired_bootstrap(pooled_a, pooled_b, "word_f1", rounds=200)
    assert (r["a"], r["b"]) == (2 * 4 / 16, 2 * 6 / 16)
    with pytest.raises(ValueError, match="different kinds"):
        pool_reports([a1, {"kind": "crops", "per_image": []}])


def test_paired_bootstrap_on_crop_reports_compares_word_accuracy() -> None:
    from ocrtool.evaluation.compare import paired_bootstrap

    def crops(flags: list[bool]) -> dict:
        return {"kind": "crops", "per_image": [
            {"image": f"c{i}", "correct": f, "correct_ci": True} for i, f in enumerate(flags)]}

    r = paired_bootstrap(crops([True, False, False, True]), crops([True, True, False, True]),
                         "word_accuracy")
    assert (r["a"], r["b"], r["diff"]) == (0.5, 0.75, 0.25)
    assert 0.5 < r["b_ahead"] <= 1.0 and r["high"] > 0
    ci = paired_bootstrap(crops([True, False]), crops([False, True]), "word_accuracy_ci")
    assert ci["diff"] == 0 and ci["b_ahead"] == 0.5
