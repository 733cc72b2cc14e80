"""Approximate-time pairing of colour, depth and camera info (ros/pairing.py, no rclpy), and the
ROS-free name helpers of ros/topics.py."""

import ast
import threading
from pathlib import Path

import pytest

from spacetools_ros.ros import topics
from spacetools_ros.ros.pairing import ApproximatePairer

MS = 1_000_000
PERIOD = 100 * MS  # a 10 Hz camera


def pairer(tol_ms: float = 20, queue: int = 10) -> ApproximatePairer:
    return ApproximatePairer(("rgb", "depth", "info"), "rgb", int(tol_ms * MS), queue)


def feed(p: ApproximatePairer, msgs):
    """Add (stream, stamp) messages in order; the payload names them. Returns every pair made."""
    out = []
    for stream, stamp in msgs:
        out += p.add(stream, stamp, f"{stream}@{stamp}")
    return out


def test_pairing_module_is_ros_free():
    src = Path(__file__).resolve().parents[2] / "spacetools_ros" / "ros" / "pairing.py"
    imported = {a.name.split(".")[0] for n in ast.walk(ast.parse(src.read_text()))
                if isinstance(n, (ast.Import, ast.ImportFrom)) for a in getattr(n, "names", [])}
    imported |= {n.module.split(".")[0] for n in ast.walk(ast.parse(src.read_text()))
                 if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"rclpy", "sensor_msgs", "std_msgs", "builtin_interfaces"}, imported


def test_equal_stamps_pair_at_once_whatever_the_order():
    p = pairer()
    assert feed(p, [("depth", 1 * PERIOD), ("info", 1 * PERIOD)]) == []
    (pair,) = feed(p, [("rgb", 1 * PERIOD)])
    assert pair.stamp_ns == PERIOD and pair.spread_ns == 0
    assert pair.parts == {"rgb": f"rgb@{PERIOD}", "depth": f"depth@{PERIOD}", "info": f"info@{PERIOD}"}
    (pair,) = feed(p, [("rgb", 2 * PERIOD), ("info", 2 * PERIOD), ("depth", 2 * PERIOD)])
    assert pair.stamp_ns == 2 * PERIOD
    assert p.pending() == {"rgb": 0, "depth": 0, "info": 0}


def test_stamps_5ms_apart_pair_with_the_colour_stamp():
    p = pairer()
    pairs = []
    for i in range(1, 6):
        c = i * PERIOD
        pairs += feed(p, [("rgb", c), ("depth", c + 5 * MS), ("info", c - 5 * MS)])
    # a partner before the colour image is settled once the stream's spacing is known (or a newer one came)
    assert [pr.stamp_ns for pr in pairs] == [i * PERIOD for i in range(1, 6)]
    for pr in pairs:
        assert pr.stamps_ns == {"rgb": pr.stamp_ns, "depth": pr.stamp_ns + 5 * MS, "info": pr.stamp_ns - 5 * MS}
        assert pr.spread_ns == 5 * MS


def test_partner_after_the_colour_image_settles_without_waiting():
    p = pairer()
    assert feed(p, [("rgb", PERIOD), ("depth", PERIOD + 5 * MS)]) == []
    (pair,) = feed(p, [("info", PERIOD + 3 * MS)])
    assert pair.stamps_ns["info"] == PERIOD + 3 * MS


def test_too_far_apart_is_never_paired_and_the_colour_image_is_given_up():
    p = pairer(tol_ms=20)
    pairs = feed(p, [("rgb", PERIOD), ("depth", PERIOD + 30 * MS), ("info", PERIOD + 30 * MS)])
    assert pairs == []
    assert p.dropped == 1 and p.pending()["rgb"] == 0  # nothing later can come closer: given up
    # the late depth and info pair with nothing else either: the next colour image is 70 ms from them
    pairs = feed(p, [("rgb", 2 * PERIOD), ("depth", 2 * PERIOD), ("info", 2 * PERIOD)])
    assert [pr.stamp_ns for pr in pairs] == [2 * PERIOD]
    assert pairs[0].stamps_ns == {"rgb": 2 * PERIOD, "depth": 2 * PERIOD, "info": 2 * PERIOD}


def test_zero_tolerance_pairs_equal_stamps_only():
    p = pairer(tol_ms=0)
    assert feed(p, [("rgb", PERIOD), ("depth", PERIOD + 1), ("info", PERIOD)]) == []
    assert len(feed(p, [("rgb", 2 * PERIOD), ("depth", 2 * PERIOD), ("info", 2 * PERIOD)])) == 1


def test_the_closest_candidate_is_chosen():
    p = pairer(tol_ms=20)
    c = 10 * PERIOD
    # two depth images within the tolerance, -15 ms and -4 ms; the next one comes at least their
    # spacing (11 ms) after the last, 7 ms after the colour image: -4 ms cannot be bettered
    (pair,) = feed(p, [("depth", c - 15 * MS), ("depth", c - 4 * MS), ("info", c + MS), ("rgb", c)])
    assert pair.stamps_ns == {"rgb": c, "depth": c - 4 * MS, "info": c + MS}
    assert pair.parts["depth"] == f"depth@{c - 4 * MS}"


def test_a_closer_later_candidate_is_waited_for_and_wins():
    p = pairer(tol_ms=20)
    c = 10 * PERIOD
    # depth every 3 ms, the newest 3 ms before the colour image: the next one may come closer
    assert feed(p, [("info", c), ("depth", c - 6 * MS), ("depth", c - 3 * MS), ("rgb", c)]) == []
    (pair,) = feed(p, [("depth", c + MS)])
    assert pair.stamps_ns == {"rgb": c, "depth": c + MS, "info": c}


def test_a_partner_before_the_colour_image_waits_for_the_next_one_when_its_spacing_is_unknown():
    p = pairer(tol_ms=20)
    c = 10 * PERIOD
    assert feed(p, [("info", c), ("depth", c - 12 * MS), ("rgb", c)]) == []
    (pair,) = feed(p, [("depth", c + 30 * MS)])  # beyond the tolerance: -12 ms it is
    assert pair.stamps_ns["depth"] == c - 12 * MS


def test_memory_is_bounded_when_a_stream_is_silent():
    p = pairer(queue=10)
    for i in range(1, 1001):
        feed(p, [("rgb", i * PERIOD), ("info", i * PERIOD)])  # no depth ever
    pending = p.pending()
    assert pending["rgb"] <= 10 and pending["info"] <= 10 and pending["depth"] == 0
    assert p.dropped >= 990


def test_memory_is_bounded_when_the_colour_stream_is_silent():
    p = pairer(queue=10)
    for i in range(1, 1001):
        feed(p, [("depth", i * PERIOD), ("info", i * PERIOD)])
    assert max(p.pending().values()) <= 10
    (pair,) = feed(p, [("rgb", 1000 * PERIOD)])  # the newest still pair
    assert pair.stamps_ns == {"rgb": 1000 * PERIOD, "depth": 1000 * PERIOD, "info": 1000 * PERIOD}


def test_stale_partners_are_dropped_as_colour_moves_on():
    p = pairer()
    feed(p, [("depth", PERIOD), ("depth", 2 * PERIOD), ("depth", 3 * PERIOD)])
    feed(p, [("rgb", 5 * PERIOD)])  # depth at 1..3 periods can pair with neither this nor a later colour image
    assert p.pending()["depth"] == 0


def test_time_going_back_starts_over():
    p = pairer()
    assert len(feed(p, [("rgb", 50 * PERIOD), ("depth", 50 * PERIOD), ("info", 50 * PERIOD)])) == 1
    feed(p, [("depth", 51 * PERIOD), ("info", 51 * PERIOD)])  # the colour image of 51 never comes
    # a simulator reset: time restarts near 0 and comes back on the colour stream first
    assert feed(p, [("rgb", PERIOD)]) == []
    assert p.pending()["depth"] == 0 and p.pending()["info"] == 0  # the old timeline's are gone
    (pair,) = feed(p, [("depth", PERIOD), ("info", PERIOD)])
    assert pair.stamp_ns == PERIOD


def test_a_repeated_stamp_pairs_once():
    p = pairer()
    assert len(feed(p, [("rgb", PERIOD), ("depth", PERIOD), ("info", PERIOD)])) == 1
    assert feed(p, [("rgb", PERIOD), ("depth", PERIOD), ("info", PERIOD)]) == []
    assert p.pending() == {"rgb": 0, "depth": 0, "info": 0}


def test_bad_settings_are_refused():
    for kwargs in ({"tolerance_ns": -1}, {"tolerance_ns": 2 * 10**9}, {"queue_size": 0}, {"queue_size": 10**6}):
        args = {"streams": ("rgb", "depth"), "pivot": "rgb", "tolerance_ns": 0, "queue_size": 10, **kwargs}
        with pytest.raises(ValueError):
            ApproximatePairer(**args)
    with pytest.raises(ValueError):
        ApproximatePairer(("rgb",), "rgb", 0)
    with pytest.raises(ValueError):
        ApproximatePairer(("rgb", "depth"), "info", 0)
    with pytest.raises(KeyError):
        pairer().add("points", 1, None)


def test_concurrent_producers_pair_every_frame_once():
    p = pairer()
    n, step = 300, 5
    got, lock = [], threading.Lock()
    barrier = threading.Barrier(3, timeout=10)  # the producers stay within a few frames of each other

    def produce(stream):
        for i in range(1, n + 1):
            pairs = p.add(stream, i * PERIOD + (3 * MS if stream == "depth" else 0), stream)
            with lock:
                got.extend(pairs)
            if i % step == 0:
                barrier.wait()

    threads = [threading.Thread(target=produce, args=(s,)) for s in ("rgb", "depth", "info")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    stamps = [pr.stamp_ns for pr in got]
    assert len(stamps) == len(set(stamps))  # never twice
    assert all(pr.stamps_ns["depth"] - pr.stamp_ns == 3 * MS and pr.stamps_ns["info"] == pr.stamp_ns for pr in got)
    assert len(got) >= n - 1  # all but (at most) the last, whose depth image lies after it and settles it
    assert max(p.pending().values()) <= 10


def test_names_are_relative_but_the_global_ones():
    names = {k: v for k, v in vars(topics).items() if k.isupper() and isinstance(v, str) and "/" in v}
    absolute = {v for v in names.values() if v.startswith("/")}
    assert absolute == {"/clock", "/tf", "/tf_static", "/diagnostics"}
    assert topics.qualify(topics.JOINT_STATES) == "/joint_states"
    assert topics.qualify(topics.COLOR_IMAGE, "robot1") == "/robot1/camera/color/image_raw"
    assert topics.qualify(topics.COLOR_IMAGE, "/a/b/") == "/a/b/camera/color/image_raw"
    assert topics.qualify(topics.CLOCK, "/robot1") == "/clock"


@pytest.mark.parametrize("name", ["", "/", "a//b", "a/", "1abc", "a b", "a/~", "x" * 300, "a-b"])
def test_bad_topic_names_are_refused(name):
    with pytest.raises(ValueError):
        topics.check_name(name)


@pytest.mark.parametrize("ns", ["a b", "//", "a//b", "1a", "x" * 300])
def test_bad_namespaces_are_refused(ns):
    with pytest.raises(ValueError):
        topics.normalize_namespace(ns)


def test_namespaces_are_normalised():
    assert [topics.normalize_namespace(n) for n in ("", "/", "robot1", "/robot1/", "a/b")] == \
        ["", "", "/robot1", "/robot1", "/a/b"]
