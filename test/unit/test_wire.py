"""The toolshed wire protocol and replica choice (ROS-free)."""

import pytest

from spacetools_ros.core.tools.wire import (Announcement, ReplicaTable, Request, WireError, decode_announcement,
                                            decode_request)


def test_request_round_trip_and_malformed():
    req = Request("r1", "sam2.segment_from_point", {"x": 0.5, "y": 0.5, "image_index": 0}, "ep", (123, "latest"))
    back = decode_request(req.encode())
    assert back == req
    for bad in ["not json", "[1]", '{"id": 1, "replica": "r", "name": "x"}',
                '{"id": "a", "replica": "r", "name": "x", "images": [true]}']:
        with pytest.raises(WireError):
            decode_request(bad)
    assert decode_announcement("{") is None
    assert decode_announcement(Announcement("r", ("a.b",), 2).encode()) == Announcement("r", ("a.b",), 2)


def test_episodes_spread_over_replicas_and_stick():
    t = ReplicaTable(stale_after_s=3.0)
    for r in ("a", "b"):
        t.update(Announcement(r, ("tool.x",)), now=0.0)
    first = t.pick("tool.x", "e1", now=1.0)
    second = t.pick("tool.x", "e2", now=1.0)
    assert {first, second} == {"a", "b"}
    assert t.pick("tool.x", "e1", now=1.5) == first  # affinity
    t.mark_failed(first, now=2.0)
    assert t.pick("tool.x", "e1", now=2.0) == second  # failover
    assert t.pick("tool.y", "e1", now=2.0) is None  # nobody serves it
    assert t.pick("tool.x", "e3", now=10.0) is None  # heartbeats went stale
