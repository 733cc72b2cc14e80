"""Shared init/spin/shutdown for the package's executables (SIGINT and SIGTERM end cleanly)."""

from __future__ import annotations

import ctypes
import signal
import sys
import threading
import time
from typing import Callable, Sequence

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node


M_ARENA_MAX = -8  # mallopt parameter (glibc malloc.h)


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's heap arenas (call before threads start). Each thread that allocates while another
    holds the main arena gets an arena of its own, and freed memory there rarely goes back to the
    system: a node with executor threads and a worker grew by hundreds of MB over a few commands.
    Returns whether the cap was set (False off glibc)."""
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, int(arenas)))
    except (OSError, AttributeError):
        return False


def run_nodes(make_nodes: Callable[[], Sequence[Node]], args: list[str] | None = None,
              duration_s: float | None = None) -> int:
    """Create nodes, spin them on a MultiThreadedExecutor, shut down cleanly.

    Args:
        make_nodes: factory called after ``rclpy.init``.
        args: ROS arguments (``--ros-args ...``); default ``sys.argv``.
        duration_s: stop by itself after this long (wall clock), or run until a signal.

    Returns:
        Process exit code.
    """
    limit_malloc_arenas()
    rclpy.init(args=args if args is not None else sys.argv, signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    stop = threading.Event()

    def on_signal(_signum, _frame) -> None:
        stop.set()

    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, on_signal)
    nodes: list[Node] = []
    code = 0
    try:
        nodes = list(make_nodes())
        ex = MultiThreadedExecutor(num_threads=4)
        for n in nodes:
            ex.add_node(n)
        deadline = None if duration_s is None else time.monotonic() + duration_s
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            ex.spin_once(timeout_sec=0.1)
        for n in nodes:  # stop producing work before the executor goes away
            if hasattr(n, "shutdown"):
                n.shutdown()
        ex.shutdown(timeout_sec=2.0)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception as exc:  # noqa: BLE001 - one clear line instead of a trace for bad input
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    finally:
        for n in reversed(nodes):
            if hasattr(n, "shutdown"):
                n.shutdown()  # idempotent
            n.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return code
