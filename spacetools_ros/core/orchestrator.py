"""The agent loop (ROS-free): policy <-> tools, safety envelope, limits, self-correction budget."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .command_guard import CommandRefused, check_command
from .commands import CommandError, parse_command
from .conversation import Message, format_tool_responses, parse_assistant, system_prompt, transcript
from .safety import MOTION_TOOLS, PLACE_TOOL
from .tools.decode import clip
from .tools.protocol import ToolCall, ToolSchema
from .verify import OutcomeVerifier, Verdict


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
    error: str | None = None    # the detail behind a refusal or failure (bounded)
    verification: Verdict | None = None  # the agent's own look at the world after acting

    @property
    def verified(self) -> bool | None:
        """True/False from the last check of the world, None when it could not be checked."""
        return None if self.verification is None else self.verification.verified

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (transcript inline)."""
        return {"cleanup": self.cleanup, "success": self.success, "verified": self.verified,
                "verification": None if self.verification is None else self.verification.to_dict(),
                "reason": self.reason, "error": self.error,
                "answer": self.answer, "attempts": self.attempts,
                "tool_calls": self.tool_calls, "transcript": transcript(self.messages),
                "time_to_first_move_s": None if self.time_to_first_move_s is None else round(self.time_to_first_move_s, 4),
                "total_s": round(self.total_s, 4), "timings": {k: round(v, 4) for k, v in self.timings.items()}}


def _point(value: Any) -> np.ndarray | None:
    """A reported base-frame point (3 finite numbers), or None."""
    if not (isinstance(value, list) and len(value) == 3
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        return None
    p = np.asarray(value, dtype=float)
    return p if np.all(np.isfinite(p)) else None


def _with_check(text: str, verdict: Verdict) -> str:
    """The place tool's answer after the agent looked: a refuted place is a failed place."""
    if verdict.verified is False:
        return f"Release operation failed. The object was released, but {verdict.summary}."
    if verdict.verified is None:
        return f"{text} ({verdict.summary})"
    return text


def _plan_time(res: ToolResult) -> float:
    """Planning seconds reported by a motion tool (0 when absent or malformed)."""
    result = res.data.get("result")
    times = result.get("plan_times_s") if isinstance(result, dict) else None
    if not isinstance(times, list):
        return 0.0
    return float(sum(t for t in times if isinstance(t, (int, float)) and not isinstance(t, bool) and 0 <= t < 1e6))


class Orchestrator:
    """Runs one command: asks the policy, validates and executes its tool calls, feeds back results."""

    def __init__(self, policy, execute: Callable[[ToolCall], ToolResult], schemas: dict[str, ToolSchema], *,
                 config: OrchestratorConfig | None = None, progress: Callable[[str], None] = lambda s: None,
                 images: Callable[[], list] = lambda: [],
                 is_cancelled: Callable[[], bool] = lambda: False, verifier: OutcomeVerifier | None = None) -> None:
        """The executor decodes robot-tool arguments and enforces the safety envelope (it holds the
        episode's variables and images); this loop never moves anything itself. ``verifier`` looks at
        the world after every place: success requires its ``verified`` (without one, nothing is verified)."""
        self.verifier = verifier
        self.policy = policy
        self.execute = execute
        self.schemas = schemas
        self.config = config or OrchestratorConfig()
        self.progress = progress
        self.images = images
        self.cancelled = False
        self.is_cancelled = is_cancelled  # e.g. the node's cancel service: checked before every call

    def _check(self, point: np.ndarray | None) -> Verdict:
        """The verifier's look at the world; a check that fails to run cannot confirm anything."""
        try:
            return self.verifier.check(point)
        except Exception as exc:  # noqa: BLE001 - reported as not checkable
            return Verdict(None, f"cannot check: looking at the scene failed ({type(exc).__name__}: {clip(str(exc), 80)})")

    def _refused(self, reason: str, answer: str, error: str, command: str, t0: float,
                 verdict: Verdict | None = None) -> EpisodeOutcome:
        """An outcome for a command refused before any policy saw it (nothing moved)."""
        self.progress(f"[agent] refused the command: {error}")
        return EpisodeOutcome(False, reason, answer, 0, [], [Message("user", command)], None, time.perf_counter() - t0,
                              {"policy": 0.0, "tools": 0.0, "motion": 0.0, "planning": 0.0}, error=error,
                              verification=verdict)

    def run(self, command: str) -> EpisodeOutcome:
        """Execute a command end to end. Never raises for bad input or a failing policy: the
        outcome's ``reason`` says what happened (``invalid_command`` = refused before any policy saw it)."""
        cfg = self.config
        t0 = time.perf_counter()
        timings = {"policy": 0.0, "tools": 0.0, "motion": 0.0, "planning": 0.0}
        try:
            command = check_command(command)
        except CommandRefused as exc:
            return self._refused("invalid_command", f"I cannot act on this command: {exc}", str(exc),
                                 clip(command, 300) if isinstance(command, str) else "", t0)
        try:  # one pick-and-place the agent can check afterwards, or nothing at all
            task = parse_command(command)
        except CommandError as exc:
            return self._refused("not_understood", f"I cannot do that as asked: {exc}", str(exc), command, t0)
        if self.verifier is not None:
            try:
                missing = self.verifier.begin(task)
            except Exception as exc:  # noqa: BLE001 - a check that cannot run: nothing is done unchecked
                missing = Verdict(None, f"cannot check: looking at the scene failed ({type(exc).__name__})")
            if missing is not None:
                what = missing.summary
                question = missing.evidence.get("question")
                if missing.evidence.get("ambiguous") and isinstance(question, str):
                    return self._refused("ambiguous", f"That is ambiguous: {question}", what, command, t0, missing)
                answer = f"I {what}." if what.startswith("cannot find") else \
                    f"I cannot do that: {what.removeprefix('cannot check: ')}."
                if isinstance(question, str) and question and question not in answer:
                    answer = f"{answer} {question[0].upper()}{question[1:]}"
                    answer = answer if answer.endswith((".", "?")) else answer + "."
                return self._refused("not_found", answer, what, command, t0, missing)
        prompt = getattr(self.policy, "prompt", None)  # a model's own prompt text (core/prompts.py), if it has one
        system = system_prompt(self.schemas, base=prompt.system_text, tool_lines=prompt.tool_lines) \
            if prompt is not None else system_prompt(self.schemas)
        messages = [Message("system", system), Message("user", command)]
        try:
            self.policy.start(command)
        except Exception as exc:  # noqa: BLE001 - a policy that cannot start ends the episode, nothing moved
            return EpisodeOutcome(False, "policy_error", None, 0, [], messages, None, time.perf_counter() - t0,
                                  timings, error=f"{type(exc).__name__}: {clip(str(exc))}")
        error = None
        calls_log: list[dict[str, Any]] = []
        first_move = None
        answer, reason = None, None
        robot_failures = 0
        grasp_attempts = 0
        last_point = None                   # where the last place put the object (base frame)
        last_verdict: Verdict | None = None  # the check after the last place, while nothing moved since
        holding = False                     # a grasp succeeded and no place released it since
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
            except Exception as exc:  # noqa: BLE001 - whatever the policy does, the episode ends cleanly
                reason = "policy_error"
                error = f"{type(exc).__name__}: {clip(str(exc))}"
                self.progress(f"[agent] policy failed: {error}")
                break
            finally:
                timings["policy"] += time.perf_counter() - tp
            if not isinstance(text, str):
                reason, error = "policy_error", f"the policy returned {type(text).__name__}, not text"
                break
            turn = parse_assistant(text)
            messages.append(Message("assistant", text))
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
                ts = time.perf_counter()
                try:
                    res = self.execute(call)
                except Exception as exc:  # noqa: BLE001 - an executor failure is shown to the model
                    res = ToolResult(f"Error: RuntimeError: the tool executor failed ({type(exc).__name__})", False,
                                     {"error": type(exc).__name__})
                if not isinstance(res.text, str) or not isinstance(res.data, dict):
                    res = ToolResult("Error: RuntimeError: the tool returned a malformed result", False, {})
                if call.name in MOTION_TOOLS and first_move is None and isinstance(res.data.get("result"), dict):
                    first_move = ts - t0
                dt = time.perf_counter() - ts
                timings["motion" if call.name in MOTION_TOOLS else "tools"] += dt
                plan = _plan_time(res) if call.name in MOTION_TOOLS else 0.0
                timings["planning"] = timings.get("planning", 0.0) + plan
                result = res.data.get("result")
                if call.name in MOTION_TOOLS and isinstance(result, dict):  # it ran (refused calls never do)
                    ok = result.get("success") is True  # what the motion layer measured, not the tool's words
                    verdict = None
                    if call.name == PLACE_TOOL:
                        # released (whatever the check below finds), or it fell out on the way
                        holding = holding and not (ok or result.get("reason") in ("object_dropped", "not_holding"))
                        last_point = _point(res.data.get("point_base"))
                        if ok and self.verifier is not None:
                            tv = time.perf_counter()
                            verdict = self._check(last_point)
                            timings["verify"] = timings.get("verify", 0.0) + time.perf_counter() - tv
                            ok = verdict.verified is not False
                            res = ToolResult(_with_check(res.text, verdict), res.ok, res.data)
                        last_verdict = verdict
                    else:
                        grasp_attempts += 1
                        holding = holding or ok
                        last_verdict = None  # the world changed since the last check
                        if ok and self.verifier is not None:
                            try:
                                self.verifier.after_grasp()
                            except Exception:  # noqa: BLE001 - the baseline stays as it was
                                pass
                    robot_failures += 0 if ok else 1
                backend = res.data.get("backend")
                if isinstance(backend, str):  # who answered: the registry name of the backend
                    calls_log[-1]["backend"] = clip(backend, 80)
                texts.append(res.text)
                if isinstance(res.data.get("image_index"), int) and call.name.startswith(("robot.", "view_selection.")):
                    new_images.append(res.data["image_index"])
                self.progress(f"[agent] {call.name}: {res.text[:100]}")
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
        verification = None
        if self.verifier is not None and grasp_attempts and reason != "cancelled":  # the world, looked at once more, decides
            verification = Verdict(False, "the object is still in the hand") if holding else \
                last_verdict if last_verdict is not None else self._check(last_point)
        success = reason is None and answer is not None and verification is not None and verification.verified is True
        if success and last_verdict is None:
            # the last place was not what put it there (it fell there from the hand, or a grasp failed
            # after it): the policy's words may tell of a failure; the answer adds what the look found
            answer = f"{answer} Looking again, though: {verification.summary}."
        if not success and reason is None:
            reason = ("no_robot_action" if grasp_attempts == 0
                      else "not_verified" if verification is None or verification.verified is None else "task_failed")
        return EpisodeOutcome(success, None if success else reason, answer, grasp_attempts, calls_log, messages,
                              first_move, time.perf_counter() - t0, timings, error=error, verification=verification)
