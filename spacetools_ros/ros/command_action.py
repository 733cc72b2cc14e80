"""The agent's ExecuteCommand action server (spacetools_interfaces): goals become worker jobs,
progress lines become feedback, the episode result document becomes the result."""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup

from ..core.command_guard import MAX_RAW_CHARS
from .agent_jobs import Job, JobBoard

ACTION = "spacetools/execute"  # relative: /spacetools/execute, or under the node's namespace
FRAMES = ("camera", "robot")
QUEUE_DEPTH = 4  # queue_goals: goals that may wait behind the running one
MESSAGE_CHARS = 300
_TOOL = re.compile(r"^\[agent\] ([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*): ")
# phase -> the least progress a line in that phase stands for (a rough fraction of a pick-and-place)
_FLOOR = {"perceive": 0.1, "tool": 0.2, "reason": 0.0, "grasp": 0.5, "place": 0.75, "verify": 0.85}


@dataclass(frozen=True)
class FeedbackFields:
    """What one progress line says, as the action's feedback fields."""

    phase: str
    progress: float
    latest_tool_call: str
    message: str
    image_index: int = -1


def phase_of(tool: str | None, line: str) -> str:
    """The feedback phase of a progress line (``tool``: the tool it reports, if any)."""
    name = (tool or "").lower()
    if "execute_grasp" in name:
        return "grasp"
    if "place" in name:
        return "place"
    if any(w in name for w in ("capture", "detect", "segment", "depth", "bbox", "select_view", "index_at")):
        return "perceive"
    if name:
        return "tool"
    text = line.lower()
    return "verify" if any(w in text for w in ("verif", "check", "using view", "put back")) else "reason"


class ProgressTracker:
    """Turns the orchestrator's progress lines into feedback; progress never goes down and stays
    below 1 until the result."""

    def __init__(self) -> None:
        self.progress = 0.0
        self.tool_call = ""

    def update(self, line: str) -> FeedbackFields:
        """The feedback for the next progress line."""
        m = _TOOL.match(line)
        tool = m.group(1) if m else None
        phase = phase_of(tool, line)
        if tool is not None:
            self.tool_call = json.dumps({"tool": tool})
        self.progress = min(0.95, max(_FLOOR[phase], self.progress + (0.95 - self.progress) * 0.1))
        return FeedbackFields(phase, round(self.progress, 3), self.tool_call, line[:MESSAGE_CHARS])


def goal_refusal(command: str, spatial_frame: str, timeout_s: float, dry_run: bool,
                 fixed_frame: str | None = None) -> str | None:
    """Why a goal is refused before it is accepted (None: acceptable).

    Args:
        fixed_frame: the one frame this agent can honour (its tools run elsewhere with their own),
            or None when any of ``FRAMES`` is fine.
    """
    if dry_run:
        return "dry_run is not supported: this agent has no plan-only mode (it would move the arm)"
    if len(command) > MAX_RAW_CHARS:
        return f"the command is {len(command)} characters long (limit {MAX_RAW_CHARS})"
    if not command.strip():
        return "the command is empty"
    if spatial_frame and spatial_frame not in FRAMES:
        return f"spatial_frame must be camera, robot or empty (the node's default), got {spatial_frame[:40]!r}"
    if fixed_frame is not None and spatial_frame and spatial_frame != fixed_frame:
        return f"spatial_frame {spatial_frame} differs from {fixed_frame}, which the tool replicas use"
    if not math.isfinite(timeout_s) or timeout_s < 0:
        return f"timeout_s must be 0 (the node's default) or a positive number of seconds, got {timeout_s}"
    return None


def stopped_doc(job: Job, **extra) -> dict:
    """The result document of a job that never ran an episode."""
    return {"command": job.command, "success": False, "reason": job.stop_reason or "error",
            "verified": False, "answer": None, "attempts": 0, "tool_calls": [], **extra}


class CommandActionServer:
    """``ExecuteCommand`` on a node, feeding the node's worker through ``board``.

    The execute callback waits (in an executor thread) for the worker to finish the job, so the
    node must spin on a multi-threaded executor; goals, cancels and the node's other callbacks
    stay responsive meanwhile (their own callback group).

    Args:
        node: the agent node.
        board: the worker's jobs.
        stop: ``stop(job, reason)`` stops a job (the running one: the arm stops now).
        default_frame: the frame of goals that leave ``spatial_frame`` empty.
        fixed_frame: see :func:`goal_refusal`.
        queue_goals: let up to ``QUEUE_DEPTH`` goals wait instead of refusing them while busy.
        on_refused: ``on_refused(command, reason)`` (e.g. a status message).
        name: the action name (relative names resolve in the node's namespace).
        callback_group: the server's callback group (default: a reentrant one of its own).
    """

    def __init__(self, node, board: JobBoard, stop: Callable[[Job, str], None], *, default_frame: str,
                 fixed_frame: str | None = None, queue_goals: bool = False,
                 on_refused: Callable[[str, str], None] = lambda c, r: None, name: str = ACTION,
                 callback_group=None) -> None:
        from spacetools_interfaces.action import ExecuteCommand

        self._type = ExecuteCommand
        self._node = node
        self._board = board
        self._stop = stop
        self._default_frame = default_frame
        self._fixed_frame = fixed_frame
        self._limit = 1 + QUEUE_DEPTH if queue_goals else 1
        self._on_refused = on_refused
        self._lock = threading.Lock()
        self._jobs: dict[bytes, Job] = {}
        self._closed = threading.Event()
        self._server = ActionServer(node, ExecuteCommand, name, self._execute,
                                    callback_group=callback_group or ReentrantCallbackGroup(),
                                    goal_callback=self._on_goal, handle_accepted_callback=self._on_accepted,
                                    cancel_callback=self._on_cancel)

    def _on_goal(self, goal) -> GoalResponse:
        why = goal_refusal(goal.command, goal.spatial_frame, goal.timeout_s, goal.dry_run, self._fixed_frame)
        if why is None:
            if self._board.reserve(self._limit):
                return GoalResponse.ACCEPT
            why = "busy with another command" if self._limit == 1 else "busy: the goal queue is full"
        self._node.get_logger().warning(f"goal rejected: {why}")
        self._on_refused(goal.command[:MAX_RAW_CHARS + 1], why)
        return GoalResponse.REJECT

    def _on_accepted(self, goal_handle) -> None:
        goal = goal_handle.request
        tracker = ProgressTracker()

        def feedback(line: str) -> None:
            f = tracker.update(line)
            goal_handle.publish_feedback(self._type.Feedback(phase=f.phase, progress=f.progress,
                                                             latest_tool_call=f.latest_tool_call, message=f.message,
                                                             image_index=f.image_index))

        job = Job(goal.command, goal.spatial_frame or self._default_frame, float(goal.timeout_s),
                  on_start=goal_handle.execute, on_progress=feedback)
        with self._lock:
            self._jobs[bytes(goal_handle.goal_id.uuid)] = job
        if not self._board.submit(job, self._limit, reserved=True):  # its place lapsed and another took it
            job.stop_reason = "busy"
            self._finish_unstarted(goal_handle, job, "busy with another command")

    def _on_cancel(self, goal_handle) -> CancelResponse:
        with self._lock:
            job = self._jobs.get(bytes(goal_handle.goal_id.uuid))
        if job is None:
            return CancelResponse.REJECT
        where = self._board.stop(job, "cancelled")
        if where == "gone":
            return CancelResponse.REJECT
        if where == "running":
            self._stop(job, "cancelled")
        else:  # it never started: finish it once the server has marked it as cancelling
            threading.Thread(target=self._finish_unstarted, args=(goal_handle, job, "cancelled before it started"),
                             kwargs={"wait_cancel": True}, daemon=True).start()
        self._node.get_logger().info(f"goal cancel accepted ({where}): {job.command[:80]!r}")
        return CancelResponse.ACCEPT

    def _finish_unstarted(self, goal_handle, job: Job, error: str, wait_cancel: bool = False) -> None:
        if wait_cancel:  # our cancel callback has returned ACCEPT; the server moves the goal on right after
            for _ in range(200):
                if goal_handle.is_cancel_requested or self._closed.is_set():
                    break
                self._closed.wait(0.01)
        job.doc = stopped_doc(job, error=error)
        job.done.set()
        goal_handle.execute()

    def _execute(self, goal_handle):
        with self._lock:
            job = self._jobs.get(bytes(goal_handle.goal_id.uuid))
        while job is not None and not job.done.wait(0.5) and not self._closed.is_set():
            pass
        doc = job.doc if job is not None and job.doc is not None else \
            {"success": False, "reason": "shutdown", "error": "the agent stopped before the command finished"}
        with self._lock:
            self._jobs.pop(bytes(goal_handle.goal_id.uuid), None)
        if doc.get("success") is True:
            goal_handle.succeed()
        elif goal_handle.is_cancel_requested:
            goal_handle.canceled()
        else:
            goal_handle.abort()
        return self._type.Result(success=doc.get("success") is True, verified=doc.get("verified") is True,
                                 reason=str(doc.get("reason") or ""), answer=str(doc.get("answer") or ""),
                                 result_json=json.dumps(doc, default=str))

    def close(self) -> None:
        """Release waiting execute callbacks and remove the server from the node (idempotent)."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._server.destroy()
