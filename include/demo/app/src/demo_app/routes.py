"""Request handling as pure functions: (method, path) -> Response. No sockets here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from demo_app import __version__


@dataclass(frozen=True)
class Response:
    status: int
    body: dict
    headers: dict = field(default_factory=lambda: {"Content-Type": "application/json"})

    def encoded(self) -> bytes:
        return json.dumps(self.body, sort_keys=True).encode()


def greet(name: str) -> str:
    """The greeting for ``name`` (trimmed; 'world' when empty)."""
    name = name.strip() or "world"
    if len(name) > 64:
        raise ValueError("name is longer than 64 characters")
    return f"Hello, {name}!"


def add(a: str, b: str) -> int:
    """Sum of two integers given as text."""
    return int(a) + int(b)


def handle(method: str, target: str) -> Response:
    """Route one request."""
    parts = urlsplit(target)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    if method != "GET":
        return Response(405, {"error": f"method {method} not allowed"})
    if parts.path == "/healthz":
        return Response(200, {"status": "ok", "version": __version__})
    if parts.path == "/greet":
        try:
            return Response(200, {"message": greet(query.get("name", ""))})
        except ValueError as exc:
            return Response(400, {"error": str(exc)})
    if parts.path == "/add":
        try:
            return Response(200, {"sum": add(query.get("a", ""), query.get("b", ""))})
        except ValueError:
            return Response(400, {"error": "a and b must be integers"})
    return Response(404, {"error": f"no route for {parts.path}"})
