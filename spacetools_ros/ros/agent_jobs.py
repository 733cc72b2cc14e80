"""The agent's commands as jobs: admission (one at a time, or a short queue of action goals), the
job the worker runs now, and stop requests (cancel, timeout) that reach a running or waiting job."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

RESERVATION_S = 5.0  # an admitted goal that is never handed over stops holding its place after this long


@dataclass(eq=False)
class Job:
    """One command for the worker.

    Attributes:
        command: the person's text (bounded by the caller).
        spatial_frame: ``camera`` or ``robot``: what side words mean for this command.
        timeout_s: wall-clock limit from the moment the worker starts it; 0 = none beyond the
            orchestrator's own.
        on_start: called by the worker when it starts the job (or drops it, stopped before it ran).
        on_progress: the orchestrator's progress lines while it runs.
        stop_reason: ``cancelled`` | ``timeout`` | ``shutdown`` once something stopped it from outside.
        doc: the result document (what spacetools/episode_result carries), once finished.
        done: set when ``doc`` is final.
    """

    command: str
    spatial_frame: str
    timeout_s: float = 0.0
    on_start: Callable[[], None] | None = None
    on_progress: Callable[[str], None] | None = None
    stop_reason: str | None = None
    doc: dict | None = None
    done: threading.Event = field(default_factory=threading.Event)


class JobBoard:
    """Thread-safe admission and hand-over of jobs to one worker.

    ``limit`` counts the running job, the waiting ones and live reservations together: 1 = one at
    a time (anything arriving while busy is refused); 1 + n lets n wait in order.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: deque[Job] = deque()
        self._reserved: deque[float] = deque()  # monotonic deadlines of places held for goals, oldest first
        self.current: Job | None = None

    def _load(self) -> int:
        now = time.monotonic()
        while self._reserved and self._reserved[0] < now:
            self._reserved.popleft()
        return len(self._waiting) + (self.current is not None) + len(self._reserved)

    @property
    def busy(self) -> bool:
        """A job runs, waits or is about to be handed over."""
        with self._cond:
            return self._load() > 0

    def reserve(self, limit: int) -> bool:
        """Hold a place for a job that will be submitted soon (an action goal between acceptance and
        hand-over); False when ``limit`` is reached. A place not taken within RESERVATION_S lapses."""
        with self._cond:
            if self._load() >= limit:
                return False
            self._reserved.append(time.monotonic() + RESERVATION_S)
            return True

    def submit(self, job: Job, limit: int, reserved: bool = False) -> bool:
        """Queue ``job`` behind the others (``reserved``: it takes the oldest place held); False when
        ``limit`` is reached."""
        with self._cond:
            self._load()  # drops lapsed places
            if reserved and self._reserved:
                self._reserved.popleft()
            if self._load() >= limit:
                return False
            self._waiting.append(job)
            self._cond.notify_all()
            return True

    def take(self, timeout_s: float) -> Job | None:
        """The next job, now the current one (None after ``timeout_s`` without one)."""
        with self._cond:
            if not self._waiting:
                self._cond.wait(timeout_s)
            if not self._waiting:
                return None
            self.current = self._waiting.popleft()
            return self.current

    def finish(self, job: Job) -> None:
        """The worker is done with ``job``."""
        with self._cond:
            if self.current is job:
                self.current = None

    def stop(self, job: Job, reason: str) -> str:
        """Ask ``job`` to stop; returns ``running`` (the caller stops the arm), ``waiting`` (taken off
        the queue; the caller finishes it) or ``gone`` (already finished). The first reason stays."""
        with self._cond:
            if job.done.is_set():
                return "gone"
            if job.stop_reason is None:
                job.stop_reason = reason
            if job is self.current:
                return "running"
            if job in self._waiting:
                self._waiting.remove(job)
                return "waiting"
            return "gone"

    def drain(self) -> list[Job]:
        """Take every waiting job off the queue (at shutdown)."""
        with self._cond:
            jobs = list(self._waiting)
            self._waiting.clear()
            return jobs
