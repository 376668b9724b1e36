"""The ASGI application of `ocrtool serve` (Starlette): routes, errors, token, request log.

Routes
    POST /v1/read      an image (multipart field `file`, or the raw body) -> the result in
                       any format of `ocrtool.formats` (JSON by default)
    GET  /v1/info      what `ocrtool info` shows, plus this server's limits and options
    GET  /healthz      liveness; never needs the token
    GET  /openapi.json the API description; GET /docs renders it
    GET  /             the page: drop an image, see its boxes and text (static files)

Every error is JSON `{"error": ..., "status": ...}` and one log line; an unexpected
exception is a 500 with a generic message (its traceback goes to the log only at DEBUG).
The page and its files need no token (they are the package's own static files and hold
no data); the API and its description do when one is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import mimetypes
import os
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..formats import FORMATS, PICTURE_FORMATS, render_pages
from .engine import Engine
from .errors import ApiError
from .limits import Limits, ModelQueue, check_image_size, read_body
from .openapi import openapi_document
from .options import OptionTable

log = logging.getLogger("ocrtool.server")
STATIC = Path(__file__).resolve().parent / "static"
CONFIG_ENV = "OCRTOOL_SERVE_CONFIG"  # how `ocrtool serve --workers N` reaches each worker
PUBLIC_PATHS = ("/healthz", "/", "/docs")
PUBLIC_PREFIXES = ("/static/",)
# Request bodies the server reads as an image file (anything else is a 415).
RAW_TYPES = ("application/octet-stream", "application/pdf")
# What each format is sent as; a format added to ocrtool.formats later gets the type its
# file extension has (or application/octet-stream), so it works without a change here.
MEDIA_TYPES = {
    "json": "application/json", "text": "text/plain; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8", "hocr": "text/html; charset=utf-8",
    "alto": "application/xml", "pdf": "application/pdf",
}
# Formats a reading can be answered in: the text formats, and the searchable PDF (the
# upload's own pages under an invisible text layer).
SERVED_FORMATS = (*FORMATS, *PICTURE_FORMATS)
# Accept header media types -> format name (first match in the client's order wins).
ACCEPTED = {
    "application/json": "json", "application/x-ndjson": "json", "application/jsonl": "json",
    "text/plain": "text", "text/tab-separated-values": "tsv",
    "text/vnd.hocr+html": "hocr", "application/xhtml+xml": "hocr",
    "application/alto+xml": "alto", "application/xml": "alto", "text/xml": "alto",
    "application/pdf": "pdf",
}
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"default-src 'self'; img-src 'self' blob: data:; "
                                 b"object-src 'none'; frame-ancestors 'none'"),
]


@dataclass
class ServerConfig:
    """Everything the operator chooses at `ocrtool serve`; clients can change none of it."""

    reader: dict[str, Any] = field(default_factory=dict)  # backend, device, weights...
    limits: Limits = field(default_factory=Limits)
    token: str | None = None
    workers: int = 1
    log_level: str = "info"

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "limits": asdict(self.limits)})

    @classmethod
    def from_json(cls, text: str) -> ServerConfig:
        d = json.loads(text)
        return cls(d["reader"], Limits(**d["limits"]), d.get("token"), d.get("workers", 1),
                   d.get("log_level", "info"))


def create_app(config: ServerConfig | None = None) -> Starlette:
    """The application; the models load when it starts (its lifespan), once per process."""
    config = config or ServerConfig()
    _log_to_stderr(config.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        queue = ModelQueue(config.limits.queue_size, config.limits.timeout_s)
        engine = Engine(config.reader)
        try:
            await asyncio.wrap_future(queue.submit(engine.reader))  # the default Reader
        except Exception as e:
            queue.shutdown()
            raise RuntimeError(f"cannot load the models: {' '.join(str(e).split())}") from None
        app.state.queue, app.state.engine = queue, engine
        app.state.options = OptionTable()
        log.info("ocrtool %s serving (pid %d); models loaded", __version__, os.getpid())
        try:
            yield
        finally:
            # uvicorn has already waited for the requests in flight; this finishes any
            # reading they abandoned (a timeout) before the process ends
            await asyncio.to_thread(queue.shutdown)
            log.info("ocrtool server stopped (pid %d)", os.getpid())

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/v1/info", info, methods=["GET"]),
        Route("/v1/read", read, methods=["POST"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        ApiError: _api_error, HTTPException: _http_error})
    app.state.config = config
    app.state.info = None
    # added last = outermost: the log sees (and the catch-all answers) everything
    app.add_middleware(TokenAuth, token=config.token)
    app.add_middleware(RequestLog)
    return app


def app_from_env() -> Starlette:
    """Factory for uvicorn's worker processes (`--workers N`): the config comes as JSON in
    the environment, set by `ocrtool serve` before it starts them."""
    text = os.environ.get(CONFIG_ENV)
    return create_app(ServerConfig.from_json(text) if text else None)


# ---------------------------------------------------------------------------- routes

async def read(request: Request) -> Response:
    """POST /v1/read: one image file in, its reading out."""
    state = request.app.state
    limits: Limits = state.config.limits
    media = _media_type(request.headers.get("content-type", ""))
    multipart = media == "multipart/form-data"
    if not multipart:
        _check_file_type(media, "request")
    fields = _fields(request.query_params.multi_items(), "query")
    async with state.queue.admit() as slot:
        body = await read_body(request, limits.max_upload_bytes, slot.remaining())
        if multipart:
            data, name, form_fields = await _parse_multipart(request, body)
            both = sorted(set(fields) & set(form_fields))
            if both:
                raise ApiError(400, f"option {both[0]} given both in the query and the form")
            fields.update(form_fields)
        else:
            data, name = body, "upload"
        options = state.options.parse(fields, SERVED_FORMATS)
        fmt = options.format or _negotiate(request.headers.get("accept", ""))
        if not data:
            raise ApiError(400, "empty upload: send an image file")
        # headers only, but a PDF's page tree is parsed: off the event loop
        await asyncio.to_thread(check_image_size, data, limits, options.reader.get("pages"))
        engine: Engine = state.engine
        key, read_kwargs = options.reader_key(), options.read

        def job() -> tuple[str | bytes, int]:
            pages = engine.read(data, name, key, read_kwargs)
            if fmt in PICTURE_FORMATS:  # the upload's own pages under their text layer
                return searchable_pdf_bytes(data, pages, options.reader), len(pages)
            return render_pages(pages, fmt), len(pages)

        content, n_pages = await slot.run(job)
    return Response(content, media_type=_format_media_type(fmt, n_pages))


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok", "version": __version__})


async def info(request: Request) -> Response:
    """What `ocrtool info` shows (its own code), less the server's file-system paths."""
    state = request.app.state
    if state.info is None:
        from ..commands.info import collect_info

        data = await asyncio.to_thread(collect_info)
        data.pop("weights_dir", None)
        state.info = data
    config: ServerConfig = state.config
    server = {"workers": config.workers, "limits": config.limits.describe(),
              "formats": list(SERVED_FORMATS), "options": state.options.describe(),
              "token_required": bool(config.token)}
    return JSONResponse({**state.info, "server": server})


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document(request.app.state.options.describe(),
                                         list(SERVED_FORMATS), request.app.state.config.limits))


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


async def docs(request: Request) -> Response:
    return FileResponse(STATIC / "docs.html", media_type="text/html; charset=utf-8")


# ---------------------------------------------------------------------------- helpers

def searchable_pdf_bytes(data: bytes, pages: list, reader_options: dict) -> bytes:
    """The uploaded file's pages, at the pages and resolution they were read at, as one
    searchable PDF (the same builder as `ocrtool read --format pdf`)."""
    from ..formats.pdf import SearchablePdf, add_source_pages
    from ..pdf import DEFAULT_DPI

    dpi = reader_options.get("dpi") or DEFAULT_DPI
    doc = SearchablePdf(dpi, title="ocrtool")
    add_source_pages(doc, data, pages, reader_options.get("pages"), dpi)
    return doc.to_bytes()


def _media_type(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()


def _check_file_type(media: str, where: str) -> None:
    """An image file may come as image/*, a PDF, octet-stream, or with no type at all."""
    if media and not media.startswith("image/") and media not in RAW_TYPES:
        raise ApiError(415, f"unsupported {where} content type {media!r}: send the image as "
                            "multipart/form-data (field 'file') or as the raw body with an "
                            "image/* or application/octet-stream type")


def _fields(items: list[tuple[str, Any]], where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in items:
        if key in out:
            raise ApiError(400, f"option {key} given twice in the {where}")
        out[key] = value
    return out


async def _parse_multipart(request: Request, body: bytes) -> tuple[bytes, str, dict[str, str]]:
    """The file and the option fields of a multipart body (already read and size-checked)."""
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form(max_files=1, max_fields=64,
                                                       max_part_size=64 * 1024)
    try:
        files = [(k, v) for k, v in form.multi_items() if isinstance(v, UploadFile)]
        values = [(k, v) for k, v in form.multi_items() if not isinstance(v, UploadFile)]
        if not files or files[0][0] != "file":
            raise ApiError(400, "multipart upload without a file: send it in a field named "
                                "'file'")
        upload: UploadFile = files[0][1]
        _check_file_type(_media_type(upload.content_type or ""), "file")
        data = await upload.read()
        return data, _base_name(upload.filename), _fields(values, "form")
    finally:
        await form.close()


def _base_name(filename: str | None) -> str:
    """Only the last part of a client's file name is kept: it labels the result and is
    never used as a path."""
    name = PureWindowsPath(PurePosixPath(filename or "").name).name.strip()
    return name[:255] or "upload"


def _negotiate(accept: str) -> str:
    """The format an Accept header asks for; JSON when it names none we write."""
    if not accept.strip():
        return "json"
    ranked = []
    for position, part in enumerate(accept.split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for p in params:
            if p.startswith("q="):
                with contextlib.suppress(ValueError):
                    q = float(p[2:])
        ranked.append((-q, position, media.lower()))
    for neg_q, _, media in sorted(ranked):
        if neg_q >= 0:
            break
        if media in ("*/*", "application/*"):
            return "json"
        if media == "text/*":
            return "text"
        if ACCEPTED.get(media) in SERVED_FORMATS:
            return ACCEPTED[media]
    raise ApiError(406, f"cannot answer in any type of Accept: {accept}; use the format "
                        f"option ({', '.join(SERVED_FORMATS)})")


def _format_media_type(fmt: str, n_pages: int) -> str:
    if fmt == "json" and n_pages > 1:
        return "application/x-ndjson"  # one JSON object per page, as `ocrtool read` writes
    if fmt in MEDIA_TYPES:
        return MEDIA_TYPES[fmt]
    guessed = mimetypes.guess_type("x" + FORMATS[fmt].extension)[0]
    return guessed or "application/octet-stream"


def _error_response(status: int, message: str, headers: dict[str, str] | None = None
                    ) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status, headers=headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    request.state.error = exc.message
    return _error_response(exc.status, exc.message, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (404, 405, a malformed multipart body) as JSON too."""
    assert isinstance(exc, HTTPException)
    message = " ".join(str(exc.detail).split())
    if exc.status_code == 400 and "multipart" not in message.lower():
        message = f"malformed multipart body: {message}"
    request.state.error = message
    return _error_response(exc.status_code, message, dict(exc.headers or {}))


# ---------------------------------------------------------------------------- middleware

class TokenAuth:
    """Bearer token on everything but the health check and the page's static files."""

    def __init__(self, app, token: str | None) -> None:
        self.app = app
        self.token = token.encode() if token else None

    async def __call__(self, scope, receive, send) -> None:
        if self.token is None or scope["type"] != "http" or _is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, given = header.partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self.token):
            await self.app(scope, receive, send)
            return
        message = "missing or wrong bearer token" if header else "this server needs a token"
        scope.setdefault("state", {})["error"] = message
        response = _error_response(401, message, {"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class RequestLog:
    """One log line per request, security headers on every answer, and the last line of
    defence: an exception that escapes a route becomes a JSON 500, never a crash or a
    traceback sent to the client."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        state = scope.setdefault("state", {})
        status = 0

        async def send_with_headers(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []),
                                                  *SECURITY_HEADERS]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as e:  # a bug, not the client's fault: log it, answer 500
            state["error"] = f"internal error ({type(e).__name__}: {' '.join(str(e).split())})"
            log.debug("traceback:\n%s", traceback.format_exc())
            if not status:
                with contextlib.suppress(Exception):
                    await _error_response(500, "internal server error")(scope, receive, send)
                status = 500
        finally:
            client = (scope.get("client") or ("-",))[0]
            error = state.get("error")
            line = (f"{client} {scope['method']} {scope['path']} {status} "
                    f"{(time.perf_counter() - start) * 1000:.0f}ms")
            if error:
                line += f" error={json.dumps(error, ensure_ascii=False)}"
            log.log(logging.WARNING if status >= 500 else logging.INFO, line)


def _log_to_stderr(level: str) -> None:
    """Give the server's logger a handler of its own in every worker process."""
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(level.upper())
