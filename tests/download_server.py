"""A loopback HTTP server for download tests: serves one folder on 127.0.0.1 (random free port).

Supports `Range: bytes=N-` (206 + Content-Range) unless `ranges` is off; `drop_next` makes the next
N GET responses announce the full length and close the connection half way (an interrupted transfer).
`content_encoding` adds that header without changing the bytes. Every GET is logged as (path, Range header). Bounded: 10 s socket timeout per request, stopped by
`stop()` (the `loopback_server` fixture in the tests calls it).
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Handler(BaseHTTPRequestHandler):
    timeout = 10
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        srv: LoopbackServer = self.server.owner  # type: ignore[attr-defined]
        rng = self.headers.get("Range")
        if body:
            srv.log.append((self.path, rng))
        path = srv.root / self.path.lstrip("/").split("?", 1)[0]
        if not path.is_file() or not path.resolve().is_relative_to(srv.root.resolve()):
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        if rng and srv.ranges and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        payload = data[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Accept-Ranges", "bytes" if srv.ranges else "none")
        if srv.content_encoding:  # as servers configured with `AddEncoding x-gzip .gz` label .tar.gz files
            self.send_header("Content-Encoding", srv.content_encoding)
        self.end_headers()
        if not body:
            return
        if srv.drop_next > 0:
            srv.drop_next -= 1
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(payload)


class LoopbackServer:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.log: list[tuple[str, str | None]] = []
        self.ranges = True
        self.drop_next = 0
        self.content_encoding: str | None = None
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self  # type: ignore[attr-defined]
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
