"""`ocrtool serve`: the Reader over HTTP, with a page to try it in a browser.

Needs the optional extra: pip install "ocrtool[serve]". `create_app(ServerConfig(...))`
gives the ASGI application (Starlette) for any ASGI server; `ocrtool serve` runs it under
uvicorn.
"""

from __future__ import annotations

from .app import ServerConfig, create_app
from .limits import Limits

__all__ = ["Limits", "ServerConfig", "create_app"]
