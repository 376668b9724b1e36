"""The OpenAPI 3.1 description of the server, built from the same option table and
format registry the server runs on (so the document cannot list an option it refuses)."""

from __future__ import annotations

from .. import __version__
from .limits import Limits

_TYPES = {"str": "string", "choice": "string", "int": "integer", "float": "number",
          "bool": "boolean"}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/Error"}}}}


def _schema(option: dict) -> dict:
    schema: dict = {"type": _TYPES[option["type"]]}
    if "choices" in option:
        schema["enum"] = option["choices"]
    if "min" in option:
        schema["minimum"], schema["maximum"] = option["min"], option["max"]
    return schema


def openapi_document(options: list[dict], formats: list[str], limits: Limits) -> dict:
    """The document served at /openapi.json."""
    params = [{"name": "format", "in": "query", "required": False,
               "description": "output format (default: from Accept, else json)",
               "schema": {"type": "string", "enum": formats}}]
    params += [{"name": o["name"], "in": "query", "required": False,
                "description": o["help"], "schema": _schema(o)} for o in options]
    form_fields = {p["name"]: {**p["schema"], "description": p["description"]}
                   for p in params}
    file_body = {"type": "string", "format": "binary"}
    page = {"type": "object", "properties": {
        "image": {"type": "string"}, "width": {"type": "integer"},
        "height": {"type": "integer"}, "text": {"type": "string"},
        "page": {"type": "integer"}, "pages": {"type": "integer"},
        "lines": {"type": "array", "items": {"type": "object"}}}}
    read = {
        "summary": "Read the text of one image (or every page of a multi-page file)",
        "description": (
            "Send the file as multipart/form-data (field `file`, options as other fields "
            "or as query parameters) or as the raw body (options as query parameters). "
            f"Limits: {limits.max_upload_bytes} bytes, {limits.max_pixels} pixels, "
            f"{limits.max_pages} pages, {limits.timeout_s:g} s. The JSON is the record of "
            "`ocrtool read --format json`; a file of several pages gives JSON Lines."),
        "operationId": "read",
        "parameters": params,
        "requestBody": {"required": True, "content": {
            "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                               "properties": {"file": file_body,
                                                              **form_fields}}},
            "image/*": {"schema": file_body},
            "application/octet-stream": {"schema": file_body},
        }},
        "responses": {
            "200": {"description": "the reading, in the format asked for", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Page"}},
                "text/plain": {"schema": {"type": "string"}}}},
            "400": _error("a bad option or an empty upload"),
            "401": _error("missing or wrong bearer token"),
            "406": _error("no format matches the Accept header"),
            "408": _error("the upload did not arrive in time"),
            "413": _error("upload, pixel or page limit exceeded"),
            "415": _error("not an image content type"),
            "422": _error("the file is not a readable image"),
            "503": _error("queue full or timed out (see Retry-After)"),
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "ocrtool", "version": __version__,
                 "description": "Offline OCR over HTTP: `ocrtool serve`."},
        "paths": {
            "/v1/read": {"post": read},
            "/v1/info": {"get": {"summary": "Version, backends, models, limits, options",
                                 "operationId": "info",
                                 "responses": {"200": {"description": "as `ocrtool info`"}}}},
            "/healthz": {"get": {"summary": "Liveness (no token needed)",
                                 "operationId": "healthz", "security": [],
                                 "responses": {"200": {"description": "ok"}}}},
        },
        "components": {
            "schemas": {
                "Error": {"type": "object", "required": ["error", "status"], "properties": {
                    "error": {"type": "string"}, "status": {"type": "integer"}}},
                "Page": page,
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
