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


M_ARENA_MAX = -8  # mallopt parameters (glibc malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 1 << 20


def tune_malloc(arenas: int = 2) -> bool:
    """Keep a long-running node's heap from growing (call before threads start): cap glibc's heap
    arenas (each thread that allocates while another holds the main arena gets one of its own,
    and freed memory there rarely goes back) and give blocks of 1 MB and more (camera images,
    depth, point clouds) their own mappings, returned to the system when freed (glibc otherwise
    raises that threshold after the first large free and serves images from the fragmenting heap).
    Returns whether both were set (False off glibc)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, int(arenas))) and bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False


def run_nodes(make_nodes: Callable[[], Sequence[Node]], args: list[str] | None = None,
              duration_s: float | None = None, threads: int | Callable[[list[Node]], int] = 4) -> int:
    """Create nodes, spin them on a MultiThreadedExecutor, shut down cleanly.

    Args:
        make_nodes: factory called after ``rclpy.init``.
        args: ROS arguments (``--ros-args ...``); default ``sys.argv``.
        duration_s: stop by itself after this long (wall clock), or run until a signal.
        threads: the executor's threads, or a function of the nodes that says how many.

    Returns:
        Process exit code.
    """
    tune_malloc()
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
        ex = MultiThreadedExecutor(num_threads=threads(nodes) if callable(threads) else threads)
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
