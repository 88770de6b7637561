"""The service's security rules: bearer token, allowed roots, Host/Origin checks, request size limits.

* Token: 43 random URL-safe characters, created on first start in the user's config directory (mode 0600) unless a
  `--token-file` is given; compared in constant time.
* Roots: a path in a request must resolve (symlinks first, `os.path.realpath`) to a location inside one of the
  `--root` folders; anything else is 403.
* Guard (ASGI middleware): the `Host` header must name an allowed host (DNS rebinding: a web page on evil.example
  resolving to 127.0.0.1 sends `Host: evil.example`), a request carrying an `Origin` header other than the service's
  own is refused (no CORS: no browser page may drive the service), and request bodies are capped (413), by
  Content-Length and while streaming.

Exports: default_token_path, load_or_create_token, token_matches, PathGuard, Forbidden, Guard, is_loopback.
"""
from __future__ import annotations

import ipaddress
import json
import os
import secrets
import stat
import sys

TOKEN_BYTES = 32


def config_dir() -> str:
    """Per-user config folder: $XDG_CONFIG_HOME/exposure-batch (Linux), ~/Library/Application Support/exposure-batch
    (macOS), %APPDATA%\\exposure-batch (Windows)."""
    if sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Application Support")
    elif os.name == "nt":
        base = os.environ.get("APPDATA") or os.path.expanduser("~")
    else:
        base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return os.path.join(base, "exposure-batch")


def default_token_path() -> str:
    return os.path.join(config_dir(), "token")


def load_or_create_token(path: str | None = None) -> tuple[str, str]:
    """(token, path). Reads the token file, or creates it (mode 0600, parent 0700) with a new random token when it
    does not exist. Raises ValueError for an empty or group/world-readable token file."""
    path = os.path.abspath(os.path.expanduser(path or default_token_path()))
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(token + "\n")
        return token, path
    mode = os.stat(path).st_mode
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValueError(f"{path}: token file is readable by other users (run: chmod 600 {path})")
    with open(path, encoding="utf-8") as fh:
        token = fh.read().strip()
    if len(token) < 16:
        raise ValueError(f"{path}: token file holds no token of at least 16 characters")
    return token, path


def token_matches(given: str | None, token: str) -> bool:
    return bool(given) and secrets.compare_digest(given.encode(), token.encode())


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Forbidden(Exception):
    """A path outside the allowed roots (or not absolute): HTTP 403."""


class PathGuard:
    """Allowed root folders; `check(path)` returns the resolved path or raises Forbidden."""

    def __init__(self, roots):
        self.roots = [os.path.realpath(os.path.expanduser(r)) for r in roots]

    def check(self, path: str) -> str:
        if not isinstance(path, str) or not os.path.isabs(path) or "\x00" in path:
            raise Forbidden(f"{path!r}: paths must be absolute")
        real = os.path.realpath(path)
        for root in self.roots:
            if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
                return real
        if not self.roots:
            raise Forbidden(f"{path}: the service was started without --root: only uploads are accepted")
        raise Forbidden(f"{path}: outside the folders this service may read (--root)")


class _TooLarge(Exception):
    pass


class Guard:
    """Pure ASGI middleware: Host allow-list, foreign Origin refused, body size caps.

    Args:
        app: the ASGI app.
        hosts: host names / addresses (no port) accepted in the Host header.
        max_body: bytes allowed in a JSON (or any non-multipart) request body.
        max_upload: bytes allowed in a multipart/form-data body.
    """

    def __init__(self, app, hosts, max_body: int, max_upload: int):
        self.app = app
        self.hosts = {h.lower().strip("[]") for h in hosts}
        self.max_body, self.max_upload = max_body, max_upload

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if self._host_name(host) not in self.hosts:
            return await _reply(send, 400, f"Host header {host!r} is not allowed")
        origin = headers.get("origin")
        if origin is not None and origin.rstrip("/").lower() not in (f"http://{host.lower()}", f"https://{host.lower()}"):
            return await _reply(send, 403, "cross-origin requests are not allowed")
        limit = self.max_upload if headers.get("content-type", "").startswith("multipart/") else self.max_body
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return await _reply(send, 413, f"request body over the limit of {limit} bytes")
        state = {"seen": 0, "over": False, "started": False}

        async def capped_receive():
            message = await receive()
            if message["type"] == "http.request":
                state["seen"] += len(message.get("body", b""))
                if state["seen"] > limit:
                    state["over"] = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if state["over"]:
                return  # the app's answer to a cut-off body is replaced by 413 below
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, capped_receive, guarded_send)
        except Exception:
            if not state["over"]:
                raise
        if state["over"] and not state["started"]:
            await _reply(send, 413, f"request body over the limit of {limit} bytes")

    @staticmethod
    def _host_name(host: str) -> str:
        host = host.strip().lower()
        if host.startswith("["):
            return host[1:host.find("]")] if "]" in host else host
        return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def _reply(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
