"""The toolshed wire protocol, the session credential and replica choice (ROS-free)."""

import json
import time

import numpy as np
import pytest

from spacetools_ros.core.tools.auth import (KEY_ENV, AuthError, Verifier, is_robot_tool, new_key, session_key,
                                            sign)
from spacetools_ros.core.tools.wire import (MAX_IMAGES, MAX_REQUEST_CHARS, MAX_RESPONSE_CHARS, LogLimiter,
                                            ReplicaTable, Request, WireError, decode_request, request_from_call,
                                            response_fields, response_from_fields)

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


def test_deep_json_is_refused_without_recursion():
    with pytest.raises(WireError, match="deeper"):
        decode_request(DEEP)
    text = doc()[:-1] + ', "arguments": {"x": ' + DEEP + "}}"
    with pytest.raises(WireError, match="deeper"):
        decode_request(text)
    with pytest.raises(WireError):
        response_from_fields("a", "r", "x", True, "", DEEP, 0.0)
    with pytest.raises(WireError, match="deeper"):
        request_from_call("a", "r", "e", "x", '{"x": ' + DEEP + "}")


def test_oversized_messages_are_refused_before_parsing():
    t0 = time.perf_counter()
    with pytest.raises(WireError, match=f"limit {MAX_REQUEST_CHARS}"):
        decode_request("[" * 3_000_000)  # would be far too deep if it were scanned
    with pytest.raises(WireError, match="limit"):
        decode_request(doc(arguments={"blob": "x" * MAX_REQUEST_CHARS}))
    with pytest.raises(WireError, match=f"limit {MAX_RESPONSE_CHARS}"):
        response_from_fields("a", "r", "x", True, "x" * (MAX_RESPONSE_CHARS + 1), "{}", 0.0)
    with pytest.raises(WireError, match="limit"):
        request_from_call("a", "r", "e", "x", '{"blob": "' + "x" * MAX_REQUEST_CHARS + '"}')
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
    f = response_fields(body)
    back = response_from_fields("id1", "r1", body["name"], f["ok"], f["text"], f["result_json"], f["elapsed_s"])
    assert back["data"] == {"value": None, "arr": [0.0, 1.0, 2.0], "n": 4} and back["ok"] is True
    huge = response_fields({**body, "data": {"blob": "x" * MAX_RESPONSE_CHARS}})
    assert not huge["ok"] and "exceeds the limit" in huge["text"] and huge["error"] == "RuntimeError"
    for fields in [("a", "r", "x", "yes", "", "{}", 0.0), ("a", "r", "x", True, "", "[]", 0.0),
                   ("", "r", "x", True, "", "{}", 0.0), ("a", "r", "x", True, "", "NaN", 0.0),
                   ("a", "r", "x", True, "", '{"x": Infinity}', 0.0), ("a", "r", "x", True, "", "{}", float("nan")),
                   ("a", "bad name", "x", True, "", "{}", 0.0), ("a", "r", "x", True, b"", "{}", 0.0)]:
        with pytest.raises(WireError):
            response_from_fields(*fields)
    err = response_fields({"name": "x", "text": "Error: ValueError: no", "ok": False, "data": {}})
    assert err["error"] == "ValueError"


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
    t = ReplicaTable(max_replicas=3)
    assert [t.update(f"r{i}", ("tool.x",)) for i in range(5)] == [True, True, True, False, False]
    assert t.alive("tool.x") == ["r0", "r1", "r2"]
    t.retain({"r1"})  # the others left the graph and make room
    assert t.update("late", ("tool.x",)) and t.alive("tool.x") == ["late", "r1"]


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
    t = ReplicaTable()
    for r in ("a", "b"):
        t.update(r, ("tool.x",))
    first = t.pick("tool.x", "e1")
    second = t.pick("tool.x", "e2")
    assert {first, second} == {"a", "b"}
    assert t.pick("tool.x", "e1") == first  # affinity
    t.started(second)
    t.forget_episode("e2")
    assert t.pick("tool.x", "e3") == first  # the one without a call under way
    t.mark_failed(first)
    assert t.pick("tool.x", "e1") == second  # failover
    assert t.pick("tool.y", "e1") is None  # nobody serves it
    t.recovered(first)
    assert first in t.alive("tool.x")
    t.retain(set())
    assert t.pick("tool.x", "e4") is None  # gone from the graph


def test_service_fields_become_the_same_request_as_the_json_form():
    req = Request("r1", "sam2.segment_from_point", {"x": 0.5, "y": 0.5}, "ep", (123, "latest"), id="abc")
    back = request_from_call("abc", "r1", "ep", "sam2.segment_from_point", json.dumps(req.arguments), [123, -1])
    assert back == req == decode_request(req.encode())
    signed = sign(req, KEY, now=1000.0)
    back = request_from_call("abc", "r1", "ep", signed.name, json.dumps(signed.arguments), [123, -1], signed.ts,
                             signed.sig)
    Verifier(KEY, clock=lambda: 1000.0).verify(back)  # the signature covers what the fields carry
    moved = request_from_call("abc", "r2", "ep", signed.name, json.dumps(signed.arguments), [123, -1], signed.ts,
                              signed.sig)
    with pytest.raises(AuthError, match="bad signature"):  # signed for another replica
        Verifier(KEY, clock=lambda: 1000.0).verify(moved)
    end = request_from_call("e1", "r1", "ep", "episode.end", "{}", (), end_episode=True)
    assert end.end_episode and end.images == ()
    bad = [("a b", "ep", "x", "{}", ()), ("a", "e p", "x", "{}", ()), ("a", "ep", "x y", "{}", ()),
           ("a", "ep", "x", "[1]", ()), ("a", "ep", "x", "{", ()), ("a", "ep", "x", "{}", [-2]),
           ("a", "ep", "x", "{}", [1] * (MAX_IMAGES + 1)), ("a", "ep", "x", 5, ())]
    for rid, episode, tool, args, images in bad:
        with pytest.raises(WireError):
            request_from_call(rid, "r1", episode, tool, args, images)
    with pytest.raises(WireError, match="sig"):
        request_from_call("a", "r1", "ep", "x", "{}", (), 1000.0, "not hex")
    with pytest.raises(WireError, match="ts"):
        request_from_call("a", "r1", "ep", "x", "{}", (), float("inf"), "0" * 64)


def test_replica_names_become_ros_names():
    from spacetools_ros.ros import topics

    assert topics.replica_services("robot0") == "toolshed/robot0"
    assert topics.replica_services("host-12.x:3") == "toolshed/host_12_x_3"
    assert topics.replica_services("9lives") == "toolshed/r9lives"
    assert topics.replica_services("--") == "toolshed/replica"
