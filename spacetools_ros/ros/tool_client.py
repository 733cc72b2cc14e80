"""ToolClient: calls toolshed replicas' services with replica choice, timeouts and retries.

Replicas are found in the ROS graph: every ``toolshed/<name>/list_tools`` service (in the node's
namespace) is a replica, asked once for its id and tools; one that leaves the graph is forgotten.
The graph is looked at before calls and on a timer of the node (so the table stays current between calls).
Reusable: it takes a node (and an optional callback group) instead of being one. With the agent's
session key (``SPACETOOLS_SESSION_KEY`` in the environment, or given) every request is signed,
which replicas require for robot tools. Every answer goes through the bounded checks of
core/tools/wire.py; a malformed one counts as no answer.
"""

from __future__ import annotations

import json
import threading
import time

from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from spacetools_interfaces.srv import CallTool, EndEpisode, ListTools

from ..core.tools.auth import session_key as env_session_key
from ..core.tools.auth import sign
from ..core.tools.wire import (MAX_REQUEST_CHARS, MAX_TOOLS, LogLimiter, ReplicaTable, Request, WireError, is_token,
                               response_from_fields)
from . import topics

LIST_TYPE = "spacetools_interfaces/srv/ListTools"
PROBE_PERIOD_S = 2.0  # a replica that failed a call is asked for its tools again at most this often


class _Replica:
    """The clients of one replica's services; ``replica`` is its id once it has answered ListTools."""

    def __init__(self, node: Node, base: str, group) -> None:
        self.base = base
        self.replica: str | None = None
        self.list = node.create_client(ListTools, f"{base}/{topics.LIST_TOOLS}", callback_group=group)
        self.call = node.create_client(CallTool, f"{base}/{topics.CALL_TOOL}", callback_group=group)
        self.end = node.create_client(EndEpisode, f"{base}/{topics.END_EPISODE}", callback_group=group)
        self.asked = -float("inf")  # when ListTools was last sent (monotonic)
        self.asking = None  # the ListTools future while it is unanswered

    def destroy(self, node: Node) -> None:
        for client in (self.list, self.call, self.end):
            node.destroy_client(client)


class ToolClient:
    """Sends tool calls to replicas found in the graph; a silent replica is skipped and the call retried."""

    def __init__(self, node: Node, timeout_s: float = 10.0, retries: int = 2, callback_group=None,
                 session_key: bytes | None = None, refresh_s: float = 0.5) -> None:
        """Args:
            node: the node that owns the service clients (spun by the caller's executor).
            timeout_s: default wait for one replica's answer.
            retries: default number of other replicas tried after a silent one.
            callback_group: for the service clients (default: a reentrant group of its own).
            session_key: signs requests; default: ``SPACETOOLS_SESSION_KEY`` from the environment
                (unset: requests go unsigned and robot tools are refused).
            refresh_s: the graph is looked at again at most this often.

        Raises:
            ValueError: a session key in the environment that is too short.
        """
        self.node = node
        self.timeout_s = timeout_s
        self.retries = retries
        self.refresh_s = refresh_s
        self.table = ReplicaTable()
        self._key = session_key if session_key is not None else env_session_key()
        self._group = callback_group or ReentrantCallbackGroup()
        self._bases: dict[str, _Replica] = {}  # fully qualified service base -> its clients
        self._by_id: dict[str, _Replica] = {}
        self._lock = threading.RLock()
        self._log = LogLimiter()
        self._prefix = node.resolve_service_name(topics.TOOLSHED).rstrip("/") + "/"
        self._refreshed = -float("inf")
        # the table follows the graph by itself too (replicas coming and going between calls)
        self._timer = node.create_timer(max(0.2, 2.0 * refresh_s), self._tick, callback_group=self._group)

    def _tick(self) -> None:
        try:
            self.refresh()
        except Exception as exc:  # noqa: BLE001 - a timer callback must not end the node
            self._log(self.node.get_logger().warning, f"toolshed refresh failed: {type(exc).__name__}: {exc}")

    @property
    def signs(self) -> bool:
        """Whether requests carry the session credential."""
        return self._key is not None

    # ------------------------------------------------------------------ discovery
    def refresh(self, force: bool = False) -> None:
        """Look at the graph: new replicas are asked for their tools, gone ones forgotten, failed
        ones still there asked again (they count again once they answer)."""
        now = time.monotonic()
        with self._lock:
            if not force and now - self._refreshed < self.refresh_s:
                return
            self._refreshed = now
        found = []
        for name, types in self.node.get_service_names_and_types():
            if LIST_TYPE in types and name.startswith(self._prefix) and name.endswith("/" + topics.LIST_TOOLS):
                base = name[: -len(topics.LIST_TOOLS) - 1]
                if "/" not in base[len(self._prefix):]:
                    found.append(base)
        # the graph lists a service while anyone has a client for it (this one included): a replica
        # counts while servers answer at its list_tools and call_tool
        found = [b for b in found[: self.table.max_replicas]
                 if self.node.count_services(f"{b}/{topics.LIST_TOOLS}") and self.node.count_services(
                     f"{b}/{topics.CALL_TOOL}")]
        with self._lock:
            for base in [b for b in self._bases if b not in found]:
                rep = self._bases.pop(base)
                if rep.replica is not None and self._by_id.get(rep.replica) is rep:
                    del self._by_id[rep.replica]
                rep.destroy(self.node)
            self.table.retain(set(self._by_id))
            for base in found:
                if base not in self._bases:
                    self._bases[base] = _Replica(self.node, base, self._group)
            failed = self.table.failed()
            for rep in self._bases.values():  # a question unanswered for a while: given up, asked again later
                if rep.asking is not None and now - rep.asked > PROBE_PERIOD_S:
                    rep.list.remove_pending_request(rep.asking)
                    rep.asking = None
            ask = [r for r in self._bases.values() if r.asking is None and (
                r.replica is None or r.replica in failed) and now - r.asked >= PROBE_PERIOD_S]
        for rep in ask:
            if not rep.list.service_is_ready():
                continue  # not matched yet: asked on a later look
            with self._lock:
                rep.asked = now
                rep.asking = future = rep.list.call_async(ListTools.Request())
            future.add_done_callback(lambda f, r=rep: self._on_tools(r, f))

    def _on_tools(self, rep: _Replica, future) -> None:
        try:
            res = future.result()
            replica, names = res.replica_id, list(res.names)
            if not is_token(replica) or len(names) > MAX_TOOLS or not all(is_token(n) for n in names):
                raise WireError("a ListTools answer with a malformed replica id or tool names")
            if self.node.resolve_service_name(topics.replica_services(replica)) != rep.base:
                raise WireError(f"replica {replica!r} answered from {rep.base}, not its own name")
            with self._lock:
                if self._bases.get(rep.base) is not rep:
                    return  # gone from the graph meanwhile
                other = self._by_id.get(replica)
                if other is not None and other is not rep:
                    raise WireError(f"two replicas call themselves {replica!r}")
                rep.replica = replica
                self._by_id[replica] = rep
                self.table.update(replica, names)
                self.table.recovered(replica)
        except Exception as exc:  # noqa: BLE001 - no answer may end the caller
            self._log(self.node.get_logger().warning, f"toolshed replica at {rep.base} ignored: "
                                                      f"{type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                if rep.asking is future:
                    rep.asking = None

    def wait_for_tool(self, name: str, timeout_s: float = 10.0) -> bool:
        """Block until some replica in the graph serves ``name``."""
        end = time.monotonic() + timeout_s
        while True:
            self.refresh()
            with self._lock:
                if self.table.alive(name):
                    return True
            if time.monotonic() >= end:
                return False
            time.sleep(0.05)

    # ------------------------------------------------------------------ calls
    def _signed(self, req: Request) -> Request:
        """``req`` signed with the key (when there is one).

        Raises:
            ValueError: arguments that are not JSON data.
        """
        try:
            return sign(req, self._key) if self._key is not None else req
        except (TypeError, ValueError) as exc:
            raise ValueError(f"the arguments are not JSON data: {exc}") from None

    def _request(self, req: Request) -> CallTool.Request:
        """The CallTool request of ``req``.

        Raises:
            ValueError: arguments that are not JSON data, or a request over the size limit.
        """
        req = self._signed(req)
        try:
            args = json.dumps(req.arguments, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"the arguments are not JSON data: {exc}") from None
        if len(args) > MAX_REQUEST_CHARS - 256:
            raise ValueError(f"the arguments have {len(args)} characters (limit {MAX_REQUEST_CHARS - 256})")
        return CallTool.Request(request_id=req.id, episode_id=req.episode, tool=req.name, arguments_json=args,
                                image_stamps_ns=[-1 if i == "latest" else int(i) for i in req.images],
                                signed_at=float(req.ts or 0.0), signature=req.sig or "")

    def _wait(self, rep: _Replica, future, timeout_s: float):
        """The service's answer, or None after ``timeout_s``."""
        done = threading.Event()
        future.add_done_callback(lambda _f: done.set())
        if not done.wait(timeout_s):
            rep.call.remove_pending_request(future)
            return None
        return future.result()

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
            replica = self._choose(name, episode, prefer, tried, min(timeout_s, 5.0))
            if replica is None:
                break
            tried.append(replica)
            req = Request(replica, name, arguments, episode, tuple(images))
            try:
                request = self._request(req)
            except ValueError as exc:
                return {"id": req.id, "replica": None, "name": name, "ok": False, "tried": tried, "data": {},
                        "text": f"Error: ValueError: {exc}"}
            with self._lock:
                rep = self._by_id.get(replica)
                self.table.started(replica)
            try:
                res = None if rep is None else self._wait(rep, rep.call.call_async(request), timeout_s)
            finally:
                with self._lock:
                    self.table.started(replica, -1)
            if res is not None:
                try:
                    if res.replica_id != replica:
                        raise WireError(f"answered by {res.replica_id[:40]!r}")
                    doc = response_from_fields(request.request_id, res.replica_id, name, res.ok, res.text,
                                               res.result_json, res.elapsed_s)
                    doc["tried"] = tried
                    return doc
                except WireError as exc:
                    self._log(self.node.get_logger().warning, f"malformed answer from replica {replica}: {exc}")
            with self._lock:
                self.table.mark_failed(replica)
            self.node.get_logger().warning(f"replica {replica} did not answer {name} within {timeout_s} s")
        what = f" (tried: {', '.join(tried)})" if tried else ""
        return {"id": "", "replica": None, "name": name, "ok": False, "tried": tried, "data": {},
                "text": f"Error: RuntimeError: no tool server answered '{name}'{what}"}

    def _choose(self, name: str, episode: str, prefer: str | None, tried: list[str], wait_s: float) -> str | None:
        """The replica for the next try; waits up to ``wait_s`` for one to appear in the graph."""
        end = time.monotonic() + wait_s
        while True:
            self.refresh()
            with self._lock:
                if prefer and prefer in self.table.alive(name) and prefer not in tried:
                    self.table.stick(episode, prefer)
                    return prefer
                replica = self.table.pick(name, episode, exclude=set(tried))
            if replica is not None or tried or time.monotonic() >= end:
                return replica
            time.sleep(0.05)

    def end_episode(self, episode: str) -> None:
        """Free an episode's variables on its replica (not waited for)."""
        with self._lock:
            replica = self.table.sticky(episode)
            self.table.forget_episode(episode)
            rep = self._by_id.get(replica) if replica else None
        if rep is None:
            return
        req = self._signed(Request(replica, "episode.end", {}, episode, (), end_episode=True))
        future = rep.end.call_async(EndEpisode.Request(request_id=req.id, episode_id=episode,
                                                       signed_at=float(req.ts or 0.0), signature=req.sig or ""))

        def done(f) -> None:
            try:
                res = f.result()
                if res is not None and not res.ok:
                    self._log(self.node.get_logger().warning, f"replica {replica} did not end episode {episode}: "
                                                              f"{res.text[:200]}")
            except Exception as exc:  # noqa: BLE001 - logged only
                self._log(self.node.get_logger().warning, f"end of episode {episode}: {type(exc).__name__}")

        future.add_done_callback(done)
