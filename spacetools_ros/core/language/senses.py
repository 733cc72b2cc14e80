"""Open-vocabulary nouns: a pluggable word-sense model (the offline MiniLM resolver is one) that says
which shape an unknown noun ("football", "soup bowl") names, or nothing."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Protocol


class WordSenses(Protocol):
    """Maps a word or short phrase to a known meaning such as ``shape:sphere``."""

    def resolve(self, word: str, reject: bool = True) -> tuple[str, float] | None:
        """(meaning, similarity), or None when no known meaning is close enough (with ``reject``:
        or when the word is closer to an everyday noun that is no known meaning)."""


_factory: Callable[[], WordSenses | None] | None = None


def install(factory: Callable[[], WordSenses | None] | None) -> None:
    """Use ``factory()`` (called once, lazily) for words outside the vocabulary; None: no model,
    every unknown word is refused."""
    global _factory
    _factory = factory
    _model.cache_clear()
    shape_of.cache_clear()


@lru_cache(maxsize=1)
def _model() -> WordSenses | None:
    return _factory() if _factory is not None else None


@lru_cache(maxsize=1024)
def shape_of(word: str, compound: bool = False) -> str | None:
    """The shape an unknown noun names (``box``, ``cylinder``, ``sphere``, ``bowl``, ``plate``), or None.
    ``compound``: the word is "<modifier> <known noun>" ("soup bowl"), whose head already says what
    it is, so a modifier that is itself an everyday noun does not reject it."""
    model = _model()
    if model is None or not word or len(word) > 40:
        return None
    hit = model.resolve(word, reject=not compound)
    if hit is None or not hit[0].startswith("shape:"):
        return None
    return hit[0].split(":", 1)[1]
