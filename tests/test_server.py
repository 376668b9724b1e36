"""`ocrtool serve` on loopback: the API, the limits, the token, bad input, shutdown.

Each server is the real command in a child process (models loaded, uvicorn, SIGTERM to
stop), talked to over HTTP with httpx, so what is tested is what a client gets.
"""

from __future__ import annotations

import io
import json
import random
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")
from PIL import Image, ImageDraw  # noqa: E402

from ocrtool.server.process import ServerProcess  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_UPLOAD_MB = 2
MAX_PIXELS = 4_000_000


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _cli_json(path: Path) -> list[dict]:
    """What `ocrtool read --format json` prints for `path` (one dict per page)."""
    out = subprocess.run([sys.executable, "-m", "ocrtool.cli", "read", "--format", "json",
                          "--threads", "1", str(path)],
                         capture_output=True, text=True, timeout=600, check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def _without_image(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "image"}


def _is_json_error(r: httpx.Response, status: int | tuple[int, ...]) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    assert r.status_code in statuses, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["status"] == r.status_code and body["error"]
    assert "Traceback" not in r.text and "\n" not in body["error"]
    return body


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("server") / "serve.log"
    with ServerProcess("--threads", "1", "--max-upload-mb", str(MAX_UPLOAD_MB),
                       "--max-pixels", str(MAX_PIXELS), "--max-pages", "3",
                       env={"OCRTOOL_TOKEN": TOKEN}, log=log) as s:
        s.log = log
        yield s


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=300) as c:
        yield c


@pytest.fixture(scope="module")
def line_png() -> bytes:
    return (SAMPLES / "line.png").read_bytes()


@pytest.fixture(scope="module")
def line_json(client, line_png) -> dict:
    r = client.post("/v1/read", files={"file": ("line.png", line_png, "image/png")})
    assert r.status_code == 200, r.text
    return r.json()


# ------------------------------------------------------------------ results

def test_json_equals_cli_json(client):
    """The acceptance check: the server's JSON is `ocrtool read --format json`'s."""
    path = SAMPLES / "receipt.jpg"
    expected = _cli_json(path)
    assert len(expected) == 1 and "CORNER MARKET" in expected[0]["text"]
    r = client.post("/v1/read", files={"file": ("receipt.jpg", path.read_bytes(),
                                                "image/jpeg")})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    got = r.json()
    assert got["image"] == "receipt.jpg"
    assert _without_image(got) == _without_image(expected[0])


def test_raw_body_and_multipart_agree(client, line_png, line_json):
    r = client.post("/v1/read", content=line_png, headers={"Content-Type": "image/png"})
    assert r.status_code == 200
    assert r.json()["image"] == "upload"
    assert _without_image(r.json()) == _without_image(line_json)
    assert "2024-0042" in line_json["text"] and line_json["lines"][0]["points"]


def test_formats_by_option_and_by_accept(client, line_png, line_json):
    files = {"file": ("line.png", line_png, "image/png")}
    text = client.post("/v1/read?format=text", files=files)
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text == line_json["text"] + "\n"
    tsv = client.post("/v1/read", files=files,
                      headers={**AUTH, "Accept": "text/tab-separated-values"})
    rows = tsv.text.splitlines()
    assert rows[0].startswith("image\tline\tword") and len(rows) == 1 + len(
        [w for ln in line_json["lines"] for w in ln["words"]])
    hocr = client.post("/v1/read", files=files, data={"format": "hocr"})
    assert "ocrx_word" in hocr.text and hocr.headers["content-type"].startswith("text/html")
    assert client.post("/v1/read", files=files,
                       headers={**AUTH, "Accept": "*/*"}).json() == line_json
    _is_json_error(client.post("/v1/read", files=files,
                               headers={**AUTH, "Accept": "image/png"}), 406)


def test_reading_options_as_query_and_form(client, line_png):
    files = {"file": ("line.png", line_png, "image/png")}
    by_query = client.post("/v1/read?detail=words&decoder=beam&beam_width=4", files=files)
    by_form = client.post("/v1/read", files=files,
                          data={"detail": "words", "decoder": "beam", "beam_width": "4"})
    assert by_query.status_code == by_form.status_code == 200
    assert by_query.json() == by_form.json()
    lines = by_query.json()["lines"]
    assert len(lines) > 3  # one "line" per word
    assert all(len(ln["words"]) == 1 and ln["words"][0]["text"] == ln["text"] for ln in lines)
    allowed = client.post("/v1/read?allowlist=0123456789", files=files).json()
    assert allowed["text"] and set(allowed["text"]) <= set("0123456789 \n")


@pytest.mark.parametrize("query, message", [
    ("decoder=foo", "not one of greedy, beam"),
    ("beam_width=0", "outside"),
    ("beam_width=two", "not an integer"),
    ("min_confidence=nan", "outside"),
    ("lm_weight=1", "needs decoder=beam"),
    ("format=docx", "option format"),
    ("weights=/etc", "unknown option 'weights'"),
    ("decoder=beam&decoder=greedy", "given twice"),
    ("no_detect=maybe", "not a boolean"),
])
def test_bad_options_are_400(client, line_png, query, message):
    r = client.post(f"/v1/read?{query}", files={"file": ("a.png", line_png, "image/png")})
    assert message in _is_json_error(r, 400)["error"]


def test_client_file_names_are_labels_not_paths(client, line_png):
    r = client.post("/v1/read", files={"file": ("../../etc/passwd.png", line_png,
                                                "image/png")})
    assert r.json()["image"] == "passwd.png"
    r = client.post("/v1/read", files={"file": (None, "/etc/passwd")})  # a path, not a file
    assert "field named 'file'" in _is_json_error(r, 400)["error"]


# ------------------------------------------------------------------ bad input

def test_bad_input_is_a_4xx_json_error(client, line_png):
    cases = [
        (dict(content=b"", headers={"Content-Type": "image/png"}), 400, "empty"),
        (dict(content=b"\x89PNG\r\n\x1a\n" + bytes(200), headers={"Content-Type": "image/png"}),
         422, ""),
        (dict(content=line_png[: len(line_png) // 2], headers={"Content-Type": "image/png"}),
         422, ""),
        (dict(content=b"hello", headers={"Content-Type": "text/plain"}), 415, "content type"),
        (dict(content=json.dumps({"path": "/etc/passwd"}),
              headers={"Content-Type": "application/json"}), 415, "content type"),
        (dict(content=line_png, headers={"Content-Type": "application/x-www-form-urlencoded"}),
         415, "multipart"),
        (dict(files={"file": ("a.txt", b"plain text", "text/plain")}), 415, "file content type"),
        (dict(files=[("file", ("a.png", line_png, "image/png")),
                     ("file", ("b.png", line_png, "image/png"))]), 400, "multipart"),
        (dict(content=b"--x\r\nbroken", headers={"Content-Type": "multipart/form-data"}),
         400, "multipart"),
    ]
    for kwargs, status, message in cases:
        r = client.post("/v1/read", **kwargs)
        assert message in _is_json_error(r, status)["error"], kwargs
    _is_json_error(client.get("/nothing/here"), 404)
    _is_json_error(client.get("/v1/read"), 405)
    assert client.get("/healthz").status_code == 200  # still alive


def test_upload_limit_is_413(client):
    big = b"\x00" * (MAX_UPLOAD_MB * 1024 * 1024 + 1000)
    r = client.post("/v1/read", content=big, headers={"Content-Type": "image/png"})
    assert "too large" in _is_json_error(r, 413)["error"]
    huge = b"\x00" * (MAX_UPLOAD_MB * 1024 * 1024 * 6)  # far over: refused on its header
    try:
        r = client.post("/v1/read", content=huge, headers={"Content-Type": "image/png"})
        _is_json_error(r, 413)
    except httpx.TransportError:
        pass  # the server may close before the whole body is sent; it must not read it
    assert client.get("/healthz").status_code == 200


def test_pixel_and_page_limits_are_413(client):
    wide = _png(Image.new("L", (4000, 1001), 255))  # 4.0 Mpx: a few KB of PNG
    r = client.post("/v1/read", content=wide, headers={"Content-Type": "image/png"})
    assert "4000x1001" in _is_json_error(r, 413)["error"]
    pages = [Image.new("RGB", (200, 100), "white") for _ in range(4)]
    buf = io.BytesIO()
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:])
    r = client.post("/v1/read", content=buf.getvalue(), headers={"Content-Type": "image/tiff"})
    assert "too many pages" in _is_json_error(r, 413)["error"]


def test_multi_page_tiff_gives_json_lines(client, line_png):
    page = Image.open(io.BytesIO(line_png)).convert("RGB")
    buf = io.BytesIO()
    page.save(buf, "TIFF", save_all=True, append_images=[page])
    r = client.post("/v1/read", files={"file": ("two.tif", buf.getvalue(), "image/tiff")})
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-ndjson"
    records = [json.loads(line) for line in r.text.splitlines()]
    assert [(d["page"], d["pages"]) for d in records] == [(1, 2), (2, 2)]
    assert records[0]["text"] == records[1]["text"] and "2024-0042" in records[0]["text"]


def test_pdf_pages_are_read_and_limited(client, line_png):
    pytest.importorskip("pypdfium2")
    if "pages" not in {o["name"] for o in client.get("/v1/info").json()["server"]["options"]}:
        pytest.skip("this Reader reads no PDF")
    page = Image.open(io.BytesIO(line_png)).convert("RGB")
    buf = io.BytesIO()
    page.save(buf, "PDF", save_all=True, append_images=[page] * 3, resolution=150)
    pdf = buf.getvalue()
    r = client.post("/v1/read", content=pdf, headers={"Content-Type": "application/pdf"})
    assert "too many pages: 4" in _is_json_error(r, 413)["error"]
    r = client.post("/v1/read?pages=2-3&dpi=150", files={"file": ("four.pdf", pdf,
                                                                  "application/pdf")})
    assert r.status_code == 200, r.text
    records = [json.loads(line) for line in r.text.splitlines()]
    assert [(d["page"], d["pages"]) for d in records] == [(2, 4), (3, 4)]
    assert all("2024-0042" in d["text"] for d in records)


# ------------------------------------------------------------------ token, info, docs

def test_token_guards_everything_but_health_and_page(server):
    with httpx.Client(base_url=server.url, timeout=60) as anon:
        assert anon.get("/healthz").json()["status"] == "ok"
        assert anon.get("/").status_code == 200 and "ocrtool" in anon.get("/").text
        assert anon.get("/static/app.js").status_code == 200
        for method, path in [("GET", "/v1/info"), ("POST", "/v1/read"),
                             ("GET", "/openapi.json")]:
            r = anon.request(method, path)
            _is_json_error(r, 401)
            assert r.headers["www-authenticate"] == "Bearer"
            r = anon.request(method, path, headers={"Authorization": "Bearer wrong"})
            assert "wrong bearer token" in _is_json_error(r, 401)["error"]


def test_info_is_ocrtool_info(client):
    from ocrtool.commands.info import collect_info

    info = client.get("/v1/info").json()
    local = collect_info()
    assert info["version"] == local["version"] and info["models"] == local["models"]
    assert info["charset"] == local["charset"]
    assert "weights_dir" not in info  # no server paths to clients
    assert info["server"]["limits"]["max_pixels"] == MAX_PIXELS
    assert "json" in info["server"]["formats"]
    assert {"decoder", "detail", "allowlist"} <= {o["name"] for o in info["server"]["options"]}


def test_openapi_and_docs(client):
    doc = client.get("/openapi.json").json()
    params = {p["name"] for p in doc["paths"]["/v1/read"]["post"]["parameters"]}
    assert {"format", "decoder", "beam_width", "detail"} <= params
    assert "413" in doc["paths"]["/v1/read"]["post"]["responses"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/static/docs.js" in docs.text
    page = client.get("/").text
    links = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert links and all(link.startswith("/") for link in links)  # nothing from a CDN


def test_one_log_line_per_request(server, client):
    client.post("/v1/read", content=b"garbage", headers={"Content-Type": "image/png"})
    time.sleep(0.2)
    lines = server.log.read_text().splitlines()
    bad = [ln for ln in lines if "POST /v1/read 422" in ln]
    assert bad and 'error="not an image' in bad[-1]
    assert not any("Traceback" in ln for ln in lines)


# ------------------------------------------------------------------ under load

def test_mixed_traffic_keeps_answers_right(client, line_png, line_json):
    """A short version of bench/bench_server.py --mix: good and bad requests at once."""
    corrupt = line_png[:300]
    big = b"\x00" * (MAX_UPLOAD_MB * 1024 * 1024 + 10)
    kinds = ["good"] * 24 + ["corrupt"] * 12 + ["empty"] * 12 + ["type"] * 12 + ["big"] * 4
    random.Random(0).shuffle(kinds)

    def one(kind: str) -> tuple[str, int, dict]:
        if kind == "good":
            r = client.post("/v1/read", files={"file": ("line.png", line_png, "image/png")})
        elif kind == "corrupt":
            r = client.post("/v1/read", content=corrupt, headers={"Content-Type": "image/png"})
        elif kind == "empty":
            r = client.post("/v1/read", content=b"", headers={"Content-Type": "image/jpeg"})
        elif kind == "type":
            r = client.post("/v1/read", content=line_png, headers={"Content-Type": "text/csv"})
        else:
            r = client.post("/v1/read", content=big, headers={"Content-Type": "image/png"})
        return kind, r.status_code, r.json()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, kinds))
    for kind, status, body in results:
        if kind == "good":
            assert status == 200 and body == line_json
        else:
            assert 400 <= status < 500 and body["status"] == status, (kind, status, body)
    assert client.get("/healthz").status_code == 200


# ------------------------------------------------------------------ queue, timeout, shutdown

def _busy_page() -> bytes:
    """A page with many text lines: seconds of work on any CPU."""
    image = Image.new("RGB", (1400, 1800), "white")
    draw = ImageDraw.Draw(image)
    for row in range(60):
        draw.text((40, 20 + row * 29), f"Line {row:02d} of a long busy page 12.50 EUR "
                  f"INV-{row * 37:05d} total", fill="black")
    return _png(image.resize((1400, 1800)))


def test_full_queue_is_503_with_retry_after_and_timeout_is_503(tmp_path):
    busy = _busy_page()
    with ServerProcess("--threads", "1", "--queue", "1", "--timeout", "0.5",
                       log=tmp_path / "serve.log") as s, \
            httpx.Client(base_url=s.url, timeout=120) as c:
        hold = {}
        first = threading.Thread(target=lambda: hold.setdefault("r", c.post(
            "/v1/read", content=busy, headers={"Content-Type": "image/png"})))
        first.start()
        time.sleep(0.2)
        r = c.post("/v1/read", content=busy, headers={"Content-Type": "image/png"})
        body = _is_json_error(r, 503)
        assert "busy" in body["error"] and int(r.headers["retry-after"]) >= 1
        first.join()
        body = _is_json_error(hold["r"], 503)
        assert "timed out" in body["error"] and hold["r"].headers["retry-after"]
        # the abandoned reading still holds its slot, and the server still answers
        assert c.get("/healthz").status_code == 200
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the slot frees when that reading ends
            r = c.post("/v1/read?format=text", content=b"x",
                       headers={"Content-Type": "image/png"})
            if r.status_code != 503:
                break
            time.sleep(0.5)
        assert r.status_code == 422


def test_workers_each_load_the_models_once(tmp_path, line_png):
    log = tmp_path / "serve.log"
    with ServerProcess("--workers", "2", log=log) as s, \
            httpx.Client(base_url=s.url, timeout=300) as c:
        answers = [c.post("/v1/read", content=line_png, headers={"Content-Type": "image/png"})
                   for _ in range(4)]
        assert all(r.status_code == 200 and "2024-0042" in r.json()["text"] for r in answers)
        deadline = time.monotonic() + 120  # the second worker may log a moment later
        while len(re.findall(r"\(pid (\d+)\); models loaded", log.read_text())) < 2 \
                and time.monotonic() < deadline:
            time.sleep(0.5)
    pids = re.findall(r"\(pid (\d+)\); models loaded", log.read_text())
    assert len(pids) == 2 and len(set(pids)) == 2


def test_graceful_shutdown_finishes_requests_in_flight(tmp_path):
    busy = _busy_page()
    s = ServerProcess("--threads", "1", log=tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=s.url, timeout=300) as c:
            got = {}
            t = threading.Thread(target=lambda: got.setdefault("r", c.post(
                "/v1/read?format=text", content=busy, headers={"Content-Type": "image/png"})))
            t.start()
            time.sleep(1.0)  # the request is in the model now
            s.proc.terminate()
            t.join()
        assert got["r"].status_code == 200
        assert got["r"].text.lower().count("busy") >= 50  # the whole page was read
        # uvicorn re-raises the SIGTERM after its clean shutdown (exit by that signal)
        assert s.proc.wait(120) in (0, -15)
        assert "ocrtool server stopped" in (tmp_path / "serve.log").read_text()
    finally:
        s.stop()


def test_searchable_pdf_out(client, line_png, line_json):
    pdfium = pytest.importorskip("pypdfium2")
    by_format = client.post("/v1/read?format=pdf",
                            files={"file": ("line.png", line_png, "image/png")})
    by_accept = client.post("/v1/read", files={"file": ("line.png", line_png, "image/png")},
                            headers={**AUTH, "Accept": "application/pdf"})
    for r in (by_format, by_accept):
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        doc = pdfium.PdfDocument(r.content)
        assert len(doc) == 1
        layer = doc[0].get_textpage().get_text_range()
        # the invisible text layer holds what was read, word for word
        assert layer.split() == line_json["text"].split()
