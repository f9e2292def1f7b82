"""The HTTP server: stdlib http.server around demo_app.routes.handle."""

from __future__ import annotations

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from demo_app.routes import handle


class Handler(BaseHTTPRequestHandler):
    server_version = "demo-app"

    def _respond(self) -> None:
        response = handle(self.command, self.path)
        body = response.encoded()
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _respond
    do_POST = _respond

    def log_message(self, format: str, *args) -> None:  # quiet in tests; one line per request otherwise
        if os.environ.get("DEMO_APP_ACCESS_LOG") == "1":
            super().log_message(format, *args)


def make_server(host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), Handler)


def main() -> None:
    host = os.environ.get("DEMO_APP_HOST", "127.0.0.1")
    port = int(os.environ.get("DEMO_APP_PORT", "8000"))
    server = make_server(host, port)
    print(f"demo-app listening on http://{host}:{port}", flush=True)
    server.serve_forever()
