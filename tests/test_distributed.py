"""`ocrtool read --ray` / `ocrtool.distributed.read_many` on a local Ray instance (no
network): the same text and error records as a local run, an actor killed mid-run, a file
that crashes its reader every time, a driver killed half-way and --resume, Parquet shards
with the pages of a multi-page TIFF."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw, ImageFont

from ocrtool.cli import main

ray = pytest.importorskip("ray")
from ocrtool.distributed import (  # noqa: E402
    MANIFEST,
    actor_plan,
    load_results,
    parquet_schema,
    read_many,
    shards,
)

# the reader factories below run inside the actors, which cannot import this test file
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

CONFIG = {"backend": "onnx"}
WORDS = ("invoice total amount paid cash change receipt number date store card tax").split()
BAD = 5


def make_images(folder: Path, count: int, seed: int = 0, prefix: str = "img") -> list[Path]:
    """Small white images with one dark word and a number each (PIL's own font)."""
    folder.mkdir(parents=True, exist_ok=True)
    font = ImageFont.load_default(size=28)
    rng = random.Random(seed)
    paths = []
    for i in range(count):
        image = Image.new("RGB", (320, 64), "white")
        text = f"{rng.choice(WORDS)} {rng.randint(10, 999)}"
        ImageDraw.Draw(image).text((12, 14), text, fill="black", font=font)
        paths.append(folder / f"{prefix}{i:03d}.png")
        image.save(paths[-1])
    return paths


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """200 files: 195 images with text and 5 corrupt ones."""
    root = tmp_path_factory.mktemp("ray") / "in"
    make_images(root, 200 - BAD)
    for i in range(BAD):
        (root / f"bad{i}.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg" if i else b"")
    return root


@pytest.fixture(scope="module")
def local(folder: Path, tmp_path_factory) -> dict[str, dict]:
    """The local `ocrtool read` run of the folder: image -> its JSON record."""
    out = tmp_path_factory.mktemp("local") / "local.jsonl"
    result = CliRunner().invoke(main, ["read", str(folder), "--backend", "onnx", "-q",
                                       "--workers", "2", "--format", "json", "-o", str(out)])
    assert result.exit_code == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 200 and sum("error" in r for r in rows) == BAD
    assert sum(bool(r.get("text")) for r in rows) >= 190  # the images do hold text
    return {r["image"]: r for r in rows}


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level="ERROR", object_store_memory=200 * 1024 * 1024)
    yield ray
    ray.shutdown()


def assert_same_as_local(out: Path, local: dict[str, dict]) -> None:
    """Every file exactly once, with the local run's text or its error message."""
    pages = load_results(out)
    counts = Counter(p.image for p in pages)
    assert set(counts) == set(local) and set(counts.values()) == {1}
    for page in pages:
        want = local[page.image]
        if "error" in want:
            assert page.error == want["error"]
        else:
            assert page.error is None and page.text == want["text"], page.image


def test_folder_run_matches_the_local_run(cluster, folder: Path, local, tmp_path: Path):
    out = tmp_path / "shards"
    result = CliRunner().invoke(main, ["read", str(folder), "--ray", "--actors", "2",
                                       "--backend", "onnx", "--format", "json",
                                       "--output-dir", str(out)])
    assert result.exit_code == 1, result.output
    assert_same_as_local(out, local)
    # the same one-line error per bad file as the local run, and the local summary line
    for i in range(BAD):
        image = str(folder / f"bad{i}.jpg")
        why = local[image]["error"].removesuffix(f": {image}")  # the line names it once
        assert f"ocrtool: {image}: {why}\n" in result.stderr
    assert "ocrtool: 200 images, 5 errors" in result.stderr
    assert "Traceback" not in result.output
    # the fixed schema: every row has the same keys, errors included
    rows = [json.loads(x) for s in shards(out) for x in s.read_text().splitlines()]
    assert {tuple(r) for r in rows} == {("image", "page", "pages", "width", "height", "text",
                                         "lines", "models", "error")}
    assert rows[0]["models"]["backend"].startswith("onnx")


def _pid_recorder(pid_dir: str):
    """A reader factory that notes each actor's process id (a restarted actor writes a
    new one), so the test can kill a real actor process."""
    def build(options: dict):
        from ocrtool.reader import Reader

        Path(pid_dir, str(os.getpid())).touch()
        return Reader(**options)
    return build


def test_an_actor_killed_mid_run_loses_and_duplicates_nothing(cluster, folder: Path, local,
                                                             tmp_path: Path):
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    killed = []

    def kill_one(pages) -> None:
        if len(killed) == 0 and len(seen) == 40:
            pid = int(sorted(os.listdir(pid_dir))[0])
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        seen.append(pages[0].image)

    seen: list[str] = []
    summary = read_many([folder], tmp_path / "out", CONFIG, actors=2,
                        reader_factory=_pid_recorder(str(pid_dir)), on_file=kill_one)
    assert killed and summary.retries >= 1
    assert len(os.listdir(pid_dir)) == 3  # two actors, one of them restarted by Ray
    assert summary.files == 200 and summary.errors == BAD and summary.exit_code == 1
    assert_same_as_local(tmp_path / "out", local)


def _crashes_on_poison(options: dict):
    """A Reader whose process dies (SIGSEGV, as a crash in native code would) on any
    file named poison*."""
    from ocrtool.reader import Reader

    class Crashing(Reader):
        def read_pages(self, image, *args, **kwargs):
            if Path(image).name.startswith("poison"):
                os.kill(os.getpid(), signal.SIGSEGV)
            return super().read_pages(image, *args, **kwargs)

    return Crashing(**options)


def test_a_file_that_crashes_its_reader_becomes_an_error(cluster, tmp_path: Path):
    root = tmp_path / "in"
    good = make_images(root, 6, seed=1)
    make_images(root, 1, seed=2, prefix="poison")
    summary = read_many([root], tmp_path / "out", CONFIG, actors=2, max_retries=2,
                        reader_factory=_crashes_on_poison)
    assert summary.files == 7 and summary.errors == 1 and summary.exit_code == 1
    # the poison page is sent again twice; a good page that happened to be in flight on
    # the same actor when it died is sent again too (counted, never lost or doubled)
    assert summary.retries >= 2
    (image, error), = summary.failed
    assert Path(image).name == "poison000.png"
    assert error.startswith("the reader process died 3 times reading page 1 of this file")
    pages = {Path(p.image).name: p for p in load_results(tmp_path / "out")}
    assert len(pages) == 7 and pages["poison000.png"].error == error
    assert all(pages[p.name].error is None and pages[p.name].text for p in good)


def test_resume_after_the_driver_is_killed_reads_only_what_is_missing(
        cluster, folder: Path, local, tmp_path: Path):
    out = tmp_path / "out"
    script = ("import sys; from ocrtool.distributed import read_many; "
              "read_many([sys.argv[1]], sys.argv[2], {'backend': 'onnx'}, 'local', "
              "actors=2, shard_files=20)")
    driver = subprocess.Popen([sys.executable, "-c", script, str(folder), str(out)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)  # its Ray processes share its group
    manifest = out / MANIFEST
    try:
        deadline = time.monotonic() + 240
        while driver.poll() is None and time.monotonic() < deadline and (
                not manifest.exists() or manifest.read_text().count("\n") < 3):
            time.sleep(0.05)
        assert driver.poll() is None, "the run finished before it could be killed"
    finally:
        os.killpg(driver.pid, signal.SIGKILL)  # the driver and the Ray it started
        driver.wait()
    entries = [json.loads(x) for x in manifest.read_text().splitlines()]
    done = {f for e in entries for f in e["files"]}
    assert 40 <= len(done) + BAD and len(done) < 195

    result = CliRunner().invoke(main, ["read", str(folder), "--ray", "--actors", "2",
                                       "--backend", "onnx", "--format", "json",
                                       "--output-dir", str(out), "--resume"])
    assert result.exit_code == 1, result.output
    # only the missing files (and the failed ones, read again) were read
    assert f"ocrtool: {200 - len(done)} images, 5 errors" in result.stderr
    assert_same_as_local(out, local)


def _page_logger(log: str):
    """A reader factory whose Reader notes (process, file, page) for every page read."""
    def build(options: dict):
        from ocrtool.reader import Reader

        class Logging(Reader):
            def read_pages(self, image, *args, **kwargs):
                (page,) = self.document.pages
                with open(log, "a") as f:
                    f.write(f"{os.getpid()} {Path(image).name} {page}\n")
                return super().read_pages(image, *args, **kwargs)

        return Logging(**options)
    return build


def test_parquet_shards_hold_every_page_of_a_tiff(cluster, tmp_path: Path):
    from ocrtool.reader import Reader

    root = tmp_path / "in"
    pages = [Image.open(p) for p in make_images(tmp_path / "pages", 6, seed=3)]
    tiff = root / "doc.tif"
    root.mkdir()
    pages[0].save(tiff, save_all=True, append_images=pages[1:])
    make_images(root, 2, seed=4)
    log = tmp_path / "reads.log"
    summary = read_many([root], tmp_path / "out", CONFIG, actors=2, fmt="parquet",
                        reader_factory=_page_logger(str(log)))
    assert summary.files == 3 and summary.pages == 8 and summary.exit_code == 0
    # page-level items: the document's pages were read by both actors, one page a call
    reads = [line.split() for line in log.read_text().splitlines()]
    tiff_reads = [(pid, page) for pid, name, page in reads if name == "doc.tif"]
    assert sorted(int(page) for _, page in tiff_reads) == [1, 2, 3, 4, 5, 6]
    assert len({pid for pid, _ in tiff_reads}) == 2

    import pyarrow.parquet as pq

    (shard,) = shards(tmp_path / "out")
    assert shard.suffix == ".parquet" and pq.read_schema(shard).equals(parquet_schema())
    got = {(Path(p.image).name, p.page, p.pages): p.text
           for p in load_results(tmp_path / "out")}
    expected = Reader(**CONFIG, threads=1).read_pages(tiff)
    assert [got[("doc.tif", p.page, 6)] for p in expected] == [p.text for p in expected]
    assert all(got.values())


def test_the_pages_of_a_pdf_are_read_like_a_local_run(cluster, tmp_path: Path):
    pytest.importorskip("pypdfium2")
    from ocrtool.reader import Reader

    pages = [Image.open(p) for p in make_images(tmp_path / "pages", 2, seed=5)]
    pdf = tmp_path / "in" / "doc.pdf"
    pdf.parent.mkdir()
    pages[0].save(pdf, save_all=True, append_images=pages[1:])
    summary = read_many([pdf.parent], tmp_path / "out", CONFIG, actors=2)
    assert summary.files == 1 and summary.pages == 2 and summary.exit_code == 0
    got = sorted(load_results(tmp_path / "out"), key=lambda p: p.page)
    expected = Reader(**CONFIG, threads=1).read_pages(pdf)
    assert [(p.page, p.pages, p.text) for p in got] == \
        [(p.page, p.pages, p.text) for p in expected]
    assert all(p.text for p in got)


def test_readers_that_cannot_load_end_the_run_with_one_line(cluster, tmp_path: Path):
    make_images(tmp_path / "in", 2)
    empty = tmp_path / "no_models"
    empty.mkdir()
    result = CliRunner().invoke(main, ["read", str(tmp_path / "in"), "--ray", "--format",
                                       "json", "--output-dir", str(tmp_path / "out"),
                                       "--weights", str(empty), "--backend", "onnx"])
    assert result.exit_code == 3
    assert result.stderr.startswith("ocrtool: the readers did not start on Ray: ")
    assert "model file not found" in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize("resources, options, actors, count, gpus", [
    ({"CPU": 8.0}, {}, None, 8, None),  # one single-threaded actor per CPU
    ({"CPU": 16.0, "GPU": 2.0}, {}, None, 2, 1.0),  # one per GPU
    ({"CPU": 16.0, "GPU": 2.0}, {}, 4, 4, 0.5),  # more actors share the GPUs
    ({"CPU": 16.0, "GPU": 2.0}, {"device": "cpu"}, None, 16, None),
    ({"CPU": 16.0, "GPU": 2.0}, {"backend": "onnx"}, None, 16, None),
    ({"CPU": 16.0, "GPU": 2.0}, {"backend": "onnx", "device": "cuda"}, None, 2, 1.0),
])
def test_actor_plan(resources, options, actors, count, gpus):
    got, plan = actor_plan(resources, options, actors)
    assert got == count and plan.get("num_gpus") == gpus and plan["num_cpus"] == 1
    assert plan["max_restarts"] == -1  # Ray brings a dead actor back; retries are ours


@pytest.mark.parametrize("args", [
    ["--ray", "--format", "text", "--output-dir", "o"],
    ["--ray", "--format", "json", "-o", "r.jsonl"],
    ["--ray=somewhere", "--format", "json", "--output-dir", "o"],
    ["--format", "parquet", "--output-dir", "o"],
    ["--ray", "--format", "json", "--output-dir", "o", "--workers", "2"],
])
def test_usage_errors(args, tmp_path: Path):
    result = CliRunner().invoke(main, ["read", str(tmp_path), *args])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("Error: ")
    assert "Traceback" not in result.output
