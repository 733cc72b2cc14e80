"""The agent's session credential on toolshed requests, ROS-free.

A shared secret in the environment (``SPACETOOLS_SESSION_KEY``, never on a command line, in a ROS
parameter, a log line or the wire) keys an HMAC-SHA256 over a canonical encoding of the request
(id, replica, episode, name, arguments, images, end_episode, ts). A replica that serves robot tools
runs them only for requests whose signature verifies, whose timestamp is at most ``MAX_AGE_S`` from
its clock, and whose id it has not seen before (replay). Vision tools stay open to unsigned calls.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections import OrderedDict
from typing import Callable, Mapping

from .wire import Request

KEY_ENV = "SPACETOOLS_SESSION_KEY"
MIN_KEY_CHARS = 32
MAX_AGE_S = 30.0
ROBOT_TOOL_PREFIXES = ("robot.", "view_selection.")
_DOMAIN = "spacetools-toolshed-request-v1"


class AuthError(PermissionError):
    """A request without a valid credential; the message never contains the key."""


def is_robot_tool(name: str) -> bool:
    """Tools that act on (or look through) the robot: served only with the credential."""
    return name.startswith(ROBOT_TOOL_PREFIXES)


def new_key() -> str:
    """A fresh random session key (64 hex digits)."""
    return secrets.token_hex(32)


def session_key(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The session key from the environment, or None when it is not set.

    Raises:
        ValueError: set but shorter than ``MIN_KEY_CHARS`` (the value is not shown).
    """
    value = (os.environ if environ is None else environ).get(KEY_ENV, "").strip()
    if not value:
        return None
    if len(value) < MIN_KEY_CHARS:
        raise ValueError(f"{KEY_ENV} is shorter than {MIN_KEY_CHARS} characters; use e.g. "
                         "python3 -c 'import secrets; print(secrets.token_hex(32))'")
    return value.encode("utf-8")


def canonical(req: Request, ts: float) -> bytes:
    """The bytes the signature covers: fixed field order, sorted keys, no whitespace, ASCII."""
    doc = [_DOMAIN, req.id, req.replica, req.episode, req.name, req.arguments, list(req.images),
           bool(req.end_episode), ts]
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def _mac(key: bytes, req: Request, ts: float) -> str:
    return hmac.new(key, canonical(req, ts), hashlib.sha256).hexdigest()


def sign(req: Request, key: bytes, now: float | None = None) -> Request:
    """``req`` with a timestamp (``now``, default the wall clock) and its signature.

    Raises:
        ValueError/TypeError: arguments that are not JSON data.
    """
    ts = round(time.time() if now is None else now, 3)
    return dataclasses.replace(req, ts=ts, sig=_mac(key, req, ts))


class Verifier:
    """Checks signed requests: signature (constant-time compare), age and replay.

    Ids of accepted requests are remembered for twice ``max_age_s`` (a replay within the age
    window is refused; an older one is refused as stale), at most ``max_remembered`` of them.
    """

    def __init__(self, key: bytes, max_age_s: float = MAX_AGE_S, clock: Callable[[], float] = time.time,
                 max_remembered: int = 100_000) -> None:
        self._key = key
        self.max_age_s = max_age_s
        self._clock = clock
        self._max = max_remembered
        self._seen: OrderedDict[str, float] = OrderedDict()  # id -> arrival time
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never show the key
        return f"Verifier(max_age_s={self.max_age_s})"

    def verify(self, req: Request) -> None:
        """Accept ``req`` (and remember its id) or raise.

        Raises:
            AuthError: unsigned, stale or future timestamp, bad signature, or a replayed id.
        """
        if req.sig is None or req.ts is None:
            raise AuthError("the request is not signed with the agent's session key")
        now = self._clock()
        age = now - req.ts
        if abs(age) > self.max_age_s:
            raise AuthError(f"the request's timestamp is {age:+.0f} s from this replica's clock "
                            f"(limit {self.max_age_s:.0f} s)")
        try:
            expected = _mac(self._key, req, req.ts)
        except (ValueError, TypeError):
            raise AuthError("the request cannot be put in canonical form") from None
        if not hmac.compare_digest(expected, req.sig):
            raise AuthError("bad signature (not signed with this session's key, or altered)")
        with self._lock:
            while self._seen and (now - next(iter(self._seen.values())) > 2 * self.max_age_s
                                  or len(self._seen) >= self._max):
                self._seen.popitem(last=False)
            if req.id in self._seen:
                raise AuthError(f"request id {req.id} was already used (replay)")
            self._seen[req.id] = now
