"""File servers on loopback, the far end of firmware downloads and diagnostics uploads: HTTP(S) and FTP.

The demo starts them beside its local CSMS (so `sim.ctl csms update-firmware URL` has somewhere to fetch from);
tests use them as the real servers the simulated System module talks to. Both run in a thread of their own.

HTTP: GET serves the files below `root`; PUT stores the body under `uploads/`, a multipart POST stores each file
part there. Paths below `/held/` are answered only after `release()` (a server that does not answer, or answers
late); uploads to paths below `/forbidden/` get 403. FTP: one user with full rights on `root`.
"""

from __future__ import annotations

import email.parser
import email.policy
import ssl
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

HELD = "/held/"
FORBIDDEN = "/forbidden/"
FTP_USER = "ocpp"
FTP_PASSWORD = "firmware"


class HttpFileServer:
    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0,
                 tls: ssl.SSLContext | None = None) -> None:
        self.root = root
        self.uploads = root / "uploads"
        self.requests: list[tuple[str, str]] = []
        """(method, path) of every request, in order."""
        self._gate = threading.Event()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._scheme = "https" if tls else "http"
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-file-server", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"{self._scheme}://{host}:{port}/"

    def start(self) -> HttpFileServer:
        self.uploads.mkdir(parents=True, exist_ok=True)
        self._thread.start()
        return self

    def release(self) -> None:
        """Let the requests waiting below /held/ (and later ones) be answered."""
        self._gate.set()

    def stop(self) -> None:
        self._gate.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def file(self, path: str) -> Path | None:
        """The file a URL path names below root; None outside root."""
        relative = PurePosixPath(unquote(path)).relative_to("/")
        if ".." in relative.parts:
            return None
        return self.root.joinpath(*relative.parts)


def _handler(files: HttpFileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self._path("GET")
            if path.startswith(HELD):
                files._gate.wait()
            target = files.file(path)
            if target is None or not target.is_file():
                self._answer(HTTPStatus.NOT_FOUND)
                return
            body = target.read_bytes()
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except ConnectionError:  # the client went away meanwhile (a killed charger): nothing to answer
                return

        def do_PUT(self) -> None:
            path = self._path("PUT")
            body = self._body()
            if path.startswith(FORBIDDEN):
                self._answer(HTTPStatus.FORBIDDEN)
                return
            (files.uploads / PurePosixPath(unquote(path)).name).write_bytes(body)
            self._answer(HTTPStatus.CREATED)

        def do_POST(self) -> None:
            path = self._path("POST")
            body = self._body()
            if path.startswith(FORBIDDEN):
                self._answer(HTTPStatus.FORBIDDEN)
                return
            head = f"Content-Type: {self.headers.get('Content-Type', '')}\r\n\r\n".encode()
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
            parts = [part for part in message.iter_parts() if part.get_filename()] if message.is_multipart() else []
            if not parts:
                self._answer(HTTPStatus.BAD_REQUEST)
                return
            for part in parts:
                content = part.get_payload(decode=True)
                (files.uploads / PurePosixPath(part.get_filename() or "").name).write_bytes(
                    content if isinstance(content, bytes) else b"")
            self._answer(HTTPStatus.CREATED)

        def _path(self, method: str) -> str:
            path = urlsplit(self.path).path
            files.requests.append((method, path))
            return path

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _answer(self, status: HTTPStatus) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


class FtpFileServer:
    """pyftpdlib on loopback (a development dependency), user FTP_USER with full rights on `root`."""

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler
        from pyftpdlib.servers import FTPServer

        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        authorizer = DummyAuthorizer()
        authorizer.add_user(FTP_USER, FTP_PASSWORD, str(root), perm="elradfmwMT")
        # a refused login is answered at once (pyftpdlib waits 3 s against password guessing)
        handler = type("Handler", (FTPHandler,), {"authorizer": authorizer, "auth_failed_timeout": 0})
        self._server = FTPServer((host, port), handler)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="ftp-file-server", daemon=True)

    @property
    def url(self) -> str:
        """With the user's credentials in it."""
        host, port = self._server.address[:2]
        return f"ftp://{FTP_USER}:{FTP_PASSWORD}@{host}:{port}/"

    def start(self) -> FtpFileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()

    def _serve(self) -> None:
        """pyftpdlib's loop is not thread-safe to stop from outside: it polls a flag and closes itself."""
        while not self._stopping.is_set():
            self._server.ioloop.loop(timeout=0.05, blocking=False)
        self._server.close_all()
