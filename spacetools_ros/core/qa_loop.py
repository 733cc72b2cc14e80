"""A question-answering episode (ROS-free): the images and the question, then policy turns and tool
results until an ``<answer>`` or a limit. Nothing moves; model output is parsed, never executed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .conversation import Message, format_tool_responses, parse_assistant, system_prompt, transcript
from .orchestrator import ToolResult
from .paths import config_dir
from .tools.decode import clip
from .tools.protocol import ToolCall, ToolSchema

IMAGE_TOOL_PREFIXES = ("robot.", "view_selection.")  # tools whose result images join the conversation


@dataclass(frozen=True)
class QAConfig:
    """Limits of one question (SpaceTools' RL loop: 8 assistant turns; here also 16 tool calls in all).

    Attributes:
        max_turns: assistant turns.
        max_tool_calls: tool calls over the whole episode.
        tools: offer and execute tools; False: no tools block, and an answer is due in the first turn.
    """

    max_turns: int = 8
    max_tool_calls: int = 16
    tools: bool = True


@dataclass
class QAOutcome:
    """How one question went.

    Attributes:
        answer: the text inside the final ``<answer>`` tags (None: no answer).
        reason: why there is no answer (``turn_limit``, ``tool_call_limit``, ``no_tool_call_or_answer``,
            ``malformed_output``, ``tools_disabled``, ``policy_error``), None with an answer.
        final_text: the last assistant message (what a reward reads).
        tool_calls: every call executed, with its name, arguments and the response text.
        messages: the conversation.
        turns: assistant turns taken.
        seconds: wall time (``policy`` and ``tools`` split out).
        error: detail of a policy failure.
    """

    answer: str | None
    reason: str | None
    final_text: str
    tool_calls: list[dict[str, Any]]
    messages: list[Message]
    turns: int
    seconds: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (transcript inline)."""
        return {"answer": self.answer, "reason": self.reason, "turns": self.turns, "tool_calls": self.tool_calls,
                "transcript": transcript(self.messages), "error": self.error,
                "timings_s": {k: round(v, 4) for k, v in self.seconds.items()}}


def qa_system_prompt(schemas: dict[str, ToolSchema], names: list[str], policy: Any, tools: bool) -> str:
    """The system turn: the policy's own prompt text when it has one (``.prompt``, as the orchestrator
    uses it), else config/prompts/system.txt; followed by the tools block of ``names`` unless ``tools`` is False."""
    prompt = getattr(policy, "prompt", None)
    if not tools:
        base = prompt.system_text if prompt is not None and prompt.system_text is not None else None
        return (base if base is not None else (config_dir() / "prompts" / "system.txt").read_text()).strip()
    if prompt is not None:
        return system_prompt(schemas, names, base=prompt.system_text, tool_lines=prompt.tool_lines)
    return system_prompt(schemas, names)


def run_question(policy: Any, question: str, n_images: int, execute: Callable[[ToolCall], ToolResult],
                 schemas: dict[str, ToolSchema], tool_names: list[str], *, images: Callable[[], list] = lambda: [],
                 config: QAConfig | None = None) -> QAOutcome:
    """Ask one question: user turn = images 0..n_images-1 + the question.

    Args:
        policy: a ``PolicyBackend`` (``start(question)``, ``next_turn(messages, images)``).
        question: the task's text.
        n_images: images already in the episode (the task's), shown in the user turn by index.
        execute: runs one parsed call (validation against its schema and errors as protocol text are
            the executor's: the toolshed's ``execute``); never called when ``config.tools`` is False.
        schemas / tool_names: the tools offered in the system prompt.
        images: the episode's images (RGB arrays) for the policy, read before every turn.
        config: limits.

    Returns:
        The outcome; never raises for a failing or misbehaving policy.
    """
    cfg = config or QAConfig()
    t0 = time.perf_counter()
    seconds = {"policy": 0.0, "tools": 0.0}
    messages = [Message("system", qa_system_prompt(schemas, tool_names, policy, cfg.tools)),
                Message("user", question, list(range(n_images)))]
    calls: list[dict[str, Any]] = []
    answer = reason = error = None
    final = ""
    turns = 0
    try:
        policy.start(question)
    except Exception as exc:  # noqa: BLE001 - a policy that cannot start answers nothing
        return QAOutcome(None, "policy_error", "", [], messages, 0, {"total": time.perf_counter() - t0},
                         f"{type(exc).__name__}: {clip(str(exc))}")
    for _ in range(cfg.max_turns if cfg.tools else 1):
        tp = time.perf_counter()
        try:
            text = policy.next_turn(messages, images())
        except Exception as exc:  # noqa: BLE001 - the episode ends with no answer
            reason, error = "policy_error", f"{type(exc).__name__}: {clip(str(exc))}"
            break
        finally:
            seconds["policy"] += time.perf_counter() - tp
        if not isinstance(text, str):
            reason, error = "policy_error", f"the policy returned {type(text).__name__}, not text"
            break
        turns += 1
        final = text
        turn = parse_assistant(text)
        messages.append(Message("assistant", text))
        if not turn.calls:
            if turn.answer is not None:
                answer = turn.answer
            else:
                reason = "no_tool_call_or_answer" if not turn.errors else "malformed_output"
            break
        if not cfg.tools:
            reason = "tools_disabled"
            break
        texts = list(turn.errors)
        new_images: list[int] = []
        for call in turn.calls:
            if len(calls) >= cfg.max_tool_calls:
                reason = "tool_call_limit"
                break
            ts = time.perf_counter()
            try:
                res = execute(call)
            except Exception as exc:  # noqa: BLE001 - an executor failure is shown to the model
                res = ToolResult(f"Error: RuntimeError: the tool executor failed ({type(exc).__name__})", False, {})
            if not isinstance(res.text, str) or not isinstance(res.data, dict):
                res = ToolResult("Error: RuntimeError: the tool returned a malformed result", False, {})
            seconds["tools"] += time.perf_counter() - ts
            calls.append({**call.to_dict(), "response": res.text, "ok": res.ok})
            texts.append(res.text)
            if isinstance(res.data.get("image_index"), int) and call.name.startswith(IMAGE_TOOL_PREFIXES):
                new_images.append(res.data["image_index"])
        messages.append(Message("user", format_tool_responses(texts), new_images))
        if reason is not None:
            break
    else:
        reason = "turn_limit" if cfg.tools else reason
    seconds["total"] = time.perf_counter() - t0
    return QAOutcome(answer, None if answer is not None else reason, final, calls, messages, turns, seconds, error)
