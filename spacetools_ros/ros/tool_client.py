"""ToolClient: calls toolshed replicas over ROS 2 with replica choice, timeouts and retries.

Reusable: it takes a node (and an optional callback group) instead of being one.
"""

from __future__ import annotations

import json
import threading
import time

from rclpy.node import Node
from std_msgs.msg import String

from ..core.tools.wire import ANNOUNCE, REQUEST, RESPONSE, ReplicaTable, Request, decode_announcement


class ToolClient:
    """Sends tool calls to live replicas; a silent replica is skipped and the call retried."""

    def __init__(self, node: Node, timeout_s: float = 10.0, retries: int = 2, callback_group=None) -> None:
        self.node = node
        self.timeout_s = timeout_s
        self.retries = retries
        self.table = ReplicaTable()
        self._pending: dict[str, dict] = {}
        self._events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self.pub = node.create_publisher(String, REQUEST, 50)
        node.create_subscription(String, RESPONSE, self._on_response, 50, callback_group=callback_group)
        node.create_subscription(String, ANNOUNCE, self._on_announce, 50, callback_group=callback_group)

    def _on_announce(self, msg: String) -> None:
        ann = decode_announcement(msg.data)
        if ann is not None:
            with self._lock:
                self.table.update(ann)

    def _on_response(self, msg: String) -> None:
        try:
            doc = json.loads(msg.data)
        except json.JSONDecodeError:
            return
        with self._lock:
            ev = self._events.get(doc.get("id"))
            if ev is not None:
                self._pending[doc["id"]] = doc
                ev.set()

    def wait_for_tool(self, name: str, timeout_s: float = 10.0) -> bool:
        """Block until some replica announces ``name``."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            with self._lock:
                if self.table.alive(name):
                    return True
            time.sleep(0.05)
        return False

    def call(self, name: str, arguments: dict, episode: str = "default", images=("latest",),
             prefer: str | None = None, timeout_s: float | None = None, retries: int | None = None) -> dict:
        """Execute one tool call; returns the response document (``text`` is what a policy sees).

        A replica that does not answer within the timeout is marked failed and the call goes to
        another one (up to ``retries`` times); when none is left the document carries a clear
        error text. ``timeout_s``/``retries`` override the client's defaults for this call.
        """
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        tried: list[str] = []
        for _ in range((self.retries if retries is None else retries) + 1):
            with self._lock:
                if prefer and prefer in self.table.alive(name) and prefer not in tried:
                    replica = prefer
                    self.table.stick(episode, prefer)
                else:
                    replica = self.table.pick(name, episode, exclude=set(tried))
            if replica is None:
                break
            tried.append(replica)
            req = Request(replica, name, arguments, episode, tuple(images))
            ev = threading.Event()
            with self._lock:
                self._events[req.id] = ev
            self.pub.publish(String(data=req.encode()))
            got = ev.wait(timeout_s)
            with self._lock:
                self._events.pop(req.id, None)
                doc = self._pending.pop(req.id, None)
                if not got:
                    self.table.mark_failed(replica)
            if got and doc is not None:
                doc["tried"] = tried
                return doc
            self.node.get_logger().warning(f"replica {replica} did not answer {name} within {timeout_s} s")
        what = f" (tried: {', '.join(tried)})" if tried else ""
        return {"id": "", "replica": None, "name": name, "ok": False, "tried": tried, "data": {},
                "text": f"Error: RuntimeError: no tool server answered '{name}'{what}"}

    def end_episode(self, episode: str) -> None:
        """Free an episode's variables on its replica."""
        with self._lock:
            replica = self.table.sticky(episode)
            self.table.forget_episode(episode)
        if replica:
            self.pub.publish(String(data=Request(replica, "episode.end", {}, episode, (), end_episode=True).encode()))
