"""The toolshed's wire protocol on ROS 2 (JSON in std_msgs/String), ROS-free.

Topics:
  /toolshed/announce  every replica, ~1 Hz: {"replica", "tools", "inflight", "version"}
  /toolshed/request   {"id", "replica", "episode", "name", "arguments", "images": [stamp_ns | "latest"], "end_episode"?}
  /toolshed/response  {"id", "replica", "name", "ok", "text", "data", "elapsed_s"}
Only the addressed replica answers a request. Calls of one episode stick to one replica (its
variables live there); a client retries on another replica after a timeout.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

ANNOUNCE = "/toolshed/announce"
REQUEST = "/toolshed/request"
RESPONSE = "/toolshed/response"
WIRE_VERSION = 1


class WireError(ValueError):
    """A malformed wire message."""


@dataclass(frozen=True)
class Request:
    """One tool call addressed to one replica."""

    replica: str
    name: str
    arguments: dict[str, Any]
    episode: str = "default"
    images: tuple = ("latest",)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    end_episode: bool = False

    def encode(self) -> str:
        """JSON text."""
        return json.dumps({"id": self.id, "replica": self.replica, "episode": self.episode, "name": self.name,
                           "arguments": self.arguments, "images": list(self.images), "end_episode": self.end_episode})


def decode_request(text: str) -> Request:
    """Parse a request.

    Raises:
        WireError: not JSON, or fields missing / of the wrong type.
    """
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WireError(f"request is not JSON: {exc.msg}") from exc
    if not isinstance(d, dict):
        raise WireError("request must be a JSON object")
    for key, typ in (("id", str), ("replica", str), ("name", str)):
        if not isinstance(d.get(key), typ):
            raise WireError(f"request field '{key}' missing or not a {typ.__name__}")
    args = d.get("arguments", {})
    images = d.get("images", ["latest"])
    if not isinstance(images, list) or not all(isinstance(i, (int, str)) and not isinstance(i, bool) for i in images):
        raise WireError("request field 'images' must be a list of stamps (ns) or 'latest'")
    return Request(d["replica"], d["name"], args if isinstance(args, dict) else {"__invalid__": args},
                   str(d.get("episode", "default")), tuple(images), d["id"], bool(d.get("end_episode", False)))


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
    """Parse a heartbeat (None when malformed)."""
    try:
        d = json.loads(text)
        return Announcement(str(d["replica"]), tuple(str(t) for t in d["tools"]), int(d.get("inflight", 0)))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


class ReplicaTable:
    """Which replicas serve which tools; picks one per call (episode affinity, then least loaded)."""

    def __init__(self, stale_after_s: float = 3.0) -> None:
        self.stale_after_s = stale_after_s
        self._seen: dict[str, tuple[float, Announcement]] = {}
        self._sticky: dict[str, str] = {}
        self._failed: dict[str, float] = {}

    def update(self, ann: Announcement, now: float | None = None) -> None:
        """Record a heartbeat."""
        self._seen[ann.replica] = (time.monotonic() if now is None else now, ann)
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
