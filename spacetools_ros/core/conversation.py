"""The SpaceTools conversation format: <think>, <tool_call>, <tool_response>, <answer> (Qwen2.5
chat markup, hermes-style tool calls). Model output is parsed as text, never executed."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .paths import config_dir
from .tools.protocol import ToolCall, ToolCallError, ToolSchema, parse_tool_call

MAX_CALLS_PER_TURN = 8
MAX_TURN_CHARS = 20_000
_TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.S)
_ANSWER = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.S)
_THINK = re.compile(r"<think>\s*(.*?)\s*</think>", re.S)


@dataclass
class Message:
    """One chat message; ``images`` are indices into the episode's image list."""

    role: str
    content: str
    images: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class AssistantTurn:
    """What one assistant message asks for."""

    think: str | None
    calls: tuple[ToolCall, ...]
    answer: str | None
    errors: tuple[str, ...]


def parse_assistant(text: str) -> AssistantTurn:
    """Split an assistant message into its thought, tool calls and answer.

    Malformed or excess tool calls become ``errors`` (shown back to the model), not exceptions.
    """
    errors: list[str] = []
    if len(text) > MAX_TURN_CHARS:
        errors.append(f"Error: ValueError: the message is {len(text)} characters long (limit {MAX_TURN_CHARS})")
        text = text[:MAX_TURN_CHARS]
    think = _THINK.search(text)
    calls: list[ToolCall] = []
    blocks = _TOOL_CALL.findall(text)
    if text.count("<tool_call>") != len(blocks):
        errors.append("Error: ValueError: unterminated <tool_call> tag")
    for i, block in enumerate(blocks):
        if len(calls) >= MAX_CALLS_PER_TURN:
            errors.append(f"Error: ValueError: at most {MAX_CALLS_PER_TURN} tool calls per turn; the rest were ignored")
            break
        try:
            calls.append(parse_tool_call(block, call_id=str(i)))
        except ToolCallError as exc:
            errors.append(exc.text)
    answer = _ANSWER.search(text)
    return AssistantTurn(think.group(1) if think else None, tuple(calls), answer.group(1) if answer else None,
                         tuple(errors))


def format_tool_call(call: ToolCall) -> str:
    """The assistant-side text of one call."""
    return "<tool_call>\n" + json.dumps({"name": call.name, "arguments": call.arguments}) + "\n</tool_call>"


def format_tool_responses(texts: list[str]) -> str:
    """The user turn carrying tool results, one block per call in call order."""
    return "\n".join(f"<tool_response>\n{t}\n</tool_response>" for t in texts)


def system_prompt(schemas: dict[str, ToolSchema], names: list[str] | None = None, base: str | None = None,
                  tool_lines: tuple[str, ...] | None = None) -> str:
    """System prompt + the Qwen2.5 tools block (one JSON schema per line).

    ``base``: the text before the tools block (default: config/prompts/system.txt); ``tool_lines``:
    the block's lines verbatim (default: ``schemas`` as OpenAI function descriptions)."""
    if base is None:
        base = (config_dir() / "prompts" / "system.txt").read_text().strip()
    lines = list(tool_lines) if tool_lines is not None else \
        [json.dumps(schemas[n].openai()) for n in (names or list(schemas))]
    return (f"{base}\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
            "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
            + "\n".join(lines) + "\n</tools>\n\nFor each function call, return a json object with function name and "
            "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
            '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>')


def render_qwen(messages: list[Message]) -> str:
    """Qwen2.5 chat markup of a conversation (images as vision placeholders)."""
    out = []
    for m in messages:
        vision = "".join("<|vision_start|><|image_pad|><|vision_end|>" for _ in m.images)
        out.append(f"<|im_start|>{m.role}\n{vision}{m.content}<|im_end|>\n")
    return "".join(out) + "<|im_start|>assistant\n"


def transcript(messages: list[Message]) -> list[dict[str, Any]]:
    """JSON-ready transcript."""
    return [{"role": m.role, "content": m.content, "images": list(m.images)} for m in messages]
