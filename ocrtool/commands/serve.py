"""`ocrtool serve`: the HTTP API and the page (see ocrtool/server/), under uvicorn.

Binds to loopback unless --host says otherwise. With --workers N, N processes share the
port, each loading the models once and splitting the CPU threads between them.
"""

from __future__ import annotations

import os

import click

from .options import model_options

TOKEN_ENV = "OCRTOOL_TOKEN"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind (0.0.0.0 for every interface: set a token then).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes, each with its own models.")
@click.option("--token", envvar=TOKEN_ENV, show_envvar=True,
              help="Require 'Authorization: Bearer TOKEN' on everything but /healthz and "
                   "the page's files (prefer the environment variable: a command line is "
                   "visible to other users).")
@model_options
@click.option("--threads", type=click.IntRange(1, 256), default=None,
              help="CPU threads per worker (default: the cores split between workers).")
@click.option("--max-upload-mb", type=click.FloatRange(0.001, 1024), default=20.0,
              show_default=True, help="Larger uploads get 413.")
@click.option("--max-pixels", type=click.IntRange(1), default=50_000_000, show_default=True,
              help="Larger images get 413 before they are decoded.")
@click.option("--max-pages", type=click.IntRange(1), default=20, show_default=True,
              help="Pages per request of a multi-page file.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.1, 3600), default=60.0,
              show_default=True, help="Seconds per request, upload and reading together.")
@click.option("--queue", "queue_size", type=click.IntRange(1, 10_000), default=32,
              show_default=True,
              help="Requests admitted at once per worker; more get 503 with Retry-After.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="info", show_default=True)
def serve(host, port, workers, token, backend, device, weights, precision, lang, threads,
          max_upload_mb, max_pixels, max_pages, timeout_s, queue_size, log_level) -> None:
    """Serve OCR over HTTP: POST /v1/read, GET /v1/info, /healthz, /docs and a page at /."""
    try:
        import uvicorn

        from ..server.app import CONFIG_ENV, ServerConfig, app_from_env, create_app
        from ..server.limits import Limits
    except ImportError as e:
        raise click.ClickException(f"the server needs its extra: pip install "
                                   f"'ocrtool[serve]' ({e})") from None
    if threads is None and workers > 1:
        threads = max(1, (os.cpu_count() or 1) // workers)
    limits = Limits(max_upload_bytes=int(max_upload_mb * 1024 * 1024), max_pixels=max_pixels,
                    max_pages=max_pages, timeout_s=timeout_s, queue_size=queue_size)
    reader = {"backend": backend, "device": device,
              "weights": str(weights) if weights else None,
              "precision": precision, "lang": lang, "threads": threads}
    config = ServerConfig(reader=reader, limits=limits, token=token or None, workers=workers,
                          log_level=log_level)
    if host not in LOOPBACK and not token:
        click.echo(f"ocrtool: warning: serving on {host} without a token: anyone who can "
                   f"reach this port can use it (set {TOKEN_ENV})", err=True)
    click.echo(f"ocrtool: serving on http://{host}:{port}/ ({workers} worker(s)); "
               "Ctrl-C stops it", err=True)
    common = {"host": host, "port": port, "log_level": log_level, "access_log": False,
              "timeout_graceful_shutdown": int(timeout_s) + 5, "server_header": False}
    if workers == 1:
        uvicorn.run(create_app(config), **common)
    else:
        os.environ[CONFIG_ENV] = config.to_json()  # the spawned workers read it
        uvicorn.run(f"{app_from_env.__module__}:{app_from_env.__name__}", factory=True,
                    workers=workers, **common)
