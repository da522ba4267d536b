"""The two HTTP servers: the CloudStack API (/client/api) and the lab's control interface."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .api import handle
from .commands import COMMANDS

JSON_TYPE = "application/json; charset=UTF-8"


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Requests carry api keys and signatures: never log them."""

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_json(self, status: int, body, extra_headers: dict | None = None) -> None:
        payload = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class ApiHandler(_Quiet):
    sim = None

    def do_GET(self):  # pylint: disable=invalid-name
        self._serve(urlsplit(self.path).query)

    def do_POST(self):  # pylint: disable=invalid-name
        query = urlsplit(self.path).query
        body = self._body().decode("utf-8")
        self._serve("&".join(part for part in (query, body) if part))

    def _serve(self, query: str) -> None:
        if urlsplit(self.path).path.rstrip("/") != "/client/api":
            self._send_json(404, {"errorresponse": {"errorcode": 404, "errortext": "Not Found"}})
            return
        params = {name: values[0] for name, values in parse_qs(query, keep_blank_values=True).items()}
        answer = handle(self.sim, COMMANDS, params)
        if answer.status == 0:  # fault "drop": close without answering
            self.close_connection = True
            return
        headers = {"X-Description": answer.description} if answer.description else None
        self._send_json(answer.status, answer.body, headers)


class ControlHandler(_Quiet):
    control = None

    def do_GET(self):  # pylint: disable=invalid-name
        self._dispatch("GET", {})

    def do_POST(self):  # pylint: disable=invalid-name
        raw = self._body()
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            self._send_json(400, {"error": "the body must be JSON"})
            return
        self._dispatch("POST", payload)

    def _dispatch(self, method: str, payload: dict) -> None:
        path = urlsplit(self.path).path.rstrip("/")
        status, body = self.control.dispatch(method, path, payload)
        self._send_json(status, body)


def serve(host: str, port: int, handler_class, **attributes) -> ThreadingHTTPServer:
    handler = type(handler_class.__name__, (handler_class,), attributes)
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=f"http-{handler_class.__name__}", daemon=True).start()
    return server
