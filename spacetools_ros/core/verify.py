"""The agent's own check of its work: after a place, the world is looked at again (never the
policy's or a tool's word) and the requested relation must hold.

``OutcomeVerifier`` is what the orchestrator calls; implementations look at the world by
perception (backends/perception/verify.py) and apply the rules of core/relations.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .commands import Command


@dataclass(frozen=True)
class Verdict:
    """The answer of one check.

    Attributes:
        verified: True (the relation holds and nothing else was knocked over), False (it does not),
            None (it cannot be checked, e.g. the object is not seen).
        summary: one sentence for the policy and the result.
        evidence: positions and measurements behind it (JSON-ready).
    """

    verified: bool | None
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"verified": self.verified, "summary": self.summary, "evidence": self.evidence}


@runtime_checkable
class OutcomeVerifier(Protocol):
    """Checks a command's outcome in fresh images of the world."""

    def begin(self, command: Command) -> Verdict | None:
        """Before anything moves: find what the command names (None when all is found, else a
        Verdict with ``verified=None`` saying what is missing)."""

    def after_grasp(self) -> None:
        """The object is in the hand: look again at where everything else stands (what moved
        before this, the robot did not carry)."""

    def check(self, place_point_base: np.ndarray | None) -> Verdict:
        """After a place (``place_point_base``: where the object was put, base frame, if known)."""
