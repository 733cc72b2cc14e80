"""ToolClient: calls toolshed replicas over ROS 2 with replica choice, timeouts and retries.

Reusable: it takes a node (and an optional callback group) instead of being one; the toolshed's
topics are relative, so it talks to the replicas in the node's namespace. With the
agent's session key (``SPACETOOLS_SESSION_KEY`` in the environment, or given) every request is
signed, which replicas require for robot tools. Responses and heartbeats go through the bounded
wire decoder; a malformed one is dropped, never raised.
"""

from __future__ import annotations

import threading
import time

from rclpy.node import Node
from std_msgs.msg import String

from ..core.tools.auth import session_key as env_session_key
from ..core.tools.auth import sign
from ..core.tools.wire import (MAX_REQUEST_CHARS, LogLimiter, ReplicaTable, Request, WireError, decode_announcement,
                               decode_response)
from . import topics


class ToolClient:
    """Sends tool calls to live replicas; a silent replica is skipped and the call retried."""

    def __init__(self, node: Node, timeout_s: float = 10.0, retries: int = 2, callback_group=None,
                 session_key: bytes | None = None) -> None:
        """Create the request publisher and the response and heartbeat subscriptions.

        Args:
            node: the node that owns the publisher and subscriptions.
            timeout_s: default wait for one replica's answer.
            retries: default number of other replicas tried after a silent one.
            callback_group: for the response and heartbeat subscriptions.
            session_key: signs requests; default: ``SPACETOOLS_SESSION_KEY`` from the environment
                (unset: requests go unsigned and robot tools are refused).

        Raises:
            ValueError: a session key in the environment that is too short.
        """
        self.node = node
        self.timeout_s = timeout_s
        self.retries = retries
        self.table = ReplicaTable()
        self._key = session_key if session_key is not None else env_session_key()
        self._pending: dict[str, dict] = {}
        self._events: dict[str, tuple[threading.Event, str]] = {}  # id -> (answered, addressed replica)
        self._lock = threading.Lock()
        self._log = LogLimiter()
        self.pub = node.create_publisher(String, topics.TOOLSHED_REQUEST, 50)
        node.create_subscription(String, topics.TOOLSHED_RESPONSE, self._on_response, 50, callback_group=callback_group)
        node.create_subscription(String, topics.TOOLSHED_ANNOUNCE, self._on_announce, 50, callback_group=callback_group)

    @property
    def signs(self) -> bool:
        """Whether requests carry the session credential."""
        return self._key is not None

    def _on_announce(self, msg: String) -> None:
        try:
            ann = decode_announcement(msg.data)
            if ann is None:
                self._log(self.node.get_logger().debug, "ignored a malformed toolshed heartbeat")
                return
            with self._lock:
                self.table.update(ann)
        except Exception as exc:  # noqa: BLE001 - no message may end the caller
            self._log(self.node.get_logger().warning, f"heartbeat not handled: {type(exc).__name__}: {exc}")

    def _on_response(self, msg: String) -> None:
        try:
            doc = decode_response(msg.data)
        except WireError as exc:
            self._log(self.node.get_logger().warning, f"ignored malformed toolshed response: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - no message may end the caller
            self._log(self.node.get_logger().warning, f"response not handled: {type(exc).__name__}: {exc}")
            return
        with self._lock:
            waiting = self._events.get(doc["id"])
            if waiting is not None and doc["replica"] == waiting[1]:  # only the addressed replica answers
                self._pending[doc["id"]] = doc
                waiting[0].set()

    def _encode(self, req: Request) -> str:
        """Signed (with a key) JSON text of ``req``.

        Raises:
            ValueError: arguments that are not JSON data, or a request over the wire limit.
        """
        try:
            text = (sign(req, self._key) if self._key is not None else req).encode()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"the arguments are not JSON data: {exc}") from None
        if len(text) > MAX_REQUEST_CHARS:
            raise ValueError(f"the request has {len(text)} characters (limit {MAX_REQUEST_CHARS})")
        return text

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
            try:
                text = self._encode(req)
            except ValueError as exc:
                return {"id": req.id, "replica": None, "name": name, "ok": False, "tried": tried, "data": {},
                        "text": f"Error: ValueError: {exc}"}
            ev = threading.Event()
            with self._lock:
                self._events[req.id] = (ev, replica)
            self.pub.publish(String(data=text))
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
            self.pub.publish(String(data=self._encode(Request(replica, "episode.end", {}, episode, (),
                                                              end_episode=True))))
