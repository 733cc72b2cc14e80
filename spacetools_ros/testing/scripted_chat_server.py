"""A real HTTP server on 127.0.0.1 that plays a script of OpenAI chat-completions replies, well-formed or not.

It speaks enough of the API for a client to use it as a model server: ``POST /v1/chat/completions``
answers with the next scripted reply, ``GET /v1/models`` lists one model and ``GET /health`` says ok.
A scripted reply controls everything the client sees: the HTTP status, headers, body bytes (any
bytes: invalid JSON, an HTML page, megabytes), a delay before anything is sent (``math.inf``: never
answer), a drip (the body, or the whole raw response, a few bytes at a time with pauses), a dropped
connection, or a raw response that is not even HTTP. Every chat request is recorded with its
decoded JSON body, so a test can check what the client sent.

Example::

    from spacetools_ros.testing.scripted_chat_server import Reply, ScriptedChatServer, completion

    script = [Reply(status=500), completion("<answer>done</answer>"), Reply(body=b"<html>", drip_s=0.3)]
    with ScriptedChatServer(script) as srv:
        policy = OpenAIPolicy(base_url=srv.base_url, model=srv.model, timeout_s=1.5)
        ...
        assert srv.requests[0].json["model"] == srv.model

``script`` is a sequence (one reply per chat request, in order; when it runs out every further
request gets ``after_end``, by default HTTP 410 with an OpenAI-style error) or a callable that gets
each ``Request`` and returns its reply. A reply is a ``Reply`` or, for short, a body on its own: a
dict or list (sent as JSON), a str (UTF-8) or bytes, all with status 200.
"""

from __future__ import annotations

import json
import math
import socketserver
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from ..core.tools.decode import DecodeError, Limits, loads

MAX_REQUEST_BYTES = 64 * 1024 * 1024
HANDLER_SOCKET_TIMEOUT_S = 30.0
AUTO: Any = object()  # completion(usage=AUTO): a usage block counted from the content
OMIT: Any = object()  # completion(usage=OMIT): no "usage" key at all (usage=None sends "usage": null)
_REQUEST_LIMITS = Limits(max_chars=MAX_REQUEST_BYTES, max_depth=64, max_items=1_000_000,
                         max_string_chars=MAX_REQUEST_BYTES)


@dataclass(frozen=True)
class Reply:
    """One scripted answer to one chat request.

    Attributes:
        body: dict or list (sent as JSON), str (UTF-8), bytes (as is), None (empty), or any other
            iterable of bytes chunks (streamed as they come, consumed once; no Content-Length unless
            ``headers`` sets one).
        status: HTTP status code.
        headers: extra headers; they replace a default of the same name (case-insensitive), and a
            value of None removes that default. Defaults: Content-Type application/json,
            Content-Length (unless ``content_length`` is False or the body is streamed),
            Connection close.
        delay_s: seconds to wait before sending anything; ``math.inf`` never answers (the connection
            stays open until the client gives up or the server stops).
        drip_s: pause in seconds between chunks of ``drip_bytes`` bytes of the body (of the whole
            response when ``raw`` is set); 0 sends everything at once.
        drip_bytes: chunk size of a drip.
        content_length: whether to send the default Content-Length header.
        close: after ``delay_s``, close the connection without sending a byte.
        raw: the whole response as bytes (status line and headers included), sent verbatim;
            ``status``, ``headers`` and ``body`` are then ignored.
    """

    body: Any = None
    status: int = 200
    headers: Mapping[str, str | None] = field(default_factory=dict)
    delay_s: float = 0.0
    drip_s: float = 0.0
    drip_bytes: int = 1
    content_length: bool = True
    close: bool = False
    raw: bytes | None = None


ScriptItem = Reply | dict | list | str | bytes


@dataclass(frozen=True)
class Request:
    """One request the server got; ``json`` is the decoded body (None when it is not JSON)."""

    index: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any


def completion(content: str | list | None = "", *, tool_calls: list[dict] | None = None, usage: Any = AUTO,
               model: str = "scripted", finish_reason: str | None = None, role: str = "assistant") -> dict[str, Any]:
    """A well-formed chat-completions body.

    Args:
        content: ``message.content`` (a string, None, or a list of content parts).
        tool_calls: structured tool calls (see ``tool_call``); omitted when None.
        usage: a usage object, None (sent as ``"usage": null``), ``OMIT`` (no key) or ``AUTO``
            (``completion_tokens`` = characters / 4, at least 1).
        model: the ``model`` field.
        finish_reason: default ``"tool_calls"`` when there are tool calls, else ``"stop"``.
        role: ``message.role``.
    """
    message: dict[str, Any] = {"role": role, "content": content}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    body: dict[str, Any] = {
        "id": "chatcmpl-scripted", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": message,
                     "finish_reason": finish_reason or ("tool_calls" if tool_calls else "stop")}]}
    if usage is AUTO:
        n = max(1, (len(content) + 3) // 4) if isinstance(content, str) else 1
        body["usage"] = {"prompt_tokens": 0, "completion_tokens": n, "total_tokens": n}
    elif usage is not OMIT:
        body["usage"] = usage
    return body


def tool_call(name: Any, arguments: Any = None, *, call_id: str = "call_0", as_object: bool = False) -> dict[str, Any]:
    """One structured tool call as servers send it.

    Args:
        name: ``function.name`` (anything, to script a malformed one).
        arguments: a str is sent verbatim; anything else is JSON-encoded into a string, or sent as
            the object itself when ``as_object`` is True. None means ``{}``.
        call_id: the call's ``id``.
        as_object: send ``arguments`` as a JSON object instead of a JSON string.
    """
    args = {} if arguments is None else arguments
    if not isinstance(args, str) and not as_object:
        args = json.dumps(args)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def error_body(message: str, kind: str = "invalid_request_error", code: Any = None) -> dict[str, Any]:
    """An OpenAI-style error body."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def nested_json(depth: int, leaf: str = "0", opener: str = "[", closer: str = "]") -> str:
    """JSON text nested ``depth`` levels deep (e.g. ``[[[0]]]``), built without recursion."""
    return opener * depth + leaf + closer * depth


def _as_reply(item: Any) -> Reply:
    return item if isinstance(item, Reply) else Reply(body=item)


def _body_bytes(body: Any) -> bytes | None:
    """The body as bytes, or None when it is a stream of chunks."""
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (dict, list)):
        return json.dumps(body).encode("utf-8")
    return None


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def server_bind(self) -> None:  # skip HTTPServer's reverse DNS lookup of the address
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class ScriptedChatServer:
    """The server; use as a context manager or call ``start()`` / ``close()``.

    Args:
        script: replies in order, or a callable ``Request -> reply`` (see the module docstring).
        model: the model id that ``/v1/models`` lists (requests may name any model).
        after_end: the reply once a sequence script has run out (default: HTTP 410 with an error body).
        max_request_bytes: larger request bodies get HTTP 413 and do not consume the script.
    """

    def __init__(self, script: Sequence[ScriptItem] | Callable[[Request], ScriptItem], *, model: str = "scripted",
                 after_end: Reply | None = None, max_request_bytes: int = MAX_REQUEST_BYTES) -> None:
        self.script = script if callable(script) else list(script)
        self.model = model
        self.after_end = after_end or Reply(status=410, body=error_body("the script has no more replies"))
        self.max_request_bytes = max_request_bytes
        self._requests: list[Request] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._active = 0
        self._stop = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Self:
        """Bind 127.0.0.1 on a free port and serve in a background thread."""
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="scripted-chat-server", daemon=True)
        self._thread.start()
        return self

    def close(self, wait_s: float = 5.0) -> None:
        """Stop serving: delays and drips in progress end at once; waits up to ``wait_s`` for them."""
        if self._httpd is None:
            return
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(wait_s)
        with self._idle:
            self._idle.wait_for(lambda: self._active == 0, timeout=wait_s)
        self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- what clients see ------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The bound port (after ``start``)."""
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, e.g. ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[Request]:
        """The chat-completions requests received so far, in order (a copy)."""
        with self._lock:
            return list(self._requests)

    # ---- internals -------------------------------------------------------------------------------
    def _next_reply(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        try:
            doc = loads(body, _REQUEST_LIMITS)
        except DecodeError:
            doc = None
        with self._lock:
            req = Request(len(self._requests), method, path, headers, body, doc)
            self._requests.append(req)
            if not callable(self.script):
                return _as_reply(self.script[req.index]) if req.index < len(self.script) else self.after_end
        return _as_reply(self.script(req))

    def _enter(self) -> None:
        with self._lock:
            self._active += 1

    def _leave(self) -> None:
        with self._idle:
            self._active -= 1
            self._idle.notify_all()


def _make_handler(owner: ScriptedChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = HANDLER_SOCKET_TIMEOUT_S

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read ``requests`` instead."""

        def handle_one_request(self) -> None:
            owner._enter()
            try:
                super().handle_one_request()
            except OSError:  # the client went away mid-answer
                self.close_connection = True
            finally:
                owner._leave()

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            if path in ("/v1/models", "/models"):
                self._play(Reply(body={"object": "list", "data": [
                    {"id": owner.model, "object": "model", "created": 0, "owned_by": "scripted"}]}))
            elif path == "/health":
                self._play(Reply(body={"status": "ok"}))
            else:
                self._play(Reply(status=404, body=error_body(f"no route {path[:80]}", "not_found")))

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            length = self.headers.get("Content-Length", "")
            if not length.isdigit():
                self._play(Reply(status=411, body=error_body("a Content-Length header is required")))
                return
            if int(length) > owner.max_request_bytes:
                self._play(Reply(status=413, body=error_body("request body too large")))
                return
            body = self.rfile.read(int(length))
            if path not in ("/v1/chat/completions", "/chat/completions"):
                self._play(Reply(status=404, body=error_body(f"no route {path[:80]}", "not_found")))
                return
            headers = {k: v for k, v in self.headers.items()}
            self._play(owner._next_reply("POST", self.path, headers, body))

        def _play(self, reply: Reply) -> None:
            self.close_connection = True
            if reply.delay_s > 0 and owner._stop.wait(None if math.isinf(reply.delay_s) else reply.delay_s):
                return
            if reply.close or owner._stop.is_set():
                return
            if reply.raw is not None:
                self._drip([bytes(reply.raw)], reply)
                return
            body = _body_bytes(reply.body)
            head = {"Content-Type": "application/json", "Connection": "close"}
            if body is not None and reply.content_length:
                head["Content-Length"] = str(len(body))
            lower = {k.lower(): k for k in head}
            for k, v in reply.headers.items():
                head.pop(lower.get(k.lower(), k), None)
                if v is not None:
                    head[k] = v
            try:
                phrase = HTTPStatus(reply.status).phrase
            except ValueError:
                phrase = "Scripted"
            lines = [f"HTTP/1.1 {reply.status} {phrase}"] + [f"{k}: {v}" for k, v in head.items()]
            start = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
            if reply.drip_s <= 0:
                self._send(start + body if body is not None else start)
                if body is None:
                    self._drip(reply.body, reply)
                return
            self._send(start)
            self._drip([body] if body is not None else reply.body, reply)

        def _drip(self, chunks: Iterable[bytes], reply: Reply) -> None:
            step = max(1, int(reply.drip_bytes))
            for chunk in chunks:
                chunk = bytes(chunk)
                pieces = [chunk] if reply.drip_s <= 0 else [chunk[i:i + step] for i in range(0, len(chunk), step)]
                for piece in pieces:
                    if owner._stop.is_set() or not self._send(piece):
                        return
                    if reply.drip_s > 0 and owner._stop.wait(reply.drip_s):
                        return

        def _send(self, data: bytes) -> bool:
            try:
                self.wfile.write(data)
                self.wfile.flush()
                return True
            except OSError:
                return False

    return Handler
