"""The toolshed wire protocol, the session credential and replica choice (ROS-free)."""

import json
import time

import numpy as np
import pytest

from spacetools_ros.core.tools.auth import (KEY_ENV, AuthError, Verifier, is_robot_tool, new_key, session_key,
                                            sign)
from spacetools_ros.core.tools.wire import (MAX_IMAGES, MAX_REQUEST_CHARS, MAX_RESPONSE_CHARS, Announcement,
                                            LogLimiter, ReplicaTable, Request, WireError, decode_announcement,
                                            decode_request, decode_response, encode_response)

KEY = b"k" * 40
DEEP = "[" * 5000 + "]" * 5000


def doc(**over):
    d = {"id": "abc123", "replica": "r1", "episode": "ep", "name": "roborefer.detect_one",
         "arguments": {"obj_name": "red block", "image_index": 0}, "images": ["latest"]}
    d.update(over)
    return json.dumps(d)


def test_request_round_trip_and_malformed():
    req = Request("r1", "sam2.segment_from_point", {"x": 0.5, "y": 0.5, "image_index": 0}, "ep", (123, "latest"))
    back = decode_request(req.encode())
    assert back == req
    for bad in ["not json", "[1]", '{"id": 1, "replica": "r", "name": "x"}',
                '{"id": "a", "replica": "r", "name": "x", "images": [true]}', "", "\x01\x02\xff\xfe"]:
        with pytest.raises(WireError):
            decode_request(bad)
    assert decode_announcement("{") is None
    assert decode_announcement(Announcement("r", ("a.b",), 2).encode()) == Announcement("r", ("a.b",), 2)


def test_deep_json_is_refused_without_recursion():
    with pytest.raises(WireError, match="deeper"):
        decode_request(DEEP)
    text = doc()[:-1] + ', "arguments": {"x": ' + DEEP + "}}"
    with pytest.raises(WireError, match="deeper"):
        decode_request(text)
    with pytest.raises(WireError):
        decode_response(DEEP)
    assert decode_announcement(DEEP) is None
    assert decode_announcement('{"replica": "r", "tools": ' + DEEP + "}") is None


def test_oversized_messages_are_refused_before_parsing():
    t0 = time.perf_counter()
    with pytest.raises(WireError, match=f"limit {MAX_REQUEST_CHARS}"):
        decode_request("[" * 3_000_000)  # would be far too deep if it were scanned
    with pytest.raises(WireError, match="limit"):
        decode_request(doc(arguments={"blob": "x" * MAX_REQUEST_CHARS}))
    with pytest.raises(WireError, match=f"limit {MAX_RESPONSE_CHARS}"):
        decode_response("x" * (MAX_RESPONSE_CHARS + 1))
    assert decode_announcement('{"replica": "r", "tools": ["' + "a" * 20_000 + '"]}') is None
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize("over, field", [
    ({"id": 5}, "id"), ({"id": "x" * 65}, "id"), ({"replica": "r 1"}, "replica"), ({"replica": "r\n1"}, "replica"),
    ({"name": 7}, "name"), ({"name": "n" * 129}, "name"), ({"episode": ["e"]}, "episode"),
    ({"episode": "e" * 129}, "episode"), ({"end_episode": "yes"}, "end_episode"), ({"ts": 1.0}, "sig"),
    ({"ts": 1.0, "sig": "ZZ" * 32}, "sig"), ({"ts": "now", "sig": "a" * 64}, "ts"),
    ({"images": "latest"}, "images"), ({"images": [-1]}, "images"), ({"images": [2**64]}, "images"),
    ({"images": ["first"]}, "images"), ({"images": [1.5]}, "images"),
])
def test_wrong_types_and_lengths_are_refused(over, field):
    with pytest.raises(WireError, match=field):
        decode_request(doc(**over))


def test_huge_images_list_and_non_object_arguments_name_the_request():
    decode_request(doc(images=["latest"] * MAX_IMAGES))
    for over in ({"images": ["latest"] * 10_000}, {"arguments": [1, 2]}, {"arguments": "x=1"}, {"arguments": None}):
        with pytest.raises(WireError) as info:
            decode_request(doc(**over))
        # the addressed replica can still answer the caller with an error
        assert (info.value.id, info.value.replica, info.value.name) == ("abc123", "r1", "roborefer.detect_one")
    with pytest.raises(WireError) as info:
        decode_request(doc(id={"x": 1}))
    assert info.value.id is None and info.value.replica == "r1"


def test_responses_are_encoded_finite_and_bounded():
    body = {"name": "vision_ops.index_at", "text": "Pixel value is nan", "ok": True,
            "data": {"value": float("nan"), "arr": np.arange(3, dtype=np.float32), "n": np.int64(4)}, "elapsed_s": 0.1}
    back = decode_response(encode_response("id1", "r1", body))
    assert back["data"] == {"value": None, "arr": [0.0, 1.0, 2.0], "n": 4} and back["ok"] is True
    huge = encode_response("id1", "r1", {**body, "data": {"blob": "x" * MAX_RESPONSE_CHARS}})
    back = decode_response(huge)
    assert not back["ok"] and "exceeds the wire limit" in back["text"] and back["id"] == "id1"
    for bad in ['{"id": "a", "replica": "r", "ok": "yes", "text": "", "data": {}}',
                '{"id": "a", "replica": "r", "ok": true, "text": "", "data": []}',
                '{"replica": "r", "ok": true, "text": "", "data": {}}', "[]", "NaN",
                '{"id": "a", "replica": "r", "ok": true, "text": "", "data": {"x": Infinity}}']:
        with pytest.raises(WireError):
            decode_response(bad)


def test_announcements_are_checked():
    assert decode_announcement('{"replica": "r", "tools": ["a.b"], "inflight": true}') is None
    assert decode_announcement('{"replica": "r", "tools": "a.b"}') is None
    assert decode_announcement('{"replica": "r", "tools": [' + ",".join(['"t"'] * 300) + "]}") is None
    assert decode_announcement('{"replica": "bad name", "tools": []}') is None


def test_log_limiter_bounds_rate_and_length():
    now = [0.0]
    lines = []
    lim = LogLimiter(burst=2, period_s=10.0, clock=lambda: now[0])
    for i in range(5):
        lim(lines.append, f"bad {i}\n" + "x" * 1000)
    assert len(lines) == 2 and all(len(x) <= 200 and "\n" not in x for x in lines)
    now[0] = 11.0
    lim(lines.append, "later")
    assert lines[-1] == "later (3 similar lines dropped)"


def test_replica_table_is_bounded():
    t = ReplicaTable(stale_after_s=3.0, max_replicas=3)
    for i in range(5):
        t.update(Announcement(f"r{i}", ("tool.x",)), now=0.0)
    assert t.alive("tool.x", now=0.0) == ["r0", "r1", "r2"]
    t.update(Announcement("late", ("tool.x",)), now=10.0)  # the stale ones make room
    assert t.alive("tool.x", now=10.0) == ["late"]


def test_sign_and_verify_through_the_wire():
    args = {"grasp_pose": [[1.0, 0.0, 0.0, 0.1], [0.0, 1.0, 0.0, 1e-7]], "name": "bløck ✓", "big": 2**60, "v": 0.1}
    req = sign(Request("robot0", "robot.execute_grasp", args, "agent-1", (), end_episode=False), KEY, now=1000.0)
    assert req.ts == 1000.0 and len(req.sig) == 64
    text = req.encode()
    assert KEY.decode() not in text
    back = decode_request(text)
    v = Verifier(KEY, clock=lambda: 1010.0)
    v.verify(back)
    with pytest.raises(AuthError, match="replay"):
        v.verify(decode_request(text))
    assert "k" * 40 not in repr(v)


@pytest.mark.parametrize("over", [
    {"arguments": {"grasp_pose": [[9.0]]}}, {"replica": "robot1"}, {"episode": "other"}, {"name": "robot.get_depth"},
    {"images": ["latest"]}, {"end_episode": True}, {"ts": 1000.5}, {"id": "fresh"},
])
def test_tampered_requests_are_refused(over):
    good = json.loads(sign(Request("robot0", "robot.execute_grasp", {"grasp_pose": [[1.0]]}, "e", ()), KEY,
                           now=1000.0).encode())
    good.update(over)
    with pytest.raises(AuthError, match="bad signature"):
        Verifier(KEY, clock=lambda: 1000.0).verify(decode_request(json.dumps(good)))


def test_wrong_key_stale_future_and_unsigned_are_refused():
    req = Request("robot0", "robot.execute_grasp", {"grasp_pose": [[1.0]]}, "e", ())
    v = Verifier(KEY, max_age_s=30.0, clock=lambda: 1000.0)
    with pytest.raises(AuthError, match="bad signature"):
        v.verify(sign(req, b"w" * 40, now=1000.0))
    with pytest.raises(AuthError, match="timestamp"):
        v.verify(sign(req, KEY, now=969.0))
    with pytest.raises(AuthError, match="timestamp"):
        v.verify(sign(req, KEY, now=1031.0))
    with pytest.raises(AuthError, match="not signed"):
        v.verify(req)
    v.verify(sign(req, KEY, now=975.0))  # a refused attempt does not burn the id
    assert issubclass(AuthError, PermissionError)


def test_replay_memory_expires_only_after_the_age_window():
    now = [1000.0]
    v = Verifier(KEY, max_age_s=30.0, clock=lambda: now[0], max_remembered=10)
    first = sign(Request("r", "robot.capture_image", {}, "e", (), id="one"), KEY, now=1000.0)
    v.verify(first)
    now[0] = 1029.0
    with pytest.raises(AuthError, match="replay"):
        v.verify(first)
    now[0] = 1031.0
    with pytest.raises(AuthError, match="timestamp"):  # too old to replay by then
        v.verify(first)


def test_session_key_from_the_environment():
    assert session_key({}) is None and session_key({KEY_ENV: "  "}) is None
    assert session_key({KEY_ENV: "s" * 32}) == b"s" * 32
    with pytest.raises(ValueError) as info:
        session_key({KEY_ENV: "hunter2-secret"})
    assert "hunter2" not in str(info.value)
    a, b = new_key(), new_key()
    assert a != b and len(a) == 64 and session_key({KEY_ENV: a}) == a.encode()
    assert is_robot_tool("robot.execute_grasp") and is_robot_tool("view_selection.select_view")
    assert not is_robot_tool("roborefer.detect_one") and not is_robot_tool("episode.end")


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
    assert t.pick("tool.x", "e2", now=2.0) == second
    assert t.pick("tool.y", "e1", now=2.0) is None  # nobody serves it
    assert t.pick("tool.x", "e3", now=10.0) is None  # heartbeats went stale
