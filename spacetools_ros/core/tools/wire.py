"""The toolshed's calls, ROS-free: what a tool call and its answer hold, their bounds and checks,
and which replica serves a call.

On ROS 2 a replica offers three services (spacetools_interfaces/srv, under the relative name
``toolshed/<replica>/``: call_tool, list_tools, end_episode) that clients find in the ROS graph; a
CallTool request's fields become a ``Request`` through ``request_from_call`` and its response's
fields a response document through ``response_from_fields``. A request also has a JSON form
({"id", "replica", "episode", "name", "arguments", "images": [stamp_ns | "latest"],
"end_episode"?, "ts"?, "sig"?}), the one the signature covers (core/tools/auth.py).
Calls of one episode stick to one replica (its variables live there); a client retries on another
replica after a timeout. Robot tools are served only to signed requests.

Every field is size-checked before it is parsed and JSON is parsed by the bounded decoder
(core/tools/decode.py); the checks raise ``WireError``, never anything else, whatever the input.
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from .decode import DecodeError, Limits, loads, short

WIRE_VERSION = 2

MAX_REQUEST_CHARS = 256 * 1024
MAX_RESPONSE_CHARS = 2 * 1024 * 1024
MAX_ID_CHARS = 64
MAX_TOKEN_CHARS = 128  # replica, episode and tool names
MAX_IMAGES = 16
MAX_TOOLS = 256
MAX_STAMP_NS = 2**63 - 1
MAX_LOG_CHARS = 200

REQUEST_LIMITS = Limits(max_chars=MAX_REQUEST_CHARS, max_depth=16, max_items=50_000,
                        max_string_chars=MAX_REQUEST_CHARS)
RESPONSE_LIMITS = Limits(max_chars=MAX_RESPONSE_CHARS, max_depth=16, max_items=500_000,
                         max_string_chars=MAX_RESPONSE_CHARS)

_TOKEN = re.compile(r"[A-Za-z0-9_.:@+/=-]+")
_SIG = re.compile(r"[0-9a-f]{64}")
_ERROR_KIND = re.compile(r"Error(?: when executing tool)?: ([A-Za-z]{1,64}Error)\b")
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


class WireError(ValueError):
    """A malformed wire message. ``id``/``replica``/``name`` are set when the message named them
    validly, so that the addressed replica can still answer with an error."""

    def __init__(self, message: str, id: str | None = None, replica: str | None = None,
                 name: str | None = None) -> None:
        super().__init__(message)
        self.id, self.replica, self.name = id, replica, name


def is_token(value: Any, limit: int = MAX_TOKEN_CHARS) -> bool:
    """A non-empty printable-ASCII identifier of at most ``limit`` characters ([A-Za-z0-9_.:@+/=-])."""
    return isinstance(value, str) and 0 < len(value) <= limit and _TOKEN.fullmatch(value) is not None


def bounded(text: str, limit: int = MAX_LOG_CHARS) -> str:
    """One printable line of at most ``limit`` characters (for logs of outside data)."""
    text = _UNPRINTABLE.sub("?", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _object(text: Any, limits: Limits, what: str) -> dict:
    """The JSON object in ``text``: the size is checked before anything is parsed."""
    if not isinstance(text, str):
        raise WireError(f"{what} is not text but {type(text).__name__}")
    if len(text) > limits.max_chars:
        raise WireError(f"{what} of {len(text)} characters (limit {limits.max_chars})")
    try:
        d = loads(text, limits)
    except DecodeError as exc:
        raise WireError(f"{what} refused: {exc}") from None
    if not isinstance(d, dict):
        raise WireError(f"{what} must be a JSON object, got {type(d).__name__}")
    return d


@dataclass(frozen=True)
class Request:
    """One tool call addressed to one replica; ``ts`` (s since the epoch) and ``sig`` (hex
    HMAC-SHA256) are set on signed requests (see core/tools/auth.py)."""

    replica: str
    name: str
    arguments: dict[str, Any]
    episode: str = "default"
    images: tuple = ("latest",)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    end_episode: bool = False
    ts: float | None = None
    sig: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The wire document (``ts``/``sig`` only when signed)."""
        d = {"id": self.id, "replica": self.replica, "episode": self.episode, "name": self.name,
             "arguments": self.arguments, "images": list(self.images), "end_episode": self.end_episode}
        if self.sig is not None:
            d["ts"], d["sig"] = self.ts, self.sig
        return d

    def encode(self) -> str:
        """JSON text.

        Raises:
            ValueError: arguments that are not JSON data (non-finite numbers included).
            TypeError: arguments of types JSON does not have.
        """
        return json.dumps(self.to_dict(), allow_nan=False)


def decode_request(text: str) -> Request:
    """Parse a request's JSON form within the wire limits.

    Raises:
        WireError: too large, not JSON, too deep, fields missing, of the wrong type or too long;
            carries the id/replica/name when those were valid.
    """
    return request_from_dict(_object(text, REQUEST_LIMITS, "request"))


def request_from_call(request_id: Any, replica: str, episode: Any, tool: Any, arguments_json: Any,
                      image_stamps_ns: Any = (), signed_at: Any = 0.0, signature: Any = "",
                      end_episode: bool = False) -> Request:
    """The Request a CallTool (or EndEpisode) service request's fields describe, checked as the JSON
    form is. ``image_stamps_ns``: -1 = the newest frame; ``signed_at`` 0 with an empty
    ``signature`` = unsigned.

    Raises:
        WireError: as ``decode_request``.
    """
    named = {"id": request_id if is_token(request_id, MAX_ID_CHARS) else None, "replica": replica,
             "name": tool if is_token(tool) else None}
    stamps = list(image_stamps_ns)
    if len(stamps) > MAX_IMAGES:
        raise WireError(f"at most {MAX_IMAGES} image stamps, got {len(stamps)}", **named)
    if not isinstance(arguments_json, str):
        raise WireError("arguments_json must be text", **named)
    if len(arguments_json) + len(str(tool)) + len(str(episode)) > MAX_REQUEST_CHARS - 256:
        raise WireError(f"request of {len(arguments_json)} characters of arguments (limit {MAX_REQUEST_CHARS})",
                        **named)
    try:
        args = _object(arguments_json or "{}", REQUEST_LIMITS, "arguments_json")
    except WireError as exc:
        raise WireError(str(exc), **named) from None
    d: dict[str, Any] = {"id": request_id, "replica": replica, "episode": episode, "name": tool, "arguments": args,
                         "images": ["latest" if s == -1 else s for s in stamps], "end_episode": bool(end_episode)}
    if signature or signed_at:
        d["ts"], d["sig"] = signed_at, signature
    return request_from_dict(d)


def request_from_dict(d: dict) -> Request:
    """The Request in a decoded JSON object (the one check of every request field).

    Raises:
        WireError: as ``decode_request``.
    """
    rid, replica, name = d.get("id"), d.get("replica"), d.get("name")
    named = {"id": rid if is_token(rid, MAX_ID_CHARS) else None,
             "replica": replica if is_token(replica) else None, "name": name if is_token(name) else None}

    def fail(message: str) -> WireError:
        return WireError(message, **named)

    for key, limit in (("id", MAX_ID_CHARS), ("replica", MAX_TOKEN_CHARS), ("name", MAX_TOKEN_CHARS)):
        if named[key] is None:
            raise fail(f"request field '{key}' missing or not an identifier of at most {limit} characters "
                       f"([A-Za-z0-9_.:@+/=-]): {short(d.get(key), 40)}")
    episode = d.get("episode", "default")
    if not is_token(episode):
        raise fail(f"request field 'episode' must be an identifier of at most {MAX_TOKEN_CHARS} characters: "
                   f"{short(episode, 40)}")
    args = d.get("arguments", {})
    if not isinstance(args, dict):
        raise fail(f"request field 'arguments' must be a JSON object, got {type(args).__name__}")
    images = d.get("images", ["latest"])
    if not isinstance(images, list) or len(images) > MAX_IMAGES or not all(
            i == "latest" or (isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= MAX_STAMP_NS)
            for i in images):
        raise fail(f"request field 'images' must be a list of at most {MAX_IMAGES} stamps (ns) or 'latest'")
    end_episode = d.get("end_episode", False)
    if not isinstance(end_episode, bool):
        raise fail("request field 'end_episode' must be true or false")
    ts, sig = d.get("ts"), d.get("sig")
    if sig is not None or ts is not None:
        if not (isinstance(ts, (int, float)) and not isinstance(ts, bool) and math.isfinite(ts)):
            raise fail("request field 'ts' must be a number (seconds since the epoch)")
        if not (isinstance(sig, str) and _SIG.fullmatch(sig)):
            raise fail("request field 'sig' must be 64 lowercase hex digits")
    return Request(replica, name, args, episode, tuple(images), rid, end_episode, ts, sig)


def _plain(o: Any) -> Any:
    """JSON-ready values (numpy arrays and scalars included); non-finite numbers become null."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if o is None or isinstance(o, (str, int, bool)):
        return o
    if isinstance(o, dict):
        return {str(k): _plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_plain(v) for v in o]
    if hasattr(o, "tolist"):  # numpy
        return _plain(o.tolist())
    return str(o)


def response_fields(body: dict[str, Any]) -> dict[str, Any]:
    """A CallTool response's fields (ok, error, text, result_json, elapsed_s) from a tool's answer
    (``body``: name, text, ok, data, elapsed_s); one over the size limit becomes an error answer."""
    data = _plain(body.get("data", {}))
    result = json.dumps(data if isinstance(data, dict) else {}, allow_nan=False)
    text = str(body.get("text", ""))
    ok = bool(body.get("ok"))
    error = ""
    if not ok:
        error = str(data.get("error", "")) if isinstance(data, dict) else ""
        if not is_token(error):
            kind = _ERROR_KIND.match(text[:120])
            error = kind.group(1) if kind else "Error"
    elapsed = _plain(body.get("elapsed_s", 0.0))
    elapsed = float(elapsed) if isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool) else 0.0
    if len(text) + len(result) > MAX_RESPONSE_CHARS:
        return {"ok": False, "error": "RuntimeError", "result_json": "{}", "elapsed_s": elapsed,
                "text": f"Error: RuntimeError: the answer of {len(text) + len(result)} characters exceeds the limit "
                        f"of {MAX_RESPONSE_CHARS}"}
    return {"ok": ok, "error": error, "text": text,
            "result_json": result, "elapsed_s": elapsed}


def response_from_fields(rid: str, replica: Any, name: str, ok: Any, text: Any, result_json: Any,
                         elapsed_s: Any) -> dict[str, Any]:
    """The response document {id, replica, name, ok, text, data, elapsed_s} of a CallTool answer.

    Raises:
        WireError: fields too large, result_json not a bounded JSON object, or of the wrong type.
    """
    if not isinstance(text, str) or not isinstance(result_json, str):
        raise WireError("response fields 'text' and 'result_json' must be text")
    if len(text) + len(result_json) > MAX_RESPONSE_CHARS:
        raise WireError(f"response of {len(text) + len(result_json)} characters (limit {MAX_RESPONSE_CHARS})")
    data = _object(result_json or "{}", RESPONSE_LIMITS, "result_json")
    return response_from_dict({"id": rid, "replica": replica, "name": name, "ok": ok, "text": text, "data": data,
                               "elapsed_s": elapsed_s})


def response_from_dict(d: dict) -> dict[str, Any]:
    """The checked response document in a decoded object.

    Raises:
        WireError: fields missing or of the wrong type.
    """
    rid, replica, name = d.get("id"), d.get("replica"), d.get("name", "")
    if not is_token(rid, MAX_ID_CHARS) or not is_token(replica):
        raise WireError("response fields 'id' and 'replica' must be identifiers")
    if not isinstance(name, str) or len(name) > MAX_TOKEN_CHARS:
        raise WireError("response field 'name' must be a short string")
    ok, body, data, elapsed = d.get("ok"), d.get("text", ""), d.get("data", {}), d.get("elapsed_s", 0.0)
    if not isinstance(ok, bool) or not isinstance(body, str) or not isinstance(data, dict):
        raise WireError("response fields 'ok' (bool), 'text' (string) and 'data' (object) are required")
    if isinstance(elapsed, bool) or not isinstance(elapsed, (int, float)) or not math.isfinite(elapsed):
        raise WireError("response field 'elapsed_s' must be a finite number")
    return {"id": rid, "replica": replica, "name": name, "ok": ok, "text": body, "data": data,
            "elapsed_s": float(elapsed)}


class LogLimiter:
    """Rate limit for log lines about outside data: at most ``burst`` lines per ``period_s``, each
    one printable line of at most ``MAX_LOG_CHARS``; a later line says how many were dropped."""

    def __init__(self, burst: int = 5, period_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst, self.period_s, self._clock = burst, period_s, clock
        self._start = -math.inf
        self._count = 0
        self._dropped = 0

    def __call__(self, log: Callable[[str], Any], text: str) -> bool:
        """Log ``text`` through ``log`` unless over the rate; returns whether it was logged."""
        now = self._clock()
        if now - self._start >= self.period_s:
            self._start, self._count = now, 0
        if self._count >= self.burst:
            self._dropped += 1
            return False
        self._count += 1
        line = bounded(text)
        if self._dropped:
            line += f" ({self._dropped} similar lines dropped)"
            self._dropped = 0
        log(line)
        return True


class ReplicaTable:
    """Which replicas serve which tools (as found in the ROS graph); picks one per call (episode
    affinity, then the fewest calls and episodes this client has on it). Holds at most
    ``max_replicas``; a replica that failed a call is skipped until it answers again."""

    def __init__(self, max_replicas: int = 256) -> None:
        self.max_replicas = max_replicas
        self._tools: dict[str, tuple[str, ...]] = {}
        self._sticky: dict[str, str] = {}
        self._failed: set[str] = set()
        self._inflight: dict[str, int] = {}

    def update(self, replica: str, tools: tuple[str, ...] | list[str]) -> bool:
        """Record a replica's tools; False when the table is full and it is new."""
        if replica not in self._tools and len(self._tools) >= self.max_replicas:
            return False
        self._tools[replica] = tuple(tools)
        return True

    def retain(self, present: set[str]) -> None:
        """Forget replicas that are no longer in the graph (and their failures)."""
        for r in [r for r in self._tools if r not in present]:
            del self._tools[r]
            self._failed.discard(r)

    def known(self) -> set[str]:
        """Replicas whose tools are known."""
        return set(self._tools)

    def alive(self, tool: str) -> list[str]:
        """Replicas serving ``tool`` that have not just failed, least busy first."""
        out = [r for r, tools in self._tools.items() if tool in tools and r not in self._failed]
        episodes = {r: list(self._sticky.values()).count(r) for r in out}
        return sorted(out, key=lambda r: (self._inflight.get(r, 0) + episodes[r], r))

    def pick(self, tool: str, episode: str, exclude: set[str] = frozenset()) -> str | None:
        """The replica for this call, or None when no live replica serves the tool."""
        live = [r for r in self.alive(tool) if r not in exclude]
        if not live:
            return None
        sticky = self._sticky.get(episode)
        choice = sticky if sticky in live else live[0]
        self._sticky[episode] = choice
        return choice

    def started(self, replica: str, delta: int = 1) -> None:
        """Count a call this client has under way on ``replica`` (``delta`` -1 when it ends)."""
        self._inflight[replica] = max(0, self._inflight.get(replica, 0) + delta)

    def stick(self, episode: str, replica: str) -> None:
        """Pin an episode to a replica (e.g. a caller's preference)."""
        self._sticky[episode] = replica

    def sticky(self, episode: str) -> str | None:
        """The replica an episode is pinned to, if any."""
        return self._sticky.get(episode)

    def mark_failed(self, replica: str) -> None:
        """A replica did not answer in time: skip it until ``recovered``."""
        self._failed.add(replica)

    def recovered(self, replica: str) -> None:
        """A failed replica answered again."""
        self._failed.discard(replica)

    def failed(self) -> set[str]:
        """Replicas skipped after a failure."""
        return set(self._failed)

    def forget_episode(self, episode: str) -> None:
        """Drop an episode's affinity."""
        self._sticky.pop(episode, None)
