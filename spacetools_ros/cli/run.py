"""``spacetools run``: writing the result document (the episode itself: compose/episode.py)."""

from __future__ import annotations

from pathlib import Path


def write_outcome(doc: dict, path: str) -> None:
    """Write the result document."""
    import json

    Path(path).write_text(json.dumps(doc, indent=2, default=str))
