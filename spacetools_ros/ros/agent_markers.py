"""The agent's markers for the command it runs: drawn as tool results come in, completed once the
episode's images and the calls' arguments are known. Drawing never stops an episode."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..core.camera import CameraFrame
from ..core.markers import ToolRecord, episode_markers, tool_markers, with_arguments
from .markers import MarkerPublisher

FrameOf = Callable[[int], CameraFrame | None]


def _no_frame(_index: int) -> None:
    return None


class EpisodeMarkerStream:
    """Markers of one command at a time.

    Args:
        publisher: where they go.
        camera_extrinsics: the cell's camera pose, for camera-frame results whose image is not known yet.
        log: warning logger (a drawing failure is reported once per command).
    """

    def __init__(self, publisher: MarkerPublisher, camera_extrinsics: np.ndarray,
                 log: Callable[[str], None] = lambda s: None) -> None:
        self.publisher = publisher
        self.extrinsics = np.asarray(camera_extrinsics, dtype=float)
        self.log = log
        self.records: list[ToolRecord] = []
        self._warned = False

    def begin(self) -> None:
        """A new command: the previous command's markers go."""
        self.records = []
        self._warned = False
        self._guard(self.publisher.clear)

    def _guard(self, fn, *args) -> None:
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - markers are for people watching, never the episode's concern
            if not self._warned:
                self._warned = True
                self.log(f"markers not published: {type(exc).__name__}: {exc}")

    def _add(self, record: ToolRecord, frame_of: FrameOf) -> None:
        index = len(self.records)
        self.records.append(record)
        self.publisher.publish(tool_markers(index, record.name, record.arguments, record.data, frame_of,
                                            mask=record.mask, fallback_extrinsics=self.extrinsics))

    def on_response(self, response) -> None:
        """A tool response of an in-process episode (name, data, images; no arguments, no frames yet)."""
        def add() -> None:
            data = response.data if isinstance(response.data, Mapping) else {}
            images = getattr(response, "images", None) or []
            mask = images[0] if response.name.startswith("sam2.segment") and images and np.ndim(images[0]) == 2 else None
            self._add(ToolRecord(response.name, None, data, mask), _no_frame)

        self._guard(add)

    def wrap(self, execute: Callable, frame_of: FrameOf) -> Callable:
        """``execute`` (call -> result with ``data``) that also draws each call, its arguments and
        images (``frame_of``) known."""
        def run(call):
            result = execute(call)
            data = result.data if isinstance(result.data, Mapping) else {}
            self._guard(self._add, ToolRecord(call.name, call.arguments, data), frame_of)
            return result

        return run

    def finish(self, tool_calls: Sequence[Mapping], frame_of: FrameOf) -> None:
        """The episode ended: every call drawn again with its arguments (``tool_calls`` of the
        outcome) and the episode's images (``frame_of``)."""
        def redraw() -> None:
            self.records = with_arguments(self.records, tool_calls)
            self.publisher.publish(episode_markers(self.records, frame_of, self.extrinsics))

        self._guard(redraw)
