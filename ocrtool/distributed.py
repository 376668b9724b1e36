"""The folder run on a Ray cluster: same results, same error records, nothing lost.

Why it is built this way:
- Actors, not tasks: a PageReader actor loads the models once and then reads page after
  page. Each actor gets one CPU and one intra-op thread; more thin actors beat fewer fat
  ones because a page's stages are mostly serial.
- Work items are pages, not files: the first item of a file reads page 1 and reports the
  page count; the driver then queues pages 2..n as items of their own, so the pages of
  a 500-page TIFF or PDF spread over all actors instead of sitting on one.
- The driver is the only writer. It keeps each file's pages until all are back, then
  writes the file whole (its pages, or one error record exactly like a local run) into a
  shard. Shards are written atomically and listed in a manifest, so after a crash
  `resume=True` skips every file in a shard on disk and nothing is written twice.
- Faults: an actor that dies (killed, out of memory, a crash in native code) is restarted
  by Ray; the pages it had in flight go back to the queue and are retried one at a time on
  an otherwise idle actor, so a file that kills its reader every time is isolated and
  recorded as an error after `max_retries` retries instead of failing the run.

Ray and pyarrow (for Parquet) are optional: `pip install "ocrtool[ray]"`.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .batch import read_one
from .formats.annotate import ANNOTATED_SUFFIX
from .imageio import iter_image_files
from .io_utils import display_name, one_line_name, write_atomic
from .pdf import parse_pages, select_pages
from .results import PageResult

FORMATS = ("jsonl", "parquet")
MANIFEST = "manifest.jsonl"
SHARD_PREFIX = "part-"
IN_FLIGHT = 2  # calls queued per actor: the next page is there when one finishes

# One row per page, the same keys in every row and both formats. "lines" follows the JSON
# schema of `ocrtool read --format json`; a failed file has one row with "error" set.
COLUMNS = ("image", "page", "pages", "width", "height", "text", "lines", "models", "error")


class RayRunError(RuntimeError):
    """The run cannot start or go on (no Ray, a bad address, readers that fail to load);
    the message is one line, meant for users."""


@dataclass
class RunSummary:
    """What a `read_many` run did; `exit_code` is what `ocrtool read` exits with."""

    out_dir: Path
    files: int = 0  # files read in this run (not those skipped by resume)
    pages: int = 0
    errors: int = 0  # files recorded as errors
    skipped: int = 0  # files already done (resume)
    retries: int = 0  # pages sent again after an actor died
    actors: int = 0
    seconds: float = 0.0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (image, error)

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0


@dataclass
class _File:
    """A file in progress: its pages come back in any order, from any actor."""

    path: str
    wanted: list[int] | None = None  # the pages to read, known once the first is back
    pages: dict[int, PageResult] = field(default_factory=dict)
    tries: dict[int, int] = field(default_factory=dict)  # page -> actor deaths so far

    def complete(self) -> bool:
        return self.wanted is not None and len(self.pages) == len(self.wanted)


# ---------------------------------------------------------------------- the actor side


def read_item(reader, path: str, page: int, recognize_only: bool = False) -> PageResult:
    """Read page `page` of a file exactly as a local run reads it: `batch.read_one` on a
    Reader whose page selection is narrowed to that page (so labels, PDF text layers and
    one-line errors such as "page 2 of 3: ..." are the local run's own). The result's
    `pages` is the file's page count."""
    document = reader.document
    reader.document = replace(document, pages=[page])
    try:
        return read_one(reader, Path(path), recognize_only)[0]
    finally:
        reader.document = document


def model_versions(reader) -> dict[str, str]:
    """Which code and models made a row: the package version, backend and device, and the
    digest (or training step) each model file carries in its metadata."""
    from . import __version__

    backend = reader.backend

    def version(meta: dict) -> str:
        digest = str(meta.get("source_sha256") or "")[:16]
        return f"sha256:{digest}" if digest else f"step {meta.get('step', '?')}"

    quant = backend.recognizer_meta.get("quantization")
    return {"ocrtool": __version__,
            "backend": " ".join(x for x in (backend.name, quant, backend.device) if x),
            "detector": version(backend.detector_meta),
            "recognizer": version(backend.recognizer_meta)}


class PageReader:
    """A Ray actor: one Reader, loaded once, reading (path, page) items until the end."""

    def __init__(self, options: dict, recognize_only: bool,
                 reader_factory: Callable[[dict], Any] | None = None) -> None:
        if reader_factory is None:

            reader_factory = _build_reader
        self.reader = reader_factory(options)
        self.recognize_only = recognize_only
        self.models = model_versions(self.reader)

    def ready(self) -> tuple[int, dict[str, str]]:
        """(process id, model versions) once the models are loaded."""
        return os.getpid(), self.models

    def read(self, path: str, page: int) -> PageResult:
        return read_item(self.reader, path, page, self.recognize_only)


def _build_reader(options: dict):
    from .reader import Reader

    return Reader(**options)


# ---------------------------------------------------------------------- the driver side


def read_many(
    paths: Iterable[str | os.PathLike],
    out_dir: str | os.PathLike,
    config: Any = None,
    address: str | None = None,
    *,
    fmt: str = "jsonl",
    actors: int | None = None,
    resume: bool = False,
    recursive: bool = False,
    extensions: Sequence[str] | None = None,
    recognize_only: bool = False,
    max_retries: int = 2,
    shard_files: int = 1000,
    shard_seconds: float = 10.0,
    runtime_env: dict | None = None,
    reader_factory: Callable[[dict], Any] | None = None,
    on_file: Callable[[list[PageResult]], None] | None = None,
) -> RunSummary:
    """Read every image (every page of TIFFs and PDFs) under `paths` on Ray actors and
    write the pages as shards (`fmt` "jsonl" or "parquet") into `out_dir`.

    `config` is a ReaderConfig, a dict of Reader options, or None for the defaults; each
    actor gets one thread unless it sets `threads`. `address` is Ray's ("auto", "local",
    "HOST:PORT", "ray://HOST:PORT"; None: RAY_ADDRESS, a cluster started on this machine,
    else a new local instance); an already initialised Ray is used as it is. `actors`
    defaults to one per GPU of the cluster when it has GPUs (and `device` allows CUDA),
    else one per CPU. `resume` skips files already in a shard (a failed file is read
    again); without it the shards of an earlier run in `out_dir` are replaced.
    `max_retries`: how many times a page is sent again after its actor died before its
    file is recorded as an error. A shard is written every `shard_files` files or
    `shard_seconds` seconds, which bounds the work a killed driver loses.
    `reader_factory(options)` builds each actor's reader (default: Reader(**options)).
    `on_file(pages)` is called on the driver for every finished file.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown shard format {fmt!r} (use {', '.join(FORMATS)})")
    if fmt == "parquet":
        _require("pyarrow", "Parquet shards")
    ray = _require("ray", "--ray")
    out = Path(out_dir)
    started = time.perf_counter()
    # the same files as a local run: our own annotated pictures are never inputs
    files = [str(f) for f, _ in iter_image_files(paths, recursive=recursive,
                                                   extensions=extensions,
                                                   skip_suffixes=(ANNOTATED_SUFFIX,))]
    done = _prepare_out_dir(out, resume)  # absolute paths: resume from any folder
    summary = RunSummary(out_dir=out)
    summary.skipped = sum(1 for f in files if os.path.abspath(f) in done)
    files = [f for f in files if os.path.abspath(f) not in done]
    if not files:  # all done already: no cluster needed
        summary.seconds = time.perf_counter() - started
        return summary
    options = _reader_options(config)
    owned = not ray.is_initialized()  # a Ray we start is ours to shut down
    _connect(ray, address, runtime_env)
    try:
        pool = _start_actors(ray, options, recognize_only, reader_factory, actors)
        summary.actors = len(pool)
        writer = _ShardWriter(out, fmt, pool.models, shard_files, shard_seconds)
        try:
            _run(ray, pool, files, options.get("pages"), max_retries, writer, summary,
                 on_file)
        finally:  # files finished before an interrupt are kept for --resume
            writer.flush()
            pool.stop()
    finally:
        if owned:
            ray.shutdown()
    summary.seconds = time.perf_counter() - started
    return summary


def _require(module: str, what: str):
    try:
        return __import__(module)
    except ImportError:
        raise RayRunError(f"{what} needs the optional extra: pip install 'ocrtool[ray]' "
                          f"(module {module} is missing)") from None


def _reader_options(config: Any) -> dict:
    """Reader keyword arguments from a ReaderConfig, a dict or None; one thread unless
    the config asks for more (parallelism comes from the number of actors)."""
    if config is None:
        options: dict = {}
    elif isinstance(config, dict):
        options = dict(config)
    else:
        options = dict(config.to_dict())
    if options.get("threads") is None:
        options["threads"] = 1
    if options.get("weights") is not None:
        options["weights"] = str(options["weights"])
    return options


def check_address(address: str | None) -> str | None:
    """The address as Ray takes it; a value that cannot be one (most likely a folder the
    command line took as the address of --ray) is refused with a one-line error."""
    if address in (None, ""):
        return None
    if address in ("auto", "local") or ":" in address:
        return address
    raise RayRunError(f"{address!r} is not a Ray address (auto, local, HOST:PORT or "
                      "ray://HOST:PORT); write --ray=ADDRESS, or put --ray after the paths")


def _connect(ray, address: str | None, runtime_env: dict | None) -> None:
    if ray.is_initialized():
        return
    kwargs: dict = {"log_to_driver": False, "logging_level": "ERROR",
                    "configure_logging": True}
    if runtime_env:
        kwargs["runtime_env"] = runtime_env
    address = check_address(address)
    if address == "local":
        kwargs["include_dashboard"] = False
    try:
        ray.init(address=address, **kwargs)
    except Exception as e:  # ConnectionError, ValueError, RuntimeError from Ray
        raise RayRunError(f"cannot connect to Ray at {address or 'the default address'}: "
                          f"{' '.join(str(e).split())}") from None


class _Pool:
    """The actors, their in-flight calls, and which of them can take a page now.

    An actor that lost a call (it died) takes no page until a `ready` probe comes back
    from its restarted process: pages sent while Ray is restarting it would fail at once
    and use up their retries without ever being read.
    """

    def __init__(self, ray, handles: list, models: dict) -> None:
        self.ray, self.handles, self.models = ray, handles, models
        self.calls: dict = {}  # ObjectRef -> (actor index, path, page)
        self.probes: dict = {}  # ObjectRef -> actor index
        self.busy = [0] * len(handles)
        self.isolated = [False] * len(handles)
        self.alive = [True] * len(handles)
        self.dead = [False] * len(handles)  # Ray gave up on it (it cannot start again)

    def __len__(self) -> int:
        return len(self.handles)

    def refs(self) -> list:
        return [*self.calls, *self.probes]

    def free_actor(self, retried: bool) -> int | None:
        """An actor that can take another page now. A retried page (its last actor
        died on it) goes only to an idle actor and runs alone there, so that a page that
        crashes its reader cannot take other pages' retries down with it."""
        for i in range(len(self.handles)):
            if not self.alive[i] or self.isolated[i]:
                continue
            if (self.busy[i] == 0) if retried else (self.busy[i] < IN_FLIGHT):
                return i
        return None

    def submit(self, i: int, path: str, page: int, retried: bool) -> None:
        ref = self.handles[i].read.remote(path, page)
        self.calls[ref] = (i, path, page)
        self.busy[i] += 1
        self.isolated[i] = retried

    def finished(self, ref) -> tuple[int, str, int]:
        i, path, page = self.calls.pop(ref)
        self.busy[i] -= 1
        if self.busy[i] == 0:
            self.isolated[i] = False
        return i, path, page

    def lost(self, i: int) -> None:
        """Actor i died with a call in flight: wait for Ray to bring it back."""
        if self.alive[i]:
            self.alive[i] = False
            self.probes[self.handles[i].ready.remote()] = i

    def probed(self, ref) -> None:
        i = self.probes.pop(ref)
        try:
            self.ray.get(ref)
            self.alive[i] = True
        except self.ray.exceptions.ActorDiedError as e:  # will not come back
            self.dead[i] = True
            if all(self.dead):
                last = [x.strip() for x in str(e).splitlines() if x.strip()][-1:]
                raise RayRunError(f"every reader died: {' '.join(last)[:500]}") from None
        except self.ray.exceptions.RayError:  # still restarting: ask again
            self.probes[self.handles[i].ready.remote()] = i

    def stop(self) -> None:
        for handle in self.handles:
            self.ray.kill(handle, no_restart=True)


def actor_plan(resources: dict, options: dict, actors: int | None) -> tuple[int, dict]:
    """How many actors, and the Ray options of each, for a cluster's `resources`.

    GPU actors when the cluster has GPUs and the reader may use them (device not "cpu";
    the ONNX backend only when asked for "cuda"): one per GPU by default, sharing them when
    more are asked for. Otherwise one single-threaded actor per CPU. Ray restarts an actor
    that dies, for ever; giving up on a page is the driver's call (`max_retries`)."""
    device, backend = options.get("device", "auto"), options.get("backend", "auto")
    use_gpus = device == "cuda" or (device == "auto" and backend != "onnx")
    gpus = int(resources.get("GPU", 0)) if use_gpus else 0
    count = actors or gpus or max(1, int(resources.get("CPU", 1)))
    plan: dict = {"num_cpus": 1, "max_restarts": -1, "max_task_retries": 0}
    if gpus:
        plan["num_gpus"] = min(1.0, gpus / count)
    return count, plan


def _start_actors(ray, options: dict, recognize_only: bool, reader_factory,
                  actors: int | None) -> _Pool:
    count, plan = actor_plan(ray.cluster_resources(), options, actors)
    cls = ray.remote(**plan)(PageReader)
    handles = [cls.remote(options, recognize_only, reader_factory) for _ in range(count)]
    try:
        ready = ray.get([h.ready.remote() for h in handles])
    except Exception as e:  # the Reader failed to load: the same error on every actor
        for h in handles:
            ray.kill(h, no_restart=True)
        # Ray's message ends with the traceback's last line: "FileNotFoundError: ..."
        last = [line.strip() for line in str(e).splitlines() if line.strip()][-1:]
        raise RayRunError(f"the readers did not start on Ray: {' '.join(last)[:500]}") from None
    return _Pool(ray, handles, ready[0][1])


def _run(ray, pool: _Pool, files: list[str], spec, max_retries: int,
         writer: _ShardWriter, summary: RunSummary, on_file) -> None:
    """Hand out pages, collect results, write every file once all its pages are back.

    A file starts as one item, the first page its page selection `spec` can hold; that
    result tells the page count, and the other selected pages are queued from it."""
    first = min((lo for lo, _ in parse_pages(spec)), default=1)
    queue: deque[tuple[str, int]] = deque((f, first) for f in files)
    state = {f: _File(f) for f in files}

    def finish(item: _File) -> None:
        del state[item.path]
        pages = [item.pages[n] for n in item.wanted]
        failed = next((p for p in pages if p.error is not None), None)
        if failed is not None:  # a file fails as a whole, like a local run
            pages = [failed]  # read_one's record: page 1 of 1, the file's first error
            summary.errors += 1
            summary.failed.append((failed.image, failed.error))
        summary.files += 1
        summary.pages += len(pages)
        writer.add(item.path, pages)
        if on_file is not None:
            on_file(pages)

    while queue or pool.calls:
        while queue:
            path, page = queue[0]
            retried = state[path].tries.get(page, 0) > 0
            i = pool.free_actor(retried)
            if i is None:
                break
            queue.popleft()
            pool.submit(i, path, page, retried)
        ready, _ = ray.wait(pool.refs(), num_returns=1, timeout=1.0)
        writer.maybe_flush()
        for ref in ready:
            if ref in pool.probes:
                pool.probed(ref)
                continue
            actor, path, page = pool.finished(ref)
            item = state[path]
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as e:  # the actor died with this page in flight
                pool.lost(actor)
                item.tries[page] = item.tries.get(page, 0) + 1
                if item.tries[page] <= max_retries:
                    summary.retries += 1
                    queue.appendleft((path, page))
                    continue
                result = PageResult(display_name(path), 0, 0, error=(
                    f"the reader process died {item.tries[page]} times reading page {page} "
                    f"of this file ({type(e).__name__}): {one_line_name(path)}"))
            if item.wanted is None:
                if result.error is not None:
                    item.wanted = [page]
                else:  # the other pages go first: a long document spreads over all actors
                    item.wanted = select_pages(spec, result.pages, path)
                    queue.extendleft((path, n) for n in reversed(item.wanted) if n != page)
            item.pages[page] = result
            if item.complete():
                finish(item)


# ---------------------------------------------------------------------- shards on disk


class _ShardWriter:
    """Buffers finished files and writes them as one shard at a time, atomically; the
    manifest line for a shard is appended only after the shard is in place."""

    def __init__(self, out: Path, fmt: str, models: dict, max_files: int,
                 max_seconds: float) -> None:
        self.out, self.fmt, self.models = out, fmt, models
        self.max_files, self.max_seconds = max_files, max_seconds
        self.rows: list[dict] = []
        self.files: list[str] = []
        self.failed: list[str] = []
        self.last = time.monotonic()
        self.stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        self.seq = 0

    def add(self, path: str, pages: list[PageResult]) -> None:
        self.rows.extend(to_row(p, self.models) for p in pages)
        key = os.path.abspath(path)
        (self.failed if pages[0].error is not None else self.files).append(key)
        if len(self.files) + len(self.failed) >= self.max_files:
            self.flush()

    def maybe_flush(self) -> None:
        if time.monotonic() - self.last >= self.max_seconds:
            self.flush()

    def flush(self) -> None:
        self.last = time.monotonic()
        if not self.rows:
            return
        name = f"{SHARD_PREFIX}{self.stamp}-{self.seq:05d}.{self.fmt}"
        self.seq += 1
        write_shard(self.out / name, self.rows, self.fmt)
        _append_manifest(self.out, name, self.files, self.failed)
        self.rows, self.files, self.failed = [], [], []


def to_row(page: PageResult, models: dict) -> dict:
    """A page as a row of the fixed schema (COLUMNS)."""
    failed = page.error is not None
    return {"image": page.image, "page": page.page, "pages": page.pages,
            "width": page.width, "height": page.height,
            "text": "" if failed else page.text,
            "lines": [] if failed else [ln.to_dict() for ln in page.lines],
            "models": models, "error": page.error}


def write_shard(path: Path, rows: list[dict], fmt: str) -> None:
    """All rows in one file, written atomically (a reader sees the whole shard or none)."""
    if fmt == "jsonl":
        write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows, schema=parquet_schema()), sink)
    write_atomic(path, sink.getvalue().to_pybytes())


def parquet_schema():
    """The Parquet form of COLUMNS: lines and words as nested lists of structs."""
    import pyarrow as pa

    points = pa.list_(pa.list_(pa.float64()))
    word = pa.struct([("text", pa.string()), ("confidence", pa.float64()),
                      ("points", points)])
    line = pa.struct([("text", pa.string()), ("confidence", pa.float64()),
                      ("points", points), ("block", pa.int32()),
                      ("words", pa.list_(word))])
    models = pa.struct([(k, pa.string()) for k in ("ocrtool", "backend", "detector",
                                                    "recognizer")])
    return pa.schema([("image", pa.string()), ("page", pa.int32()), ("pages", pa.int32()),
                      ("width", pa.int32()), ("height", pa.int32()), ("text", pa.string()),
                      ("lines", pa.list_(line)), ("models", models),
                      ("error", pa.string())])


def read_shard(path: Path) -> list[dict]:
    """The rows of one shard, as dicts of COLUMNS."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def shards(out_dir: str | os.PathLike) -> list[Path]:
    """The finished shards in `out_dir`, oldest first (temporary files are not shards)."""
    out = Path(out_dir)
    return sorted(p for fmt in FORMATS for p in out.glob(f"{SHARD_PREFIX}*.{fmt}"))


def load_results(out_dir: str | os.PathLike) -> list[PageResult]:
    """Every page in the shards of `out_dir` as PageResults (failed files: one with
    `error`), in shard order."""
    pages = []
    for shard in shards(out_dir):
        for row in read_shard(shard):
            if row["error"] is not None:
                pages.append(PageResult(row["image"], 0, 0, error=row["error"]))
                continue
            record = {k: row[k] for k in ("image", "page", "pages", "width", "height",
                                          "lines")}
            pages.append(PageResult.from_dict(record))
    return pages


def _append_manifest(out: Path, shard: str, files: list[str], failed: list[str]) -> None:
    # ASCII escapes keep any file name (even bytes that are not UTF-8) exact
    line = json.dumps({"shard": shard, "files": files, "failed": failed}) + "\n"
    with open(out / MANIFEST, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def _manifest(out: Path) -> dict[str, dict]:
    """shard name -> its last manifest entry; a line torn by a kill is ignored (its
    shard is then read directly)."""
    entries: dict[str, dict] = {}
    path = out / MANIFEST
    if path.exists():
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                    entries[entry["shard"]] = entry
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue
    return entries


def _prepare_out_dir(out: Path, resume: bool) -> set[str]:
    """The files already done. Without resume an earlier run's shards and manifest are
    removed (only ours: nothing else in the folder is touched). With resume, shards that
    hold failed files are rewritten without them, so those files are read again and end
    up in the output once."""
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        for shard in shards(out):
            shard.unlink()
        (out / MANIFEST).unlink(missing_ok=True)
        return set()
    entries = _manifest(out)
    done: set[str] = set()
    for shard in shards(out):
        entry = entries.get(shard.name)
        if entry is None:  # written, then the driver died before the manifest line
            rows = read_shard(shard)
            failed = sorted({os.path.abspath(r["image"]) for r in rows
                             if r["error"] is not None})
            entry = {"files": sorted({os.path.abspath(r["image"]) for r in rows}
                                     - set(failed)), "failed": failed}
            _append_manifest(out, shard.name, entry["files"], failed)
        if entry["failed"]:
            kept = [r for r in read_shard(shard) if r["error"] is None]
            if kept:
                write_shard(shard, kept, shard.suffix[1:])
            else:
                shard.unlink()
            _append_manifest(out, shard.name, entry["files"], [])
        done.update(entry["files"])
    return done
