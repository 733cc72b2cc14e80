"""The one bounded reader for YAML files from outside (scene files, parameter files, the robot spec).

A file is read only when it is a regular file no larger than the caller's byte limit, decoded strictly
as UTF-8, and parsed in two steps: the event stream is checked first (no anchors or aliases, no
explicit tags, one document, bounded nesting depth, event count and scalar length) before PyYAML's
recursive composer ever sees it, then the composed node tree is checked iteratively (every mapping key
is a plain string, no duplicate keys) before it is turned into Python values. Every failure is a
``YamlReadError`` whose message is short and never echoes the file's content at length.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

MAX_DEPTH = 20
MAX_EVENTS = 20_000
MAX_SCALAR_CHARS = 10_000
MAX_NUMBER_CHARS = 100
MAX_MESSAGE_CHARS = 180

_STR_TAG = "tag:yaml.org,2002:str"
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_TAG_NAMES = {
    "tag:yaml.org,2002:int": "int", "tag:yaml.org,2002:float": "float", "tag:yaml.org,2002:bool": "bool",
    "tag:yaml.org,2002:null": "null", "tag:yaml.org,2002:timestamp": "timestamp",
    "tag:yaml.org,2002:merge": "merge", "tag:yaml.org,2002:value": "value",
}
# The parser only: libyaml's when PyYAML was built with it (much faster, same events), else PyYAML's own.
_PARSER_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlReadError(ValueError):
    """A YAML file that the reader does not accept; the message says why in at most 180 characters."""

    def __init__(self, message: str) -> None:
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[: MAX_MESSAGE_CHARS - 3] + "..."
        super().__init__(message)


def _printable(text: str) -> str:
    return text if text.isprintable() else "".join(c if c.isprintable() else "?" for c in text)


def clip(text: str, limit: int = 60) -> str:
    """``text`` shortened to ``limit`` characters, keeping its end (the informative part of a path);
    characters that do not print are shown as ``?``."""
    return _printable(text if len(text) <= limit else "..." + text[-(limit - 3):])


def _clip_head(text: str, limit: int) -> str:
    return _printable(text if len(text) <= limit else text[: limit - 3] + "...")


def _where(mark: Any) -> str:
    if mark is None:
        return ""
    return f" (line {mark.line + 1}, column {mark.column + 1})"


class _EventComposer(Composer, SafeConstructor, Resolver):
    """PyYAML's composer and safe constructor fed from an already checked list of events."""

    def __init__(self, events: list[yaml.Event]) -> None:
        self._events = deque(events)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)

    def check_event(self, *choices: type) -> bool:
        """Whether the next event exists (and is one of ``choices``)."""
        if not self._events:
            return False
        return not choices or isinstance(self._events[0], choices)

    def peek_event(self) -> yaml.Event | None:
        """The next event without consuming it."""
        return self._events[0] if self._events else None

    def get_event(self) -> yaml.Event | None:
        """Consume the next event."""
        return self._events.popleft() if self._events else None


def _read_text(path: Path, max_bytes: int, what: str) -> str:
    """The file's text: a regular file of at most ``max_bytes`` bytes, strict UTF-8 (a BOM is dropped)."""
    name = clip(str(path))
    try:
        st = path.stat()
    except FileNotFoundError:
        raise YamlReadError(f"{what} file not found: {name}") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL character in the path
        raise YamlReadError(f"cannot read {what} file {name}: {type(exc).__name__}") from None
    if not stat.S_ISREG(st.st_mode):
        raise YamlReadError(f"{what} file {name} is not a regular file")
    if st.st_size > max_bytes:
        raise YamlReadError(f"{what} file {name} is {st.st_size} bytes (limit {max_bytes})")
    try:
        with open(path, "rb") as f:  # bounded even if the file grows after stat()
            raw = f.read(max_bytes + 1)
    except OSError as exc:
        raise YamlReadError(f"cannot read {what} file {name}: {type(exc).__name__}") from None
    if len(raw) > max_bytes:
        raise YamlReadError(f"{what} file {name} is larger than {max_bytes} bytes")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlReadError(f"{what} file {name} is not UTF-8 text (bad byte at offset {exc.start})") from None
    if "\x00" in text:
        raise YamlReadError(f"{what} file {name} is not UTF-8 text (contains NUL bytes)")
    return text


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A short description of a PyYAML error, without the source snippet PyYAML attaches."""
    if isinstance(exc, yaml.reader.ReaderError):
        return f"unacceptable character #x{exc.character:04x} at position {exc.position}" if isinstance(
            exc.character, int) else f"unreadable input at position {exc.position}"
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = exc.problem or exc.context or "syntax error"
        return _clip_head(" ".join(str(problem).split()), 80) + _where(exc.problem_mark or exc.context_mark)
    return _clip_head(" ".join(str(exc).split()), 80)


def _check_events(text: str, name: str) -> list[yaml.Event]:
    """All events of ``text``, refusing anything outside the accepted subset as soon as it appears."""
    resolver = Resolver()
    events: list[yaml.Event] = []
    depth = 0
    documents = 0
    for ev in yaml.parse(text, Loader=_PARSER_LOADER):
        events.append(ev)
        if len(events) > MAX_EVENTS:
            raise YamlReadError(f"{name}: more than {MAX_EVENTS} YAML nodes")
        where = _where(ev.start_mark)
        if isinstance(ev, yaml.AliasEvent) or getattr(ev, "anchor", None) is not None:
            raise YamlReadError(f"{name}: YAML anchors/aliases are not allowed{where}")
        if getattr(ev, "tag", None) is not None:
            raise YamlReadError(f"{name}: explicit YAML tags are not allowed{where}")
        if isinstance(ev, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise YamlReadError(f"{name}: expected a single YAML document{where}")
        elif isinstance(ev, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlReadError(f"{name}: nested deeper than {MAX_DEPTH} levels{where}")
        elif isinstance(ev, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(ev, yaml.ScalarEvent):
            if len(ev.value) > MAX_SCALAR_CHARS:
                raise YamlReadError(f"{name}: a value of {len(ev.value)} characters (limit {MAX_SCALAR_CHARS}){where}")
            if (len(ev.value) > MAX_NUMBER_CHARS
                    and resolver.resolve(yaml.ScalarNode, ev.value, ev.implicit) in _NUMBER_TAGS):
                raise YamlReadError(f"{name}: a number longer than {MAX_NUMBER_CHARS} characters{where}")
    return events


def _path_str(path: tuple[str, ...]) -> str:
    return "".join(path) or "the top level"


def _check_keys(root: yaml.Node, name: str) -> None:
    """Every mapping key is a plain string and unique; iterative, so depth cannot exhaust the stack."""
    stack: list[tuple[yaml.Node, tuple[str, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.SequenceNode):
            stack.extend((item, path + (f"[{i}]",)) for i, item in reversed(list(enumerate(node.value))))
        elif isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            children: list[tuple[yaml.Node, tuple[str, ...]]] = []
            for key, value in node.value:
                where = clip(_path_str(path), 60)
                if not isinstance(key, yaml.ScalarNode) or key.tag != _STR_TAG:
                    if isinstance(key, yaml.ScalarNode):
                        shown = f"{_clip_head(key.value, 20)!r} ({_TAG_NAMES.get(key.tag, 'not a string')})"
                    else:
                        shown = "(a collection)"
                    raise YamlReadError(f"{name}: mapping key {shown} at {where}{_where(key.start_mark)};"
                                        " keys must be strings")
                if key.value in seen:
                    raise YamlReadError(f"{name}: duplicate key '{_clip_head(key.value, 30)}' at {where}"
                                        f"{_where(key.start_mark)}")
                seen.add(key.value)
                segment = f".{_clip_head(key.value, 30)}" if path else _clip_head(key.value, 30)
                children.append((value, path + (segment,)))
            stack.extend(reversed(children))  # depth-first in document order: the first bad key is reported


def read_yaml(path: str | os.PathLike[str], max_bytes: int, what: str) -> Any:
    """Read one YAML document from a file within fixed bounds.

    Args:
        path: the file.
        max_bytes: largest accepted file size in bytes (checked before reading).
        what: what the file is, for messages (e.g. ``"scene"``, ``"parameter"``).

    Returns:
        Plain Python data (dict / list / str / int / float / bool / None, dates for timestamps);
        ``None`` for an empty document. Every mapping key is a ``str``.

    Raises:
        YamlReadError: missing, not a regular file, too large, not UTF-8, not YAML, or outside the
            accepted subset (anchors/aliases, tags, several documents, too deep, too many nodes,
            too long a value, a non-string or duplicate key). The message is at most 180 characters.
    """
    p = Path(path)
    text = _read_text(p, max_bytes, what)
    name = f"{what} file {clip(str(p), 50)}"
    try:
        events = _check_events(text, name)
        composer = _EventComposer(events)
        node = composer.get_single_node()
        if node is None:
            return None
        _check_keys(node, name)
        return composer.construct_document(node)
    except YamlReadError:
        raise
    except yaml.YAMLError as exc:
        raise YamlReadError(f"{name} is not valid YAML: {_yaml_problem(exc)}") from None
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
        raise YamlReadError(f"{name} is not acceptable YAML: {type(exc).__name__}") from None
