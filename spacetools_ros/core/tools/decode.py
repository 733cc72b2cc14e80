"""The one bounded decoder for outside JSON (model output, tool arguments, wire messages, HTTP
bodies): size, nesting depth, element count and finite numbers are checked without recursion that
input depth could exhaust. Values come back as plain dicts/lists/str/int/float/bool/None."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

MAX_CHARS = 200_000
MAX_DEPTH = 32
MAX_ITEMS = 100_000
MAX_STRING_CHARS = 200_000

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(r"[\[\]{}]")


class DecodeError(ValueError):
    """Outside data that the decoder does not accept; the message says why (bounded length)."""


@dataclass(frozen=True)
class Limits:
    """Bounds of one kind of outside data."""

    max_chars: int = MAX_CHARS
    max_depth: int = MAX_DEPTH
    max_items: int = MAX_ITEMS
    max_string_chars: int = MAX_STRING_CHARS


DEFAULT_LIMITS = Limits()


def _reject_constant(name: str) -> Any:
    raise DecodeError(f"non-finite number {name} is not allowed")


def _scan_depth(text: str, max_depth: int) -> None:
    """Nesting depth of JSON text by a linear scan (strings blanked first)."""
    depth = 0
    for m in _BRACKETS.finditer(_STRINGS.sub('""', text)):
        if m.group() in "[{":
            depth += 1
            if depth > max_depth:
                raise DecodeError(f"nested deeper than {max_depth} levels")
        else:
            depth -= 1


def loads(text: str | bytes, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Parse JSON text within ``limits``.

    Raises:
        DecodeError: too long, not UTF-8, not JSON, too deep, too many elements, non-finite numbers,
            or a string longer than allowed.
    """
    if isinstance(text, (bytes, bytearray)):
        if len(text) > limits.max_chars * 4:
            raise DecodeError(f"{len(text)} bytes (limit {limits.max_chars} characters)")
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"not UTF-8 text (byte {exc.start})") from None
    if not isinstance(text, str):
        raise DecodeError(f"expected JSON text, got {type(text).__name__}")
    if len(text) > limits.max_chars:
        raise DecodeError(f"{len(text)} characters (limit {limits.max_chars})")
    _scan_depth(text, limits.max_depth)
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except DecodeError:
        raise
    except json.JSONDecodeError as exc:
        raise DecodeError(f"not valid JSON: {exc.msg} at position {exc.pos}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer with too many digits
        raise DecodeError(f"not acceptable JSON: {str(exc)[:80]}") from None
    check(value, limits)
    return value


def check(value: Any, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Check an already-decoded value (e.g. structured tool-call arguments) against ``limits``:
    only JSON types, string keys, finite numbers, bounded depth, count and string length.
    Iterative, so a deeply nested value cannot exhaust the stack. Returns ``value``.

    Raises:
        DecodeError: naming the first violation.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    items = 0
    while stack:
        v, depth = stack.pop()
        items += 1
        if items > limits.max_items:
            raise DecodeError(f"more than {limits.max_items} elements")
        if isinstance(v, bool) or v is None:
            continue
        if isinstance(v, int):
            continue
        if isinstance(v, float):
            if not math.isfinite(v):
                raise DecodeError("non-finite number is not allowed")
            continue
        if isinstance(v, str):
            if len(v) > limits.max_string_chars:
                raise DecodeError(f"a string of {len(v)} characters (limit {limits.max_string_chars})")
            continue
        if isinstance(v, (list, tuple, dict)):
            if depth > limits.max_depth:
                raise DecodeError(f"nested deeper than {limits.max_depth} levels")
            if isinstance(v, dict):
                for k, x in v.items():
                    if not isinstance(k, str):
                        raise DecodeError(f"object key of type {type(k).__name__} (keys must be strings)")
                    if len(k) > limits.max_string_chars:
                        raise DecodeError("an object key is too long")
                    stack.append((x, depth + 1))
            else:
                stack.extend((x, depth + 1) for x in v)
            continue
        raise DecodeError(f"value of type {type(v).__name__} is not JSON data")
    return value


def short(value: Any, limit: int = 80) -> str:
    """A bounded repr for error messages (never echoes megabytes back)."""
    r = repr(value) if not isinstance(value, str) else repr(value[: limit + 1])
    return r if len(r) <= limit else r[: limit - 3] + "..."


def clip(text: str, limit: int = 200) -> str:
    """Plain text cut to ``limit`` characters (for messages that quote outside text)."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
