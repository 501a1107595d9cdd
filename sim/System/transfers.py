"""Real file transfers of the simulated system module: download a file, upload one, over FTP, HTTP and HTTPS.

Blocking calls (ftplib, urllib), meant for `asyncio.to_thread`. Every failure (refused or unanswered connection,
timeout, a 4xx/5xx answer, an FTP error reply, an unknown protocol) is a TransferError, which the module reports
as DownloadFailed / UploadFailure after its last attempt.
"""

from __future__ import annotations

import base64
import ftplib
import shutil
import ssl
import uuid
from pathlib import Path
from urllib.error import URLError
from urllib.parse import unquote, urlsplit
from urllib.request import Request, urlopen

PROTOCOLS = ("ftp", "http", "https")
HTTP_UPLOAD_METHODS = ("PUT", "POST")


class TransferError(Exception):
    """The transfer did not happen; the message says why."""


def download(url: str, target: Path, timeout: float, ca_file: str | None = None) -> int:
    """Fetch `url` into `target` (replaced only when complete); returns the number of bytes."""
    scheme = _scheme(url)
    partial = target.with_name(target.name + ".part")
    try:
        with partial.open("wb") as out:
            if scheme == "ftp":
                with _ftp(url, timeout) as ftp:
                    ftp.retrbinary(f"RETR {_path(url)}", out.write)
            else:
                with urlopen(_request(url), timeout=timeout, context=_tls(url, ca_file)) as answer:
                    shutil.copyfileobj(answer, out)
        partial.replace(target)
    except (OSError, URLError, ftplib.Error, EOFError) as error:
        partial.unlink(missing_ok=True)
        raise TransferError(f"download of {safe_url(url)} failed: {error}") from error
    return target.stat().st_size


def upload(location: str, source: Path, timeout: float, http_method: str = "PUT", ca_file: str | None = None) -> str:
    """Put `source` into the directory `location` under its own name (FTP STOR, HTTP PUT), or post it there as a
    multipart form (HTTP POST, field `file`); returns where it went."""
    scheme = _scheme(location)
    try:
        if scheme == "ftp":
            with _ftp(location, timeout) as ftp, source.open("rb") as data:
                ftp.storbinary(f"STOR {_join(_path(location), source.name)}", data)
            return _join(safe_url(location), source.name)
        if http_method == "PUT":
            target = _join(location, source.name)
            request = _request(target, method="PUT", data=source.read_bytes(),
                               headers={"Content-Type": "application/octet-stream"})
        elif http_method == "POST":
            target = location
            body, content_type = _multipart(source.name, source.read_bytes())
            request = _request(target, method="POST", data=body, headers={"Content-Type": content_type})
        else:
            raise TransferError(f"HTTP upload method {http_method!r} is none of {', '.join(HTTP_UPLOAD_METHODS)}")
        with urlopen(request, timeout=timeout, context=_tls(location, ca_file)):
            return safe_url(target)
    except (OSError, URLError, ftplib.Error, EOFError) as error:
        raise TransferError(f"upload to {safe_url(location)} failed: {error}") from error


def _scheme(url: str) -> str:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in PROTOCOLS:
        raise TransferError(f"{safe_url(url)}: protocol {scheme or '(none)'} is none of {', '.join(PROTOCOLS)}")
    return scheme


def _ftp(url: str, timeout: float) -> ftplib.FTP:
    parts = urlsplit(url)
    ftp = ftplib.FTP(timeout=timeout)
    try:
        ftp.connect(parts.hostname or "", parts.port or 21)
        ftp.login(unquote(parts.username or "anonymous"), unquote(parts.password or ""))
    except BaseException:
        ftp.close()
        raise
    return ftp


def _request(url: str, method: str = "GET", data: bytes | None = None,
             headers: dict[str, str] | None = None) -> Request:
    """user:password in the URL becomes Basic authentication (urllib would send neither)."""
    parts = urlsplit(url)
    headers = dict(headers or {})
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        url = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    return Request(url, data=data, headers=headers, method=method)


def _tls(url: str, ca_file: str | None) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=ca_file or None) if urlsplit(url).scheme.lower() == "https" else None


def _multipart(file_name: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _path(url: str) -> str:
    return unquote(urlsplit(url).path) or "/"


def _join(directory: str, name: str) -> str:
    return directory.rstrip("/") + "/" + name


def safe_url(url: str) -> str:
    """The URL with its password masked, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()
