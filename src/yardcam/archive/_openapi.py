"""The OpenAPI 3 document of the machine API, written by hand (it is the contract with cams)."""

from __future__ import annotations

from functools import cache
from typing import Any

from ..names import CAM_PATTERN, EVENT_ID_PATTERN
from ._timestamps import FORMATS
from .storage import FRAME_ID_PATTERN


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(ref: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


def _jpeg(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {
            "ETag": {"schema": {"type": "string"}},
            "Cache-Control": {"schema": {"type": "string"}},
        },
        "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
    }


_AUTH = {
    "401": _error("Missing, unknown or revoked token"),
    "403": _error("Token lacks the scope or is for another cam"),
    "503": _error("Storage unavailable; retry later"),
}
_FRAME_ID = {
    "name": "frame_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": f"^{FRAME_ID_PATTERN}$"},
}
_NOT_MODIFIED = {"304": {"description": "Not modified (If-None-Match matched the ETag)"}}


def _time_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": f"{description} ({FORMATS})",
        "schema": {"type": "string"},
    }


@cache
def openapi_document() -> dict[str, Any]:
    frame = {
        "type": "object",
        "required": ["id", "url", "cam", "ts", "size", "sha256"],
        "properties": {
            "id": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
            "thumb_url": {"type": "string", "format": "uri"},
            "cam": {"type": "string", "pattern": f"^{CAM_PATTERN}$"},
            "ts": {"type": "number"},
            "seq": {"type": "integer", "nullable": True},
            "change": {"type": "number", "nullable": True},
            "event": {"type": "string", "nullable": True},
            "size": {"type": "integer"},
            "sha256": {"type": "string"},
            "received": {"type": "number"},
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "yardcam archive",
            "version": "1",
            "description": "Idempotent frame ingest and reading API of the yardcam archive.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}},
                },
                "Frame": frame,
                "FramePage": {
                    "type": "object",
                    "required": ["frames", "next_cursor"],
                    "properties": {
                        "frames": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Frame"},
                        },
                        "next_cursor": {"type": "string", "nullable": True},
                        "next": {"type": "string", "nullable": True},
                    },
                },
                "Event": {
                    "type": "object",
                    "required": ["id", "url", "cam", "event", "start", "end", "frames", "best"],
                    "properties": {
                        "id": {
                            "type": "string",
                            "description": "<cam>-<event>: the event's name in /events/{event_id}",
                        },
                        "url": {"type": "string", "format": "uri"},
                        "cam": {"type": "string", "pattern": f"^{CAM_PATTERN}$"},
                        "event": {
                            "type": "string",
                            "pattern": f"^{EVENT_ID_PATTERN}$",
                            "description": "The cam's event id, as its frames carry it",
                        },
                        "start": {"type": "number", "description": "ts of its first frame"},
                        "end": {"type": "number", "description": "ts of its last frame"},
                        "duration": {"type": "number", "description": "end - start, seconds"},
                        "frames": {"type": "integer", "description": "Frames archived"},
                        "peak_change": {"type": "number", "nullable": True},
                        "best": {"$ref": "#/components/schemas/Frame"},
                    },
                },
                "EventPage": {
                    "type": "object",
                    "required": ["events", "next_cursor"],
                    "properties": {
                        "events": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Event"},
                        },
                        "next_cursor": {"type": "string", "nullable": True},
                        "next": {"type": "string", "nullable": True},
                    },
                },
                "EventFrames": {
                    "type": "object",
                    "required": ["event", "frames"],
                    "properties": {
                        "event": {"$ref": "#/components/schemas/Event"},
                        "frames": {
                            "type": "array",
                            "description": "Its frames, oldest first (at most 1000)",
                            "items": {"$ref": "#/components/schemas/Frame"},
                        },
                    },
                },
                "Cam": {
                    "type": "object",
                    "properties": {
                        "cam": {"type": "string"},
                        "count": {"type": "integer"},
                        "bytes": {"type": "integer"},
                        "first_ts": {"type": "number"},
                        "last_ts": {"type": "number"},
                    },
                },
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/frames": {
                "post": {
                    "summary": "Upload one frame",
                    "operationId": "uploadFrame",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": "A repeat of a key (per cam) stores nothing new",
                            "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,128}$"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["image"],
                                    "properties": {
                                        "image": {"type": "string", "format": "binary"},
                                        "cam": {"type": "string"},
                                        "ts": {"type": "number"},
                                        "seq": {"type": "integer"},
                                        "change": {"type": "number"},
                                        "event": {
                                            "type": "string",
                                            "pattern": f"^{EVENT_ID_PATTERN}$",
                                        },
                                    },
                                },
                                "encoding": {"image": {"contentType": "image/jpeg"}},
                            }
                        },
                    },
                    "responses": {
                        "201": _json("Frame", "Stored"),
                        "200": _json("Frame", "Already stored under this Idempotency-Key"),
                        "400": _error("Malformed multipart or field"),
                        "413": _error("Body over the configured limit"),
                        "415": _error("Not multipart/form-data, or the image is not a JPEG"),
                        "429": {
                            **_error("Too many uploads for this token"),
                            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                        },
                        **_AUTH,
                    },
                },
                "get": {
                    "summary": "List frames, newest first, with keyset pagination",
                    "operationId": "listFrames",
                    "parameters": [
                        {"name": "cam", "in": "query", "schema": {"type": "string"}},
                        _time_param("since", "Only frames with ts >= since"),
                        _time_param("until", "Only frames with ts < until"),
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                        },
                        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "order",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["asc", "desc"]},
                        },
                    ],
                    "responses": {
                        "200": _json("FramePage", "A page of frames"),
                        "400": _error("Invalid parameter"),
                        **_AUTH,
                    },
                },
            },
            "/frames/{frame_id}": {
                "parameters": [_FRAME_ID],
                "get": {
                    "summary": "The frame's JPEG",
                    "operationId": "getFrame",
                    "responses": {
                        "200": _jpeg("The JPEG as uploaded"),
                        **_NOT_MODIFIED,
                        "404": _error("No such frame"),
                        **_AUTH,
                    },
                },
                "delete": {
                    "summary": "Delete a frame (admin)",
                    "operationId": "deleteFrame",
                    "responses": {
                        "204": {"description": "Deleted"},
                        "404": _error("No such frame"),
                        **_AUTH,
                    },
                },
            },
            "/frames/{frame_id}/thumb": {
                "parameters": [_FRAME_ID],
                "get": {
                    "summary": "A small JPEG of the frame",
                    "operationId": "getThumbnail",
                    "responses": {
                        "200": _jpeg("Thumbnail"),
                        **_NOT_MODIFIED,
                        "404": _error("No such frame"),
                        **_AUTH,
                    },
                },
            },
            "/events": {
                "get": {
                    "summary": "A cam's motion events, newest first, with keyset pagination",
                    "operationId": "listEvents",
                    "parameters": [
                        {
                            "name": "cam",
                            "in": "query",
                            "description": "Required unless the token is for one cam",
                            "schema": {"type": "string"},
                        },
                        _time_param("since", "Only events with start >= since"),
                        _time_param("until", "Only events with start < until"),
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                        },
                        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": _json("EventPage", "A page of events"),
                        "400": _error("Invalid parameter, or no cam"),
                        **_AUTH,
                    },
                }
            },
            "/events/{event_id}": {
                "parameters": [
                    {
                        "name": "event_id",
                        "in": "path",
                        "required": True,
                        "schema": {
                            "type": "string",
                            "pattern": f"^{CAM_PATTERN}-{EVENT_ID_PATTERN}$",
                        },
                    }
                ],
                "get": {
                    "summary": "One event: its summary and frames, oldest first",
                    "operationId": "getEvent",
                    "responses": {
                        "200": _json("EventFrames", "The event"),
                        "404": _error("No such event"),
                        **_AUTH,
                    },
                },
            },
            "/cams": {
                "get": {
                    "summary": "Cams with frame counts",
                    "operationId": "listCams",
                    "responses": {
                        "200": {
                            "description": "Cams",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "cams": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Cam"},
                                            }
                                        },
                                    }
                                }
                            },
                        },
                        **_AUTH,
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Liveness",
                    "operationId": "healthz",
                    "security": [],
                    "responses": {"200": {"description": "Alive"}},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "Readiness: storage reachable",
                    "operationId": "readyz",
                    "security": [],
                    "responses": {
                        "200": {"description": "Ready"},
                        "503": _error("Storage unavailable"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics (a read token made without a cam)",
                    "operationId": "metrics",
                    "responses": {
                        "200": {
                            "description": "Prometheus text format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        **_AUTH,
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 3 document"}},
                }
            },
        },
    }
