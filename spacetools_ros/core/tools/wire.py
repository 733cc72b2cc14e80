"""The toolshed's wire protocol on ROS 2 (JSON in std_msgs/String), ROS-free.

Topics (relative: they move with the nodes' namespace; names in ros/topics.py):
  toolshed/announce  every replica, ~1 Hz: {"replica", "tools", "inflight", "version"}
  toolshed/request   {"id", "replica", "episode", "name", "arguments", "images": [stamp_ns | "latest"],
                      "end_episode"?, "ts"?, "sig"?}
  toolshed/response  {"id", "replica", "name", "ok", "text", "data", "elapsed_s"}
Only the addressed replica answers a request. Calls of one episode stick to one replica (its
variables live there); a client retries on another replica after a timeout. ``ts``/``sig`` are the
agent's credential (core/tools/auth.py); robot tools are served only to signed requests.

Every message is size-checked before it is parsed and parsed by the bounded decoder
(core/tools/decode.py); decoding raises ``WireError`` (or returns None for a heartbeat), never
anything else, whatever the text.
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
MAX_ANNOUNCE_CHARS = 16 * 1024
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
ANNOUNCE_LIMITS = Limits(max_chars=MAX_ANNOUNCE_CHARS, max_depth=3, max_items=MAX_TOOLS + 16,
                         max_string_chars=MAX_TOKEN_CHARS)

_TOKEN = re.compile(r"[A-Za-z0-9_.:@+/=-]+")
_SIG = re.compile(r"[0-9a-f]{64}")
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
    """Parse a request within the wire limits.

    Raises:
        WireError: too large, not JSON, too deep, fields missing, of the wrong type or too long;
            carries the id/replica/name when those were valid.
    """
    d = _object(text, REQUEST_LIMITS, "request")
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


def encode_response(rid: str, replica: str, body: dict[str, Any]) -> str:
    """JSON text of a response (``body``: name, text, ok, data, elapsed_s); one that would exceed
    the wire limit becomes an error response."""
    text = json.dumps(_plain({"id": rid, "replica": replica, **body}), allow_nan=False)
    if len(text) <= MAX_RESPONSE_CHARS:
        return text
    return json.dumps({"id": rid, "replica": replica, "name": str(body.get("name", ""))[:MAX_TOKEN_CHARS],
                       "ok": False, "data": {}, "elapsed_s": _plain(body.get("elapsed_s", 0.0)),
                       "text": f"Error: RuntimeError: the response of {len(text)} characters exceeds the wire "
                               f"limit of {MAX_RESPONSE_CHARS}"})


def decode_response(text: str) -> dict[str, Any]:
    """Parse a response within the wire limits into {id, replica, name, ok, text, data, elapsed_s}.

    Raises:
        WireError: too large, not JSON, or fields missing / of the wrong type.
    """
    d = _object(text, RESPONSE_LIMITS, "response")
    rid, replica, name = d.get("id"), d.get("replica"), d.get("name", "")
    if not is_token(rid, MAX_ID_CHARS) or not is_token(replica):
        raise WireError("response fields 'id' and 'replica' must be identifiers")
    if not isinstance(name, str) or len(name) > MAX_TOKEN_CHARS:
        raise WireError("response field 'name' must be a short string")
    ok, body, data, elapsed = d.get("ok"), d.get("text", ""), d.get("data", {}), d.get("elapsed_s", 0.0)
    if not isinstance(ok, bool) or not isinstance(body, str) or not isinstance(data, dict):
        raise WireError("response fields 'ok' (bool), 'text' (string) and 'data' (object) are required")
    if isinstance(elapsed, bool) or not isinstance(elapsed, (int, float)):
        raise WireError("response field 'elapsed_s' must be a number")
    return {"id": rid, "replica": replica, "name": name, "ok": ok, "text": body, "data": data,
            "elapsed_s": float(elapsed)}


@dataclass(frozen=True)
class Announcement:
    """A replica's heartbeat."""

    replica: str
    tools: tuple[str, ...]
    inflight: int = 0

    def encode(self) -> str:
        """JSON text."""
        return json.dumps({"replica": self.replica, "tools": list(self.tools), "inflight": self.inflight,
                           "version": WIRE_VERSION})


def decode_announcement(text: str) -> Announcement | None:
    """Parse a heartbeat within the wire limits (None when malformed)."""
    try:
        d = _object(text, ANNOUNCE_LIMITS, "announcement")
    except WireError:
        return None
    replica, tools, inflight = d.get("replica"), d.get("tools"), d.get("inflight", 0)
    if not is_token(replica) or not isinstance(tools, list) or len(tools) > MAX_TOOLS \
            or not all(is_token(t) for t in tools):
        return None
    if isinstance(inflight, bool) or not isinstance(inflight, int) or not 0 <= inflight <= 1_000_000:
        return None
    return Announcement(replica, tuple(tools), inflight)


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
    """Which replicas serve which tools; picks one per call (episode affinity, then least loaded).
    Holds at most ``max_replicas`` (stale ones are dropped first; beyond that, new ones are ignored)."""

    def __init__(self, stale_after_s: float = 3.0, max_replicas: int = 256) -> None:
        self.stale_after_s = stale_after_s
        self.max_replicas = max_replicas
        self._seen: dict[str, tuple[float, Announcement]] = {}
        self._sticky: dict[str, str] = {}
        self._failed: dict[str, float] = {}

    def update(self, ann: Announcement, now: float | None = None) -> None:
        """Record a heartbeat."""
        t = time.monotonic() if now is None else now
        if ann.replica not in self._seen and len(self._seen) >= self.max_replicas:
            for r in [r for r, (seen, _) in self._seen.items() if t - seen > self.stale_after_s]:
                del self._seen[r]
            if len(self._seen) >= self.max_replicas:
                return
        self._seen[ann.replica] = (t, ann)
        self._failed.pop(ann.replica, None)

    def alive(self, tool: str, now: float | None = None) -> list[str]:
        """Replicas serving ``tool`` that announced recently and have not just failed."""
        t = time.monotonic() if now is None else now
        out = [r for r, (seen, ann) in self._seen.items()
               if tool in ann.tools and t - seen <= self.stale_after_s and r not in self._failed]
        episodes = {r: list(self._sticky.values()).count(r) for r in out}
        return sorted(out, key=lambda r: (self._seen[r][1].inflight + episodes[r], r))

    def pick(self, tool: str, episode: str, exclude: set[str] = frozenset(), now: float | None = None) -> str | None:
        """The replica for this call, or None when no live replica serves the tool."""
        live = [r for r in self.alive(tool, now) if r not in exclude]
        if not live:
            return None
        sticky = self._sticky.get(episode)
        choice = sticky if sticky in live else live[0]
        self._sticky[episode] = choice
        return choice

    def stick(self, episode: str, replica: str) -> None:
        """Pin an episode to a replica (e.g. a caller's preference)."""
        self._sticky[episode] = replica

    def sticky(self, episode: str) -> str | None:
        """The replica an episode is pinned to, if any."""
        return self._sticky.get(episode)

    def mark_failed(self, replica: str, now: float | None = None) -> None:
        """A replica did not answer in time: skip it until it announces again."""
        self._failed[replica] = time.monotonic() if now is None else now
        self._seen.pop(replica, None)

    def forget_episode(self, episode: str) -> None:
        """Drop an episode's affinity."""
        self._sticky.pop(episode, None)
