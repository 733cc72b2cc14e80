"""The text a policy model is prompted with, from files a user can point at: the system prompt and
the tool descriptions of the tools block, so that a served checkpoint sees exactly the text it was
trained with (ROS-free).

A tool-descriptions file is either this package's schema file (a JSON object ``{name: {description,
parameters}}``, as config/tools/toolshed.json), or the tools block as the model saw it: one OpenAI
function JSON per line (``{"type": "function", "function": {"name": ...}}``), optionally with the
``<tools>``/``</tools>`` lines around them; such lines are kept byte for byte. Every named tool must
be one the toolshed serves: a description of a tool that does not exist would invite calls that
can only fail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .tools.decode import DecodeError, Limits, loads
from .tools.protocol import ToolSchema

MAX_SYSTEM_CHARS = 64 * 1024
MAX_TOOLS_FILE_BYTES = 1 << 20
MAX_TOOL_LINES = 256
_LIMITS = Limits(max_chars=MAX_TOOLS_FILE_BYTES, max_depth=32, max_items=200_000, max_string_chars=64 * 1024)


@dataclass(frozen=True)
class PromptSet:
    """What the system turn is made of.

    Attributes:
        system_text: the system prompt before the tools block; None = the packaged one.
        tool_lines: the tools block's lines, verbatim; None = this package's schemas.
        source: where they came from (for logs and result documents).
    """

    system_text: str | None = None
    tool_lines: tuple[str, ...] | None = None
    source: str = "packaged"


def _read(path: str, limit: int, what: str) -> str:
    p = Path(path)
    try:
        size = p.stat().st_size
        if not p.is_file():
            raise ConfigError(f"{what} {path!s:.120} is not a file")
        if size > limit:
            raise ConfigError(f"{what} {path!s:.120} has {size} bytes (limit {limit})")
        return p.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"{what} {path!s:.120} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path!s:.120} is not UTF-8 text") from None


def _function_name(doc: object) -> str | None:
    fn = doc.get("function") if isinstance(doc, dict) else None
    name = fn.get("name") if isinstance(fn, dict) else None
    return name if isinstance(name, str) and doc.get("type") == "function" else None


def tool_lines(text: str, known: set[str] | None, what: str = "tool descriptions") -> tuple[str, ...]:
    """The tools block's lines a tool-descriptions file gives (see the module docstring).

    Raises:
        ConfigError: not one of the two forms, a malformed line, too many tools, or a tool
            that is not served.
    """
    body = text.strip()
    if body.startswith("{") and "\n{" not in body.replace("\r\n", "\n"):
        try:
            doc = loads(body, _LIMITS)
        except DecodeError as exc:
            raise ConfigError(f"{what}: not JSON: {exc}") from None
        if isinstance(doc, dict) and "function" not in doc and doc.get("type") != "function":  # the schema file
            lines = []
            for name, spec in doc.items():
                if not (isinstance(spec, dict) and isinstance(spec.get("description"), str)
                        and isinstance(spec.get("parameters"), dict)):
                    raise ConfigError(f"{what}: entry {name!s:.60} needs a description and parameters")
                lines.append(json.dumps(ToolSchema(name, spec["description"], dict(spec["parameters"])).openai()))
            return _checked(tuple(lines), [str(n) for n in doc], known, what)
    lines = [ln.rstrip("\r") for ln in body.split("\n") if ln.strip() and ln.strip() not in ("<tools>", "</tools>")]
    names = []
    for i, line in enumerate(lines[: MAX_TOOL_LINES + 1]):
        try:
            name = _function_name(loads(line, _LIMITS))
        except DecodeError as exc:
            raise ConfigError(f"{what}: line {i + 1} is not JSON: {exc}") from None
        if name is None:
            raise ConfigError(f"{what}: line {i + 1} is not an OpenAI function description "
                              '({"type": "function", "function": {"name": ...}})')
        names.append(name)
    return _checked(tuple(lines), names, known, what)


def _checked(lines: tuple[str, ...], names: list[str], known: set[str] | None, what: str) -> tuple[str, ...]:
    if not lines:
        raise ConfigError(f"{what}: no tools")
    if len(lines) > MAX_TOOL_LINES:
        raise ConfigError(f"{what}: more than {MAX_TOOL_LINES} tools")
    if len(set(names)) != len(names):
        raise ConfigError(f"{what}: a tool is described twice")
    unknown = [n for n in names if known is not None and n not in known]
    if unknown:
        raise ConfigError(f"{what}: not served here: {', '.join(n[:60] for n in unknown[:5])}")
    return lines


def load_prompt_set(system_prompt_file: str | None = None, tool_descriptions_file: str | None = None,
                    known: set[str] | None = None) -> PromptSet:
    """The prompt set of two optional files (empty or None: the packaged text).

    Raises:
        ConfigError: a file that is missing, too large, not UTF-8, or not of a form above.
    """
    system = None
    if system_prompt_file:
        system = _read(system_prompt_file, MAX_SYSTEM_CHARS * 4, "system prompt file").strip()
        if not system or len(system) > MAX_SYSTEM_CHARS:
            raise ConfigError(f"system prompt file {system_prompt_file!s:.120} must hold 1..{MAX_SYSTEM_CHARS} "
                              "characters")
    lines = None
    if tool_descriptions_file:
        lines = tool_lines(_read(tool_descriptions_file, MAX_TOOLS_FILE_BYTES, "tool descriptions file"), known)
    if system is None and lines is None:
        return PromptSet()
    return PromptSet(system, lines, ", ".join(str(f) for f in (system_prompt_file, tool_descriptions_file) if f))
