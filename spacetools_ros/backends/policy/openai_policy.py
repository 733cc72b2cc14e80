"""PolicyBackend over an OpenAI-compatible chat endpoint (vLLM serving the SpaceTools checkpoint,
transformers serve, ...). The conversation goes as chat messages with the system prompt and the
tools block; images travel as base64 PNG data URLs. The reply's text is returned for parsing; a
server that returns structured tool calls gets them written back as <tool_call> tags. The API key
comes from the environment and is never logged.

Whatever the server sends fails closed: one deadline bounds a whole turn (retries included), the
body is read within a size cap, decoded by the package's bounded JSON decoder and shape-checked;
every problem is a ``PolicyError`` with a short message, never another exception."""

from __future__ import annotations

import base64
import http.client
import inspect
import json
import os
import re
import socket
import ssl
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from ...core.conversation import MAX_CALLS_PER_TURN, Message
from ...core.errors import ConfigError, SpacetoolsError
from ...core.paths import config_dir
from ...core.safe_yaml import YamlReadError, clip, read_yaml
from ...core.tools.decode import DecodeError, Limits, loads, short
from ...core.tools.protocol import CALL_LIMITS

SETTINGS_NODE = "spacetools_policy_openai"
MAX_SETTINGS_FILE_BYTES = 64 * 1024
MAX_BODY_BYTES = 8 * 1024 * 1024      # a reply body larger than this is refused
MAX_ERROR_BODY_BYTES = 64 * 1024      # of an error reply, only this much is read
MAX_TEXT_CHARS = 32_000               # the returned turn is cut here (the orchestrator flags > 20,000)
BACKOFF_S = 0.25                      # first pause before a retry; doubles, at most MAX_BACKOFF_S
MAX_BACKOFF_S = 2.0
MAX_MESSAGE_CHARS = 200
_READ_CHUNK = 65536
# the reply envelope is ~6 levels deep around structured tool-call arguments
_BODY_LIMITS = Limits(max_chars=MAX_BODY_BYTES, max_depth=8 + CALL_LIMITS.max_depth, max_items=200_000,
                      max_string_chars=MAX_BODY_BYTES)
_ERROR_LIMITS = Limits(max_chars=MAX_ERROR_BODY_BYTES, max_depth=8, max_items=1000, max_string_chars=MAX_ERROR_BODY_BYTES)
_KEY_CHARS = re.compile(r"[\x21-\x7e]+")


class PolicyError(SpacetoolsError):
    """The policy server could not produce a turn (unreachable, deadline passed, malformed reply, budget spent)."""


class _Retry(Exception):
    """A try that may succeed when repeated (5xx, 429, connection trouble); ``wait_s``: the server's Retry-After."""

    def __init__(self, message: str, wait_s: float = 0.0) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class _Expired(Exception):
    """The turn's deadline passed during a try."""


@dataclass(frozen=True)
class _Endpoint:
    https: bool
    host: str
    port: int
    target: str  # the request target of chat completions (path and query)


def _endpoint(base_url: str) -> _Endpoint:
    try:
        u = urlsplit(base_url)
        port = u.port
    except ValueError:
        raise ConfigError(f"policy base_url is not a URL: {short(base_url, 60)}") from None
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ConfigError(f"policy base_url must be http(s)://host[:port]/path, got {short(base_url, 60)}")
    if u.username is not None or u.password is not None:
        raise ConfigError("policy base_url must not carry credentials (the API key comes from the environment)")
    path = u.path.rstrip("/") + "/chat/completions"
    return _Endpoint(u.scheme == "https", u.hostname, port or (443 if u.scheme == "https" else 80),
                     path + (f"?{u.query}" if u.query else ""))


def _positive(name: str, value: Any, integer: bool, upper: float) -> Any:
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or not (0 < value <= upper):
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"policy {name} must be {kind} in (0, {upper:g}], got {short(value, 40)}")
    return value


class OpenAIPolicy:
    """Chat-completions client with a whole-turn deadline, retries, a token budget and greedy decoding.

    Args:
        base_url: the server's OpenAI base URL (``.../v1``).
        model: the served model's name.
        api_key_env: environment variable holding the API key (sent as a Bearer token when set).
        timeout_s: deadline of one ``next_turn``, retries and backoff included.
        max_retries: further tries after a 5xx/429 answer or a connection failure, while time is left.
        max_tokens: most tokens generated per turn.
        token_budget: most tokens generated per episode.
        temperature: sampling temperature (0: greedy, as evaluated).
        send_images: send the conversation's images as PNG data URLs.
        max_body_bytes: largest reply body accepted.
        max_text_chars: the returned turn is cut to this many characters.
        system_prompt_file: the system prompt the served model was trained with (empty: the packaged one).
        tool_descriptions_file: the tools block it was trained with (core/prompts.py; empty: this
            package's schemas).
    """

    name = "openai"

    def __init__(self, base_url: str = "http://127.0.0.1:8000/v1", model: str = "spacetools",
                 api_key_env: str = "OPENAI_API_KEY", timeout_s: float = 60.0, max_retries: int = 2,
                 max_tokens: int = 1024, token_budget: int = 4096, temperature: float = 0.0,
                 send_images: bool = True, max_body_bytes: int = MAX_BODY_BYTES,
                 max_text_chars: int = MAX_TEXT_CHARS, system_prompt_file: str = "",
                 tool_descriptions_file: str = "") -> None:
        if not isinstance(base_url, str) or not isinstance(model, str) or not model:
            raise ConfigError("policy base_url and model must be non-empty strings")
        self._endpoint = _endpoint(base_url)
        self.model = model
        self.timeout_s = float(_positive("timeout_s", timeout_s, False, 3600))
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or not 0 <= max_retries <= 10:
            raise ConfigError(f"policy max_retries must be an integer in [0, 10], got {short(max_retries, 40)}")
        self.max_retries = max_retries
        self.max_tokens = int(_positive("max_tokens", max_tokens, True, 1_000_000))
        self.token_budget = int(_positive("token_budget", token_budget, True, 100_000_000))
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2:
            raise ConfigError(f"policy temperature must be a number in [0, 2], got {short(temperature, 40)}")
        self.temperature = float(temperature)
        self.send_images = bool(send_images)
        self.max_body_bytes = int(_positive("max_body_bytes", max_body_bytes, True, MAX_BODY_BYTES * 16))
        self.max_text_chars = int(_positive("max_text_chars", max_text_chars, True, 10_000_000))
        self._limits = Limits(max_chars=self.max_body_bytes, max_depth=_BODY_LIMITS.max_depth,
                              max_items=_BODY_LIMITS.max_items, max_string_chars=self.max_body_bytes)
        key = (os.environ.get(str(api_key_env)) or "").strip()
        if key and not _KEY_CHARS.fullmatch(key):
            raise ConfigError(f"the API key in ${short(api_key_env, 40)} has characters not allowed in a header")
        self._key = key
        self._headers = {"Content-Type": "application/json", "Accept": "application/json",
                         "Accept-Encoding": "identity", "Connection": "close"}
        if key:
            self._headers["Authorization"] = "Bearer " + key
        self._ssl = ssl.create_default_context() if self._endpoint.https else None
        self.tokens_used = 0
        from ...core.prompts import load_prompt_set
        from ...core.tools.protocol import load_schemas

        self.prompt = load_prompt_set(str(system_prompt_file or ""), str(tool_descriptions_file or ""),
                                      known=set(load_schemas()))

    @classmethod
    def from_config(cls, path: str | Path | None = None, **overrides: Any) -> OpenAIPolicy:
        """A policy with the settings of ``config/policy_openai.yaml`` (or ``path``), where every
        override that is not None wins (e.g. ``base_url=`` from a command line).

        Raises:
            ConfigError: the file is unreadable, has unknown keys, or a value is out of range.
        """
        p = Path(path) if path is not None else config_dir() / "policy_openai.yaml"
        try:
            data = read_yaml(p, MAX_SETTINGS_FILE_BYTES, "parameter")
        except YamlReadError as exc:
            raise ConfigError(str(exc)) from None
        section = data.get(SETTINGS_NODE) if isinstance(data, dict) else None
        params = section.get("ros__parameters") if isinstance(section, dict) else None
        if not isinstance(params, dict):
            raise ConfigError(f"{clip(str(p))} has no '{SETTINGS_NODE}: ros__parameters:' mapping")
        settings = {**params, **{k: v for k, v in overrides.items() if v is not None}}
        known = set(inspect.signature(cls).parameters)
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ConfigError(f"unknown policy setting(s): {', '.join(clip(k, 30) for k in unknown[:5])}")
        return cls(**settings)

    def start(self, command: str) -> None:
        """A new episode: the token budget starts again."""
        self.tokens_used = 0

    def _content(self, m: Message, images: list[np.ndarray]) -> Any:
        if not (self.send_images and m.images):
            return m.content
        import cv2

        parts = []
        for i in m.images:
            if 0 <= i < len(images):
                ok, png = cv2.imencode(".png", np.ascontiguousarray(images[i][..., ::-1]))
                if ok:
                    parts.append({"type": "image_url",
                                  "image_url": {"url": "data:image/png;base64," + base64.b64encode(png.tobytes()).decode()}})
        parts.append({"type": "text", "text": m.content})
        return parts

    def next_turn(self, messages: list[Message], images: list[np.ndarray]) -> str:
        """The model's next assistant message as text, within ``timeout_s`` (retries included).

        Raises:
            PolicyError: deadline passed, server unreachable or failing after retries, an HTTP error
                status, a malformed reply, or the token budget is spent.
        """
        deadline = time.monotonic() + self.timeout_s
        left = self.token_budget - self.tokens_used
        if left <= 0:
            raise PolicyError(f"token budget of {self.token_budget} spent")
        chat = [{"role": m.role, "content": self._content(m, images)} for m in messages]
        payload = json.dumps({"model": self.model, "messages": chat, "temperature": self.temperature,
                              "max_tokens": min(self.max_tokens, left), "stream": False}).encode("utf-8")
        data = self._post(payload, deadline)
        text, tokens = self._turn(data)
        self.tokens_used += tokens if tokens is not None else (len(text) + 3) // 4
        return text

    # ---- transport -----------------------------------------------------------------------------
    def _post(self, payload: bytes, deadline: float) -> bytes:
        """The body of a 2xx reply, retrying 5xx/429/connection failures while time and tries are left."""
        tries = 0
        while True:
            tries += 1
            try:
                status, retry_after, data = self._exchange(payload, deadline)
            except _Expired:
                raise self._error(f"no complete reply within the {self.timeout_s:g} s deadline "
                                  f"({tries} {'try' if tries == 1 else 'tries'})") from None
            except _Retry as exc:
                last, wait = str(exc), 0.0
            else:
                if 200 <= status < 300:
                    return data
                last = f"the policy server answered HTTP {status}{self._server_message(data)}"
                if status != 429 and status < 500:
                    raise self._error(last)
                wait = retry_after
            if tries > self.max_retries:
                raise self._error(f"{last} ({tries} tries)")
            wait = max(wait, min(BACKOFF_S * 2 ** (tries - 1), MAX_BACKOFF_S))
            if time.monotonic() + wait >= deadline:
                raise self._error(f"{last}; no time left to retry within {self.timeout_s:g} s")
            time.sleep(wait)

    def _exchange(self, payload: bytes, deadline: float) -> tuple[int, float, bytes]:
        """One POST: (status, Retry-After in s, body). A timer shuts the socket down at the deadline, so
        nothing after the TCP connect (TLS handshake, status line, headers, body) outlives it; each
        read also times out at the time left. (Name resolution is the system's and not bounded here.)"""
        left = deadline - time.monotonic()
        if left <= 0:
            raise _Expired()
        ep = self._endpoint
        conn = http.client.HTTPConnection(ep.host, ep.port, timeout=left)
        expired = threading.Event()
        held: list[socket.socket] = []
        resp: http.client.HTTPResponse | None = None

        def cut() -> None:
            expired.set()
            for s in held:
                try:
                    socket.socket.shutdown(s, socket.SHUT_RDWR)  # the plain socket's, also under TLS
                except OSError:
                    pass

        timer = threading.Timer(left, cut)
        timer.daemon = True
        timer.start()
        try:
            sock = socket.create_connection((ep.host, ep.port), timeout=left)
            held.append(sock)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._ssl is not None:
                sock = self._ssl.wrap_socket(sock, server_hostname=ep.host, do_handshake_on_connect=False)
                held[0] = sock
                sock.do_handshake()
            if expired.is_set():
                raise _Expired()
            conn.sock = sock
            conn.request("POST", ep.target, body=payload, headers=self._headers)
            resp = conn.getresponse()
            ok = 200 <= resp.status < 300
            data = self._read_body(resp, sock, self.max_body_bytes if ok else MAX_ERROR_BODY_BYTES, ok, deadline)
            if expired.is_set():  # the socket was shut down: what came may be cut short
                raise _Expired()
            wait = resp.getheader("Retry-After") or ""
            return resp.status, float(wait) if re.fullmatch(r"\d{1,4}", wait.strip()) else 0.0, data
        except (_Expired, PolicyError):
            raise
        except Exception as exc:  # whatever the transport raises becomes one of ours
            if expired.is_set() or time.monotonic() >= deadline:
                raise _Expired() from None
            if isinstance(exc, _Retry):
                raise
            if isinstance(exc, ssl.SSLCertVerificationError):
                raise self._error("the policy server's TLS certificate did not verify") from None
            if isinstance(exc, (OSError, http.client.HTTPException, ValueError)):
                raise _Retry(f"the policy server connection failed ({type(exc).__name__})") from None
            if isinstance(exc, zlib.error):
                raise self._error("malformed response: the compressed body does not decompress") from None
            raise self._error(f"policy server error: {type(exc).__name__}") from None
        finally:
            timer.cancel()
            if resp is not None:
                resp.close()  # the socket stays open while the response holds it
            conn.close()
            for s in held:
                s.close()

    def _read_body(self, resp: http.client.HTTPResponse, sock: socket.socket, cap: int, ok: bool,
                   deadline: float) -> bytes:
        encoding = (resp.getheader("Content-Encoding") or "identity").strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            inflate = zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib framing
        elif encoding == "identity":
            inflate = None
        else:
            raise self._error(f"malformed response: unsupported content-encoding {short(encoding, 30)}")
        length = (resp.getheader("Content-Length") or "").strip()
        if ok and inflate is None and length.isdigit() and int(length) > cap:
            raise self._error(f"malformed response: a body of {int(length)} bytes (limit {cap})")
        buf = bytearray()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Expired()
            sock.settimeout(left)
            chunk = resp.read1(_READ_CHUNK)
            if not chunk:
                break
            buf += inflate.decompress(chunk, cap + 1 - len(buf)) if inflate is not None else chunk
            if len(buf) > cap:
                if ok:
                    raise self._error(f"malformed response: a body larger than {cap} bytes")
                return bytes(buf[:cap])
        if resp.length:  # the connection ended before Content-Length bytes came
            raise _Retry("the policy server closed the connection mid-reply")
        if inflate is not None:
            buf += inflate.flush()
            if len(buf) > cap and ok:
                raise self._error(f"malformed response: a body larger than {cap} bytes")
        return bytes(buf)

    # ---- the reply -------------------------------------------------------------------------------
    def _turn(self, data: bytes) -> tuple[str, int | None]:
        """The turn's text and the server's completion-token count (None when it sent no usage)."""
        try:
            doc = loads(data, self._limits)
        except DecodeError as exc:
            raise self._error(f"malformed response: {exc}") from None
        if not isinstance(doc, dict):
            raise self._error(f"malformed response: the body is a JSON {type(doc).__name__}, not an object")
        choices = doc.get("choices")
        if choices is None and doc.get("error") is not None:
            raise self._error(f"the policy server answered with an error{self._server_message(doc)}")
        if not isinstance(choices, list):
            raise self._error("malformed response: choices is " + ("missing" if choices is None else "not a list"))
        if not choices:
            raise self._error("malformed response: choices is empty")
        msg = choices[0].get("message") if isinstance(choices[0], dict) else None
        if not isinstance(msg, dict):
            raise self._error("malformed response: choices[0].message is missing or not an object")
        text = self._text(msg.get("content"))
        calls = msg.get("tool_calls")
        if calls is not None:
            if not isinstance(calls, list):
                raise self._error("malformed response: tool_calls is not a list")
            if len(calls) > MAX_CALLS_PER_TURN:
                raise self._error(f"malformed response: {len(calls)} tool calls (limit {MAX_CALLS_PER_TURN})")
            for i, call in enumerate(calls):  # servers that parse <tool_call> themselves: written back as text
                text += "\n<tool_call>\n" + self._fold(i, call) + "\n</tool_call>"
        return text[: self.max_text_chars], self._completion_tokens(doc.get("usage"))

    def _text(self, content: Any) -> str:
        if content is None or isinstance(content, str):
            return content or ""
        if isinstance(content, list):
            parts = []
            for part in content:
                if not (isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)):
                    raise self._error("malformed response: message.content has a part that is not text")
                parts.append(part["text"])
            return "".join(parts)
        raise self._error(f"malformed response: message.content is a {type(content).__name__}")

    def _fold(self, i: int, call: Any) -> str:
        """One structured tool call as the JSON of a <tool_call> block. String arguments are decoded with
        the tool-call limits; when they do not decode they stay a string, so the agent's parser reports
        the problem to the model."""
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict):
            raise self._error(f"malformed response: tool_calls[{i}].function is missing or not an object")
        name = fn.get("name")
        if not isinstance(name, str):
            raise self._error(f"malformed response: tool_calls[{i}].function.name is not a string")
        args = fn.get("arguments")
        if args is None:
            args = {}
        elif isinstance(args, str):
            try:
                args = loads(args, CALL_LIMITS) if args.strip() else {}
            except DecodeError:
                pass
        elif not isinstance(args, dict):
            raise self._error(f"malformed response: tool_calls[{i}].function.arguments is neither "
                              "a JSON string nor an object")
        return json.dumps({"name": name, "arguments": args})  # depth bounded by the body's decoder limits

    def _completion_tokens(self, usage: Any) -> int | None:
        if usage is None:
            return None
        if not isinstance(usage, dict):
            raise self._error("malformed response: usage is not an object")
        n = usage.get("completion_tokens")
        if n is None:
            return None
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise self._error(f"malformed response: usage.completion_tokens is {short(n, 30)}, "
                              "not a non-negative integer")
        return n

    def _server_message(self, data: bytes | dict) -> str:
        """``: <message>`` from an OpenAI-style error body, or nothing."""
        try:
            doc = data if isinstance(data, dict) else loads(data, _ERROR_LIMITS)
        except DecodeError:
            return ""
        err = doc.get("error") if isinstance(doc, dict) else None
        text = err.get("message") if isinstance(err, dict) else err
        return f": {text}" if isinstance(text, str) and text.strip() else ""

    def _error(self, message: str) -> PolicyError:
        """A PolicyError with a short printable message that never contains the API key."""
        if self._key:
            message = message.replace(self._key, "***")
        message = "".join(c if c.isprintable() else "?" for c in message)
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[: MAX_MESSAGE_CHARS - 3] + "..."
        return PolicyError(message)
