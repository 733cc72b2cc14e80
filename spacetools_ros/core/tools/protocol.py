"""Tool schemas, tool calls and their validation (model output is data: parsed, never executed)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..paths import config_dir
from .decode import DecodeError, Limits, check, loads, short

MAX_TEXT_CHARS = 2048
MAX_ARGUMENT_CHARS = 200_000
CALL_LIMITS = Limits(max_chars=MAX_ARGUMENT_CHARS, max_depth=12, max_items=50_000, max_string_chars=MAX_ARGUMENT_CHARS)
MAX_NAME_CHARS = 100
COORD_ARGS = ("x", "y", "u", "v")


class ToolCallError(Exception):
    """A tool call that cannot be executed; ``text`` is what the model is shown."""

    def __init__(self, exc_type: str, message: str, unknown_tool: bool = False) -> None:
        self.exc_type = exc_type
        self.message = message
        self.unknown_tool = unknown_tool
        super().__init__(message)

    @property
    def text(self) -> str:
        """Protocol text: ``Error: {Type}: {message}`` (unknown tools: ``Error when executing tool: ...``)."""
        if self.unknown_tool:
            return f"Error when executing tool: {self.message}"
        return f"Error: {self.exc_type}: {self.message}"


@dataclass(frozen=True)
class ToolSchema:
    """One tool: name, description, parameters (every parameter is required)."""

    name: str
    description: str
    parameters: dict[str, dict[str, str]]

    def openai(self) -> dict[str, Any]:
        """OpenAI/Qwen function-schema form (as in the model's tools block)."""
        return {"type": "function", "function": {
            "name": self.name, "description": self.description,
            "parameters": {"type": "object", "properties": self.parameters, "required": list(self.parameters)}}}


def load_schemas(path: str | Path | None = None) -> dict[str, ToolSchema]:
    """Tool schemas from the JSON file (default: config/tools/toolshed.json)."""
    p = Path(path) if path else config_dir() / "tools" / "toolshed.json"
    data = json.loads(p.read_text())
    return {name: ToolSchema(name, spec["description"], dict(spec["parameters"])) for name, spec in data.items()}


@dataclass(frozen=True)
class ToolCall:
    """A parsed call: ``{"name": ..., "arguments": {...}}`` with an optional id."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    call_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "arguments": self.arguments}


def parse_tool_call(payload: str | dict, call_id: str = "") -> ToolCall:
    """Parse a tool call from JSON text or an already-decoded object (structured tool calls),
    through the bounded decoder (size, depth, count, finite numbers).

    Raises:
        ToolCallError: malformed or oversized JSON, missing name, non-object arguments.
    """
    try:
        payload = loads(payload, CALL_LIMITS) if isinstance(payload, str) else check(payload, CALL_LIMITS)
    except DecodeError as exc:
        raise ToolCallError("JSONDecodeError" if "JSON" in str(exc) else "ValueError", f"tool call rejected: {exc}") from None
    if not isinstance(payload, dict):
        raise ToolCallError("TypeError", "tool call must be a JSON object with 'name' and 'arguments'")
    name = payload.get("name")
    if not isinstance(name, str) or not name:
        raise ToolCallError("KeyError", "tool call has no 'name'")
    if len(name) > MAX_NAME_CHARS:
        raise ToolCallError("ValueError", f"tool name is {len(name)} characters (limit {MAX_NAME_CHARS})")
    args = payload.get("arguments", {})
    if isinstance(args, str):  # some servers send arguments as a JSON string
        try:
            args = loads(args, CALL_LIMITS) if args.strip() else {}
        except DecodeError as exc:
            raise ToolCallError("JSONDecodeError" if "JSON" in str(exc) else "ValueError",
                                f"arguments rejected: {exc}") from None
    if not isinstance(args, dict):
        raise ToolCallError("TypeError", f"tool call 'arguments' must be a JSON object, got {short(args, 40)}")
    call_id = call_id or payload.get("id", "")
    return ToolCall(name, args, call_id if isinstance(call_id, str) and len(call_id) <= 100 else "")


def _type_ok(value: Any, typ: str) -> bool:
    if typ == "integer":
        return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= 2**31
    if typ == "number":
        if isinstance(value, int) and not isinstance(value, bool):
            return abs(value) <= 2**53
        return isinstance(value, float) and math.isfinite(value)
    if typ == "string":  # arrays are typed "string" in the schemas: accept JSON values and $references
        return isinstance(value, (str, list, int, float)) and not isinstance(value, bool)
    return True


def validate_call(call: ToolCall, schemas: dict[str, ToolSchema], n_images: int | None = None) -> ToolSchema:
    """Check a call against its schema.

    Raises:
        ToolCallError: unknown tool, missing/extra arguments, wrong types, coordinates outside
            [0, 1], image index out of range.
    """
    if not isinstance(call.name, str) or len(call.name) > MAX_NAME_CHARS:
        raise ToolCallError("ValueError", "tool name must be a string of at most 100 characters")
    if not isinstance(call.arguments, dict):
        raise ToolCallError("TypeError", "tool call 'arguments' must be a JSON object")
    try:
        check(call.arguments, CALL_LIMITS)
    except DecodeError as exc:
        raise ToolCallError("ValueError", f"arguments rejected: {exc}") from None
    schema = schemas.get(call.name)
    if schema is None:
        raise ToolCallError("ValueError", f"Unknown tool '{call.name}'. Available tools: {', '.join(sorted(schemas))}",
                            unknown_tool=True)
    missing = [p for p in schema.parameters if p not in call.arguments]
    if missing:
        raise ToolCallError("TypeError", f"{call.name}() missing required argument(s): {', '.join(missing)}")
    extra = [a for a in call.arguments if a not in schema.parameters]
    if extra:
        raise ToolCallError("TypeError", f"{call.name}() got unexpected argument(s): {short(', '.join(extra), 120)}")
    for name, spec in schema.parameters.items():
        value = call.arguments[name]
        if not _type_ok(value, spec.get("type", "string")):
            raise ToolCallError("TypeError", f"{name} must be of type {spec.get('type')}, got {type(value).__name__}")
        if name in COORD_ARGS and not 0.0 <= float(value) <= 1.0:
            raise ToolCallError("ValueError", f"{name}={value} is outside the normalized range [0, 1]")
        if name == "image_index" and n_images is not None and not 0 <= value < n_images:
            raise ToolCallError("IndexError", f"image_index {value} out of range ({n_images} image(s) in the conversation)")
    return schema


def truncate_middle(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Cut long tool text in the middle, as the conversation loop does."""
    if len(text) <= limit:
        return text
    keep = (limit - len("...(truncated)...")) // 2
    return text[:keep] + "...(truncated)..." + text[-keep:]
