"""The policy Protocol: text in, text out (the orchestrator parses and executes)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ...core.conversation import Message


@runtime_checkable
class PolicyBackend(Protocol):
    """Produces the next assistant message."""

    name: str

    def start(self, command: str) -> None:
        """A new episode for a user command."""

    def next_turn(self, messages: list[Message], images: list[np.ndarray]) -> str:
        """The next assistant message (with <think>, <tool_call> and/or <answer> tags)."""
