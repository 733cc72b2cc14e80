"""The embedded session, built by the composition layer (``spacetools_ros.compose.session``)."""

from __future__ import annotations

from ..compose.session import EmbeddedSession

__all__ = ["EmbeddedSession"]
