"""``spacetools command``: send a command to a running spacetools_agent as an ExecuteCommand goal
(action spacetools/execute), show its feedback, wait for the result; Ctrl-C cancels the goal."""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ConfigError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
ACTION = "spacetools/execute"  # the agent's action, relative to --namespace
ANSWER_S = 30.0  # longest wait for the agent to accept or reject a goal
GRACE_S = 30.0  # after --timeout the agent stops the command itself; this long more for its result
CANCEL_WAIT_S = 15.0  # after a cancel, this long for the cancelled result
GONE_S = 3.0  # the agent's action server absent from the graph this long: it went away


@dataclass(frozen=True)
class CommandReply:
    """What became of a command: the result document, the goal's final status
    (succeeded | aborted | canceled | rejected | unknown) and whether the user interrupted it."""

    doc: dict
    status: str
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """The agent carried the command out."""
        return self.status == "succeeded" and self.doc.get("success") is True


def add_command_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``spacetools command``."""
    p.add_argument("text", help='e.g. "put the red block in the blue bowl"')
    p.add_argument("--timeout", type=float, default=300.0,
                   help="seconds the command may take: the agent stops it after this long (0 = the agent's default)")
    p.add_argument("--json", help="write the result document here")
    p.add_argument("--wait-agent", type=float, default=30.0, help="seconds to wait for an agent to appear")
    p.add_argument("--spatial-frame", choices=("camera", "robot"), default="",
                   help="what left/right/in front of/behind mean (default: the agent's spatial_frame parameter)")
    p.add_argument("--namespace", default="", help="the agent's namespace (default: none)")
    p.add_argument("--action", default=ACTION,
                   help=f"the agent's action name, relative to --namespace (default {ACTION})")


def action_name(namespace: str, action: str) -> str:
    """The fully qualified action name (an absolute ``action`` ignores ``namespace``)."""
    if action.startswith("/"):
        return action
    ns = namespace.strip("/")
    return f"/{ns}/{action}" if ns else f"/{action}"


def _decode(text: str) -> dict:
    """A result document through the bounded decoder ({} when it is not a JSON object)."""
    from ..core.tools.decode import DecodeError, Limits, loads

    try:
        doc = loads(text, Limits(max_chars=4_000_000, max_depth=24, max_items=500_000, max_string_chars=4_000_000))
    except DecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _wait(future, limit_s: float, server_up: Callable[[], bool] = lambda: True) -> str:
    """Poll ``future`` (the executor spins in another thread): ``done``, ``timeout`` after ``limit_s``,
    or ``gone`` when ``server_up()`` has been false for GONE_S. Ctrl-C reaches the caller as
    KeyboardInterrupt."""
    now = time.monotonic()
    deadline, next_look, seen = now + limit_s, now + 1.0, now
    while not future.done():
        now = time.monotonic()
        if now >= deadline:
            return "timeout"
        if now >= next_look:
            next_look = now + 1.0
            if server_up():
                seen = now
            elif now - seen >= GONE_S:
                return "gone"
        time.sleep(0.05)
    return "done"


def _gone(command: str, interrupted: bool = False) -> CommandReply:
    return CommandReply({"command": command, "success": False, "reason": "agent_gone",
                         "error": "the agent's action server went away before the result came"}, "unknown", interrupted)


def _reply(response, command: str) -> CommandReply:
    """The goal's result response as a reply (the document from result_json, else from the fields)."""
    from action_msgs.msg import GoalStatus

    names = {GoalStatus.STATUS_SUCCEEDED: "succeeded", GoalStatus.STATUS_ABORTED: "aborted",
             GoalStatus.STATUS_CANCELED: "canceled"}
    r = response.result
    doc = _decode(r.result_json) or {"command": command, "success": r.success, "verified": r.verified,
                                     "reason": r.reason or None, "answer": r.answer or None}
    return CommandReply(doc, names.get(response.status, "unknown"))


def _cancel(handle, result_future, command: str, why: str, interrupted: bool,
            server_up: Callable[[], bool] = lambda: True) -> CommandReply:
    """Cancel the goal and wait (bounded) for its result."""
    print(f"[command] {why}: cancelling the command", file=sys.stderr)
    handle.cancel_goal_async()
    try:
        state = _wait(result_future, CANCEL_WAIT_S, server_up)
    except KeyboardInterrupt:  # asked twice: stop waiting (the cancel is on its way)
        state, interrupted = "timeout", True
    if state == "gone":
        return _gone(command, interrupted)
    if state == "done":
        reply = _reply(result_future.result(), command)
        return CommandReply(reply.doc, reply.status, interrupted)
    doc = {"command": command, "success": False, "reason": "cancelled",
           "error": f"{why}; no result within {CANCEL_WAIT_S:.0f} s of the cancel"}
    return CommandReply(doc, "unknown", interrupted)


def send_command(text: str, timeout_s: float, wait_agent_s: float = 30.0, *, spatial_frame: str = "",
                 name: str = "/" + ACTION, progress: Callable[[str], None] = lambda s: print(s, file=sys.stderr)
                 ) -> CommandReply:
    """Send ``text`` as an ExecuteCommand goal to the action ``name`` and wait for its result.

    Feedback lines go to ``progress``. Ctrl-C (KeyboardInterrupt) cancels the goal and waits for the
    cancelled result; so does a result that has not come ``GRACE_S`` after ``timeout_s``.

    Raises:
        ConfigError: empty command, or no action server within ``wait_agent_s``.
    """
    if not text.strip():
        raise ConfigError("the command is empty")
    import rclpy
    from rclpy.action import ActionClient
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions

    from spacetools_interfaces.action import ExecuteCommand

    if threading.current_thread() is threading.main_thread():
        # a process started in the background by a shell inherits SIGINT ignored, and Python then leaves
        # it so: Ctrl-C (or a launcher's SIGINT) must still cancel the goal
        signal.signal(signal.SIGINT, signal.default_int_handler)
    rclpy.init(args=[], signal_handler_options=SignalHandlerOptions.NO)  # Ctrl-C stays a KeyboardInterrupt here
    node = rclpy.create_node(f"spacetools_command_{os.getpid()}")
    client = ActionClient(node, ExecuteCommand, name)
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    spinner = threading.Thread(target=ex.spin, daemon=True)
    spinner.start()

    def on_feedback(msg) -> None:
        f = msg.feedback
        progress(f"{f.message}  ({f.phase}, {f.progress:.0%})")

    try:
        try:
            found = client.wait_for_server(timeout_sec=wait_agent_s)
        except KeyboardInterrupt:
            return CommandReply({"command": text, "success": False, "reason": "cancelled",
                                 "error": "interrupted before the command was sent"}, "unknown", True)
        if not found:
            raise ConfigError(f"no agent serves the action {name} (is spacetools_agent running, "
                              "with the same ROS_DOMAIN_ID?)")
        goal = ExecuteCommand.Goal(command=text, spatial_frame=spatial_frame, timeout_s=max(timeout_s, 0.0))
        up = client.server_is_ready
        sent = client.send_goal_async(goal, feedback_callback=on_feedback)
        try:
            answered = _wait(sent, ANSWER_S, up)
        except KeyboardInterrupt:  # not accepted yet: a goal accepted meanwhile is cancelled below
            answered = _wait(sent, 5.0, up)
            if answered == "done" and sent.result().accepted:
                return _cancel(sent.result(), sent.result().get_result_async(), text, "interrupted", True, up)
            return CommandReply({"command": text, "success": False, "reason": "cancelled",
                                 "error": "interrupted before the agent took the command"}, "unknown", True)
        if answered == "gone":
            return _gone(text)
        if answered != "done":
            return CommandReply({"command": text, "success": False, "reason": "no_answer",
                                 "error": f"the agent did not answer the goal within {ANSWER_S:.0f} s"}, "unknown")
        handle = sent.result()
        if not handle.accepted:
            return CommandReply({"command": text, "success": False, "reason": "rejected",
                                 "error": "the agent rejected the command (busy with another one, or a goal it "
                                          "cannot take; its log says why)"}, "rejected")
        result = handle.get_result_async()
        limit_s = (timeout_s if timeout_s > 0 else 3600.0) + GRACE_S
        try:
            state = _wait(result, limit_s, up)
        except KeyboardInterrupt:
            return _cancel(handle, result, text, "interrupted", True, up)
        if state == "done":
            return _reply(result.result(), text)
        if state == "gone":
            return _gone(text)
        return _cancel(handle, result, text, f"no result within {limit_s:.0f} s", False, up)
    finally:
        ex.shutdown(timeout_sec=2.0)
        spinner.join(timeout=5.0)  # a spinning thread left at exit aborts the interpreter
        client.destroy()
        node.destroy_node()
        rclpy.shutdown()


def _write_json(path: str, doc: dict) -> None:
    Path(path).write_text(json.dumps(doc, indent=2))


def cmd_command(args: argparse.Namespace) -> int:
    """Run ``command``; exit 0 when the agent carried it out, 130 when interrupted."""
    from ..core.command_guard import CommandRefused, check_command

    if not math.isfinite(args.timeout) or args.timeout < 0:
        raise ConfigError(f"--timeout must be 0 or a positive number of seconds, got {args.timeout}")
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise ConfigError(f"--json directory {Path(args.json).parent} does not exist")
    try:
        text = check_command(args.text)  # the agent refuses it too; nothing is sent
    except CommandRefused as exc:
        if args.json:
            _write_json(args.json, {"success": False, "reason": "invalid_command", "error": str(exc)})
        print(f"[command] refused: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    reply = send_command(text, args.timeout, args.wait_agent, spatial_frame=args.spatial_frame,
                         name=action_name(args.namespace, args.action))
    doc = reply.doc
    if args.json:
        _write_json(args.json, doc)
    status = "SUCCESS" if reply.ok else f"FAILED ({doc.get('reason')}, goal {reply.status})"
    print(f"[command] {status}: {doc.get('answer') or doc.get('error', '')}", file=sys.stderr)
    if not args.json:
        print(json.dumps(doc, indent=2))
    if reply.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if reply.ok else EXIT_FAILED
