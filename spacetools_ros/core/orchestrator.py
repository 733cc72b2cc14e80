"""The agent loop (ROS-free): policy <-> tools, safety envelope, limits, self-correction budget."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .camera import CameraFrame
from .errors import SpacetoolsError
from .conversation import Message, format_tool_responses, parse_assistant, system_prompt, transcript
from .safety import SafetyEnvelope
from .tools.protocol import ToolCall, ToolSchema

MOTION_TOOLS = ("robot.execute_grasp", "robot.place_object_at_2d_location")


@dataclass(frozen=True)
class OrchestratorConfig:
    """Limits of one episode."""

    max_turns: int = 40
    max_tool_calls: int = 60
    max_robot_failures: int = 4
    timeout_s: float = 600.0


@dataclass
class ToolResult:
    """What the orchestrator needs back from a tool executor."""

    text: str
    ok: bool
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class EpisodeOutcome:
    """The result document of one command."""

    success: bool
    reason: str | None
    answer: str | None
    attempts: int
    tool_calls: list[dict[str, Any]]
    messages: list[Message]
    time_to_first_move_s: float | None
    total_s: float
    timings: dict[str, float]
    cleanup: str | None = None  # what the robot did after the policy ended (e.g. put a held object back)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (transcript inline)."""
        return {"cleanup": self.cleanup, "success": self.success, "reason": self.reason, "answer": self.answer, "attempts": self.attempts,
                "tool_calls": self.tool_calls, "transcript": transcript(self.messages),
                "time_to_first_move_s": None if self.time_to_first_move_s is None else round(self.time_to_first_move_s, 4),
                "total_s": round(self.total_s, 4), "timings": {k: round(v, 4) for k, v in self.timings.items()}}


class Orchestrator:
    """Runs one command: asks the policy, validates and executes its tool calls, feeds back results."""

    def __init__(self, policy, execute: Callable[[ToolCall], ToolResult], schemas: dict[str, ToolSchema],
                 latest_frame: Callable[[], CameraFrame | None], safety: SafetyEnvelope | None = None,
                 config: OrchestratorConfig | None = None, resolve: Callable[[dict], dict] | None = None,
                 progress: Callable[[str], None] = lambda s: None,
                 images: Callable[[], list] = lambda: [],
                 is_cancelled: Callable[[], bool] = lambda: False) -> None:
        self.policy = policy
        self.execute = execute
        self.schemas = schemas
        self.latest_frame = latest_frame
        self.safety = safety or SafetyEnvelope()
        self.config = config or OrchestratorConfig()
        self.resolve = resolve or (lambda a: a)
        self.progress = progress
        self.images = images
        self.cancelled = False
        self.is_cancelled = is_cancelled  # e.g. the node's cancel service: checked before every call

    def run(self, command: str) -> EpisodeOutcome:
        """Execute a command end to end."""
        cfg = self.config
        t0 = time.perf_counter()
        timings = {"policy": 0.0, "tools": 0.0, "motion": 0.0, "planning": 0.0}
        messages = [Message("system", system_prompt(self.schemas)), Message("user", command)]
        self.policy.start(command)
        calls_log: list[dict[str, Any]] = []
        first_move = None
        answer, reason = None, None
        robot_failures = 0
        grasp_attempts = 0
        last_grasp_ok = last_place_ok = False
        for _turn in range(cfg.max_turns):
            if self.cancelled or self.is_cancelled():
                reason = "cancelled"
                break
            if time.perf_counter() - t0 > cfg.timeout_s:
                reason = "timeout"
                break
            tp = time.perf_counter()
            try:
                text = self.policy.next_turn(messages, self.images())
            except SpacetoolsError as exc:
                reason = "policy_error"
                self.progress(f"[agent] policy failed: {exc}")
                break
            finally:
                timings["policy"] += time.perf_counter() - tp
            turn = parse_assistant(text if isinstance(text, str) else "")
            messages.append(Message("assistant", text if isinstance(text, str) else ""))
            if not turn.calls:
                if turn.answer is not None:
                    answer = turn.answer
                else:
                    reason = "no_tool_call_or_answer" if not turn.errors else "malformed_output"
                break
            texts = list(turn.errors)
            new_images: list[int] = []
            for call in turn.calls:
                if len(calls_log) >= cfg.max_tool_calls:
                    reason = "tool_call_limit"
                    break
                if self.cancelled or self.is_cancelled():
                    reason = "cancelled"
                    break
                calls_log.append(call.to_dict())
                refusal = None
                if call.name in MOTION_TOOLS:
                    try:
                        args = self.resolve(call.arguments)
                    except Exception:  # noqa: BLE001 - unresolvable arguments are the tool's to report
                        args = call.arguments
                    refusal = self.safety.check(call, args, self.latest_frame())
                if refusal is not None:
                    texts.append(refusal)
                    self.progress(f"[agent] refused {call.name}: {refusal}")
                    continue
                ts = time.perf_counter()
                if call.name in MOTION_TOOLS and first_move is None:
                    first_move = ts - t0
                res = self.execute(call)
                dt = time.perf_counter() - ts
                timings["motion" if call.name in MOTION_TOOLS else "tools"] += dt
                plan = sum(res.data.get("result", {}).get("plan_times_s", []) or [0.0]) if call.name in MOTION_TOOLS else 0.0
                timings["planning"] = timings.get("planning", 0.0) + plan
                texts.append(res.text)
                if isinstance(res.data.get("image_index"), int) and call.name.startswith(("robot.", "view_selection.")):
                    new_images.append(res.data["image_index"])
                self.progress(f"[agent] {call.name}: {res.text[:100]}")
                if call.name == "robot.execute_grasp":
                    grasp_attempts += 1
                    last_grasp_ok = "succeeded" in res.text
                    last_place_ok = False
                    robot_failures += 0 if last_grasp_ok else 1
                elif call.name == "robot.place_object_at_2d_location":
                    last_place_ok = "succeeded" in res.text
                    robot_failures += 0 if last_place_ok else 1
            messages.append(Message("user", format_tool_responses(texts), new_images))
            if reason is not None:
                break
            if robot_failures > cfg.max_robot_failures:
                reason = "too_many_failures"
                break
        else:
            reason = reason or "turn_limit"
        # motion = planning (wall clock) + execution and simulation stepping; in-process, no ROS overhead
        timings["execution"] = max(timings["motion"] - timings["planning"], 0.0)
        timings["ros_overhead"] = 0.0
        success = reason is None and answer is not None and last_grasp_ok and last_place_ok
        if not success and reason is None:
            reason = "no_robot_action" if grasp_attempts == 0 else "task_failed"
        return EpisodeOutcome(success, None if success else reason, answer, grasp_attempts, calls_log, messages,
                              first_move, time.perf_counter() - t0, timings)
