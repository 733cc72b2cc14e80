"""A toolshed replica as a ROS 2 lifecycle node, in a graph of its own (its own DDS domain: no
replica killed by another test shares it): with autostart false it offers nothing until a lifecycle
manager configures (models loaded) and activates it; deactivated, its services leave the graph and
the client's table drops it by itself."""

import signal
import threading
import time

import pytest

pytestmark = pytest.mark.ros

rclpy = pytest.importorskip("rclpy")


from test_toolshed_ros import SCENE, client_graph, start, wait_for_replica  # noqa: E402


@pytest.fixture(scope="module")
def shed():
    procs = {"sim": start("spacetools_ros.ros.sim_node")}
    with client_graph(procs, "tool_client_lifecycle_test") as client:
        yield client, procs


def test_a_replica_is_a_lifecycle_node_that_offers_its_services_only_while_active(shed):
    """autostart:=false: nothing in the graph until a lifecycle manager configures (models loaded)
    and activates it; deactivated, its services leave the graph and clients stop choosing it."""
    from lifecycle_msgs.msg import State, Transition
    from lifecycle_msgs.srv import ChangeState, GetState

    client, procs = shed
    node = client.node
    proc = start("spacetools_ros.ros.tool_server_node", "--ros-args", "-r", "__node:=managed", "-p",
                 "replica_id:=managed", "-p", f"scene:={SCENE}", "-p", "autostart:=false")
    change = node.create_client(ChangeState, "/managed/change_state")
    clients = {"get": node.create_client(GetState, "/managed/get_state")}

    def ask(cli, request, timeout_s: float = 30.0):
        done = threading.Event()
        fut = cli.call_async(request)
        fut.add_done_callback(lambda _f: done.set())
        if not done.wait(timeout_s):
            cli.remove_pending_request(fut)
            return None
        return fut.result()

    def state() -> int:
        # a loaded machine can drop an answer ("failed to send response (timeout)": the server had not yet
        # matched this client's reply reader); asking for the state again is harmless, and after two
        # unanswered questions a new client is matched afresh
        for attempt in range(8):
            answer = ask(clients["get"], GetState.Request(), 10.0)
            if answer is not None:
                return answer.current_state.id
            if attempt % 2 == 1:
                node.destroy_client(clients["get"])
                clients["get"] = node.create_client(GetState, "/managed/get_state")
                clients["get"].wait_for_service(timeout_sec=10)
        raise AssertionError("no answer from the lifecycle get_state service")

    def transition(transition_id: int, expect: int, timeout_s: float = 30.0) -> None:
        answer = ask(change, ChangeState.Request(transition=Transition(id=transition_id)), timeout_s)
        if answer is not None:
            assert answer.success, f"transition {transition_id} refused"
        # a lost answer is not a failed transition: the state says what happened
        assert state() == expect

    def offered() -> bool:  # a server there (the graph also lists services that only have clients)
        return node.count_services("/toolshed/managed/call_tool") > 0

    try:
        assert change.wait_for_service(timeout_sec=60) and clients["get"].wait_for_service(timeout_sec=10)
        assert state() == State.PRIMARY_STATE_UNCONFIGURED
        time.sleep(1.0)
        assert not offered()
        # configure loads the models (torch, the word model): minutes on a loaded 2-core machine
        transition(Transition.TRANSITION_CONFIGURE, State.PRIMARY_STATE_INACTIVE, 300)
        assert not offered()
        transition(Transition.TRANSITION_ACTIVATE, State.PRIMARY_STATE_ACTIVE)
        assert wait_for_replica(client, "managed", 30)
        deadline = time.monotonic() + 30
        while True:  # the first frame may take a moment to reach it
            r = client.call("roborefer.detect_one", {"obj_name": "red block", "image_index": 0}, episode="lc",
                            prefer="managed")
            if r["ok"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert r["ok"] and r["replica"] == "managed", r
        transition(Transition.TRANSITION_DEACTIVATE, State.PRIMARY_STATE_INACTIVE)
        deadline = time.monotonic() + 30
        while offered() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not offered()
        deadline = time.monotonic() + 30  # the client's table follows the graph by itself
        while "managed" in client.table.alive("roborefer.detect_one") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "managed" not in client.table.alive("roborefer.detect_one")
    except AssertionError as exc:
        node.destroy_client(change)
        node.destroy_client(clients["get"])
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        raise AssertionError(f"{exc}; the replica said: {out[-3000:]}") from None
    node.destroy_client(change)
    node.destroy_client(clients["get"])
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out[-2000:]
