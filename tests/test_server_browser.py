"""The page at / in a real browser: Debian's chromium, headless, driven by Playwright.

Uploads a sample, waits for the text and the boxes, clicks a line, downloads the JSON.
Set OCRTOOL_SCREENSHOT=docs/server.png to save the screenshot the README shows.
No browser is ever downloaded: without /usr/bin/chromium (apt-get install chromium) the
test is skipped.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")
sync_api = pytest.importorskip("playwright.sync_api")

from ocrtool.server.process import ServerProcess  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "receipt.jpg"
CHROMIUM = os.environ.get("OCRTOOL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="needs Debian's chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("browser") / "serve.log"
    with ServerProcess("--threads", "1", log=log) as s:
        yield s


@pytest.fixture(scope="module")
def page():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860},
                                      accept_downloads=True)
        yield context.new_page()
        browser.close()


def test_page_reads_an_image_and_draws_its_boxes(server, page, tmp_path):
    api = httpx.post(server.url + "/v1/read", timeout=300,
                     files={"file": (SAMPLE.name, SAMPLE.read_bytes(), "image/jpeg")}).json()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith((server.url, "blob:", "data:")) else None)

    page.goto(server.url + "/")
    page.set_input_files("#file", str(SAMPLE))
    page.wait_for_selector("#lines li", timeout=300_000)

    items = page.locator("#lines li")
    boxes = page.locator("#boxes polygon")
    assert items.count() == boxes.count() == len(api["lines"]) > 5
    shown = page.locator("#lines li .text").all_inner_texts()
    assert shown == [ln["text"] for ln in api["lines"]]
    assert "CORNER MARKET" in page.inner_text("#lines")
    # the boxes lie over the picture, scaled with it
    picture = page.locator("#picture").bounding_box()
    svg = page.locator("#boxes").bounding_box()
    assert picture["width"] > 200 and abs(svg["width"] - picture["width"]) < 2
    first = boxes.nth(0).bounding_box()
    assert picture["x"] <= first["x"] < picture["x"] + picture["width"]
    assert picture["y"] <= first["y"] < picture["y"] + picture["height"]

    items.nth(2).click()  # a click on a line highlights its box, and only that one
    assert page.locator("#boxes polygon.active").count() == 1
    assert boxes.nth(2).get_attribute("class") == "active"
    boxes.nth(4).click(force=True)  # and a click on a box highlights its line
    assert items.nth(4).get_attribute("class") == "active"

    with page.expect_download() as download:
        page.click("#download")
    saved = tmp_path / "result.json"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "receipt.jpg.json"
    assert json.loads(saved.read_text()) == api

    items.nth(2).click()
    screenshot = os.environ.get("OCRTOOL_SCREENSHOT")
    page.screenshot(path=screenshot or str(tmp_path / "server.png"))
    assert not errors, errors
    assert not outside, outside  # nothing fetched from anywhere but the server


def test_page_shows_a_server_error(server, page, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    page.goto(server.url + "/")
    page.set_input_files("#file", str(bad))
    page.wait_for_selector("#status.error", timeout=60_000)
    assert "Error 422" in page.inner_text("#status")
    assert page.locator("#lines li").count() == 0
