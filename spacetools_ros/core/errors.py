"""Typed errors of the core layer."""

from __future__ import annotations


class SpacetoolsError(Exception):
    """Base class of every error the package raises on purpose."""


class SceneError(SpacetoolsError):
    """A scene file or scene description is invalid.

    The message always starts with the offending field path (e.g. ``objects[2].color``).
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.detail = message
        super().__init__(f"{field}: {message}")


class ConfigError(SpacetoolsError):
    """A configuration file or parameter is invalid."""


class TargetError(SpacetoolsError):
    """A pick or place target is unknown, off the table or outside the workspace."""


class MotionFailure(SpacetoolsError):
    """A motion could not be planned or executed.

    Attributes:
        reason: a stable machine-readable reason (see ``core.results.FailureReason``).
    """

    def __init__(self, reason: str, message: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason}: {message}" if message else reason)
