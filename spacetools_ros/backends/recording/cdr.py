"""Serialised CDR messages cut to their exact encoded length before they enter a bag.

``rclpy.serialization.serialize_message`` (rmw_fastrtps ``rmw_serialize``) reports the type
support's *estimated* size as the buffer length, not the bytes it wrote. For types whose estimate
is too large (``trajectory_msgs/JointTrajectory``: 8 bytes per point, from the
``JointTrajectoryPoint`` sequence) the buffer ends in uninitialised bytes. rclpy ignores trailing
bytes when it deserialises; rosbags (like any strict CDR reader) rejects them with
``CDR message size mismatch``. Messages taken from DDS (``raw=True`` subscriptions) have the exact
length; cutting every message at the end of its last field makes both sources identical.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

EXACT, TRIMMED, UNKNOWN, MALFORMED = "exact", "trimmed", "unknown_type", "malformed"


def kilted_typestore():
    """The rosbags typestore of the ROS 2 distribution the package runs on (Kilted, else Jazzy)."""
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(getattr(Stores, "ROS2_KILTED", None) or Stores.ROS2_JAZZY)


@dataclass
class CdrStats:
    """What the normaliser did, per outcome (``exact``, ``trimmed``, ``unknown_type``, ``malformed``)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1


class CdrNormalizer:
    """Finds where a CDR message really ends by decoding it with a rosbags typestore.

    Args:
        typestore: rosbags typestore; default: ``kilted_typestore()``.
    """

    def __init__(self, typestore=None) -> None:
        self.typestore = typestore if typestore is not None else kilted_typestore()
        self.stats = CdrStats()

    def knows(self, msgtype: str) -> bool:
        """Whether the typestore has a definition of ``msgtype`` (``pkg/msg/Type``)."""
        return msgtype in self.typestore.fielddefs

    def exact(self, msgtype: str, data: bytes | memoryview) -> tuple[bytes | memoryview, str]:
        """The message cut at the end of its last field, and what was done.

        Returns the input unchanged (``unknown_type``/``malformed``) when the type is not in the
        typestore, the encapsulation is not plain CDR, or the bytes do not decode as ``msgtype``.
        """
        view = memoryview(data)
        if not self.knows(msgtype):
            outcome = UNKNOWN
        elif len(view) < 4 or view[0] != 0 or view[1] not in (0, 1):
            outcome = MALFORMED  # not CDR_BE / CDR_LE (XCDR2 is not what ROS 2 rmw send)
        else:
            msgdef = self.typestore.get_msgdef(msgtype)
            func = msgdef.deserialize_cdr_le if view[1] == 1 else msgdef.deserialize_cdr_be
            try:
                _, end = func(view[4:], 0, msgdef.cls, self.typestore)
            except (struct.error, UnicodeDecodeError, ValueError, IndexError, TypeError):
                end = -1
            if end < 0 or end + 4 > len(view):
                outcome = MALFORMED
            elif end + 4 == len(view):
                outcome = EXACT
            else:
                self.stats.add(TRIMMED)
                return view[:end + 4], TRIMMED
        self.stats.add(outcome)
        return data, outcome
