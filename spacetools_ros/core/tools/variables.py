"""Per-episode variable store: large tool outputs referenced by ``$name`` in later calls."""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

import numpy as np

REF = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
MAX_SUBSTITUTED_CHARS = 200_000


def nbytes(value: Any) -> int:
    """Approximate memory of a stored value."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (list, tuple)):
        return 64 + sum(nbytes(v) for v in value[:1000]) * max(1, len(value) // max(1, min(len(value), 1000)))
    return 64


class VariableStore:
    """Named values of one episode; later writes overwrite; least recently used values are
    dropped when the store exceeds ``max_bytes``; ``clear()`` at the end of the episode."""

    def __init__(self, max_bytes: int = 512 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._values: OrderedDict[str, Any] = OrderedDict()
        self._image_index: dict[str, int] = {}

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def __len__(self) -> int:
        return len(self._values)

    @property
    def total_bytes(self) -> int:
        """Memory held now."""
        return sum(nbytes(v) for v in self._values.values())

    def set(self, name: str, value: Any, image_index: int | None = None) -> None:
        """Store (overwrite) a value, evicting the least recently used ones beyond the budget.

        ``image_index`` tags values computed in one image (grasp poses, detections): whoever uses
        them later knows which camera they belong to."""
        self._values.pop(name, None)
        self._values[name] = value
        self._image_index.pop(name, None)
        if image_index is not None:
            self._image_index[name] = int(image_index)
        while len(self._values) > 1 and self.total_bytes > self.max_bytes:
            old, _ = self._values.popitem(last=False)
            self._image_index.pop(old, None)

    def image_index(self, name: str) -> int | None:
        """The image a stored value was computed in, if it was tagged."""
        return self._image_index.get(name)

    @staticmethod
    def reference(value: Any) -> str | None:
        """The variable name when ``value`` is exactly ``$name``, else None."""
        if not isinstance(value, str):
            return None
        m = REF.fullmatch(value.strip())
        return m.group(1) if m else None

    def get(self, name: str) -> Any:
        """A stored value (KeyError when absent)."""
        value = self._values[name]
        self._values.move_to_end(name)
        return value

    def names(self) -> list[str]:
        """Stored names."""
        return list(self._values)

    def resolve(self, value: Any) -> Any:
        """Replace references in one argument: exactly ``$name`` becomes the stored object, also as
        an element of a (nested) list; ``$name`` inside longer text is substituted as text; unknown
        names stay literal.

        Raises:
            ValueError: when substituting text makes an argument longer than allowed.
        """
        if isinstance(value, list):
            out: list = []
            stack = [(value, out)]  # iterative: input depth cannot exhaust the stack
            while stack:
                src, dst = stack.pop()
                for item in src:
                    if isinstance(item, list):
                        sub: list = []
                        dst.append(sub)
                        stack.append((item, sub))
                    else:
                        ref = self.reference(item)
                        dst.append(self.get(ref) if ref is not None and ref in self._values else item)
            return out
        if not isinstance(value, str):
            return value
        ref = self.reference(value)
        if ref is not None:
            return self.get(ref) if ref in self._values else value
        text = REF.sub(lambda mm: str(self.get(mm.group(1))) if mm.group(1) in self._values else mm.group(0), value)
        if len(text) > MAX_SUBSTITUTED_CHARS:
            raise ValueError(f"argument is {len(text)} characters after substituting variables "
                             f"(limit {MAX_SUBSTITUTED_CHARS})")
        return text

    def resolve_arguments(self, args: dict[str, Any]) -> dict[str, Any]:
        """Resolve every argument of a call."""
        return {k: self.resolve(v) for k, v in args.items()}

    def clear(self) -> None:
        """Free everything (end of episode)."""
        self._values.clear()
        self._image_index.clear()
