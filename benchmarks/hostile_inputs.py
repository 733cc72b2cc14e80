"""Throws hostile inputs at every boundary of the agent and prints what happened to each.

Boundaries: model output (a scripted OpenAI-compatible server on loopback drives the agent in the
embedded cell), commands, scene files (the `spacetools run` command line, as a user runs it), and
raw requests to a tool-server replica's services (CallTool, EndEpisode: malformed, unsigned, forged,
replayed, a burst over its queue; the replica on a private ROS domain, loopback only).

Per case: refused with a clear error / handled (ran inside the envelope) / crashed / hung (over 2x
the configured deadline) / moved outside the envelope / lost the result. Bounded in count and time.

Usage: python benchmarks/hostile_inputs.py [--only models,commands,scenes,ros] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_LOCALHOST_ONLY", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hostile_cases import COMMANDS, VALID, model_scripts, scene_files  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "config" / "scenes" / "box_in_bowl.yaml"
POLICY_DEADLINE_S = 3.0
BOX_TOL_M = 0.02


@dataclass
class Case:
    """One hostile input and what became of it."""

    boundary: str
    name: str
    outcome: str = "refused"          # refused | handled | crashed | hung | moved_outside | lost_result
    detail: str = ""
    wall_s: float = 0.0
    extra: dict = field(default_factory=dict)


# ------------------------------------------------------------------ the embedded cell, watched
class Watch:
    """Records where the TCP goes while the arm moves, and the approach at every grasp closure."""

    def __init__(self, session) -> None:
        self.session = session
        ws = session.settings.primitives.workspace
        self.ws = ws
        self.outside: list[list[float]] = []
        self.tilted_closures = 0
        self.moved = 0.0
        self.q0 = session.sim.arm_state().position.copy()
        session.arm.add_observer(self._sample, 0.02)
        arm, watch = session.arm, self
        original = arm.set_gripper

        def set_gripper(width_m: float) -> float:  # observe, then do exactly what the arm does
            if width_m < session.arm.gripper_width() and -session.motion.tcp_pose().rotation[2, 2] < ws.min_downward_approach:
                watch.tilted_closures += 1
            return original(width_m)

        arm.set_gripper = set_gripper

    def _sample(self, sim) -> None:
        q = sim.arm_state().position
        self.moved = max(self.moved, float(np.abs(q - self.q0).max()))
        p = self.session.motion.tcp_pose(q).position
        lo = np.array([self.ws.x_m[0], self.ws.y_m[0], self.ws.z_m[0]]) - BOX_TOL_M
        hi = np.array([self.ws.x_m[1], self.ws.y_m[1], self.ws.z_m[1]]) + BOX_TOL_M
        if np.any(p < lo) or np.any(p > hi):
            self.outside.append(np.round(p, 3).tolist())

    def violation(self) -> str | None:
        if self.outside:
            return f"TCP outside the envelope at {self.outside[0]}"
        if self.tilted_closures:
            return f"{self.tilted_closures} grasp closure(s) not from above"
        return None


def new_session():
    from spacetools_ros.compose.session import EmbeddedSession
    from spacetools_ros.core.scene import load_scene

    return EmbeddedSession.create(load_scene(DEMO))


def run_case(case: Case, command: str, make_policy, limit_s: float, hang_s: float) -> None:
    """One episode in a fresh cell, all in a worker thread (GL contexts belong to the thread that
    made them); judged by what the watched cell shows. A case still running after ``limit_s`` hung."""
    from spacetools_ros.compose.episode import run_command

    box: dict = {}

    def work() -> None:
        session = new_session()
        try:
            watch = Watch(session)
            box["session"] = session
            try:
                out, ep = run_command(session, command, make_policy(), progress=lambda s: None)
                ep.close()
                box["out"] = out
            except BaseException as exc:  # noqa: BLE001 - the benchmark counts it
                box["crash"] = f"{type(exc).__name__}: {str(exc)[:120]}"
            box["wall_s"] = time.perf_counter() - t0
            judge_episode(case, box.get("out"), box.get("crash"), watch, hang_s, box["wall_s"])
        finally:
            session.close()

    t0 = time.perf_counter()
    th = threading.Thread(target=work, daemon=True)
    th.start()
    th.join(limit_s)
    case.wall_s = time.perf_counter() - t0
    if th.is_alive():
        if "session" in box:
            box["session"].arm.cancel_requested = True
        th.join(30)
        case.outcome, case.detail = "hung", f"still running after {limit_s:.0f} s"


def judge_episode(case: Case, out, crash: str | None, watch: Watch, hang_s: float, wall_s: float) -> None:
    if crash:
        case.outcome, case.detail = "crashed", crash
        return
    if out is None or wall_s > hang_s:
        case.outcome, case.detail = "hung", f"{wall_s:.1f} s"
        return
    try:
        doc = json.loads(json.dumps(out.to_dict(), default=str))
    except (TypeError, ValueError) as exc:
        case.outcome, case.detail = "lost_result", f"result not serialisable: {exc}"
        return
    why = watch.violation()
    if why:
        case.outcome, case.detail = "moved_outside", why
        return
    if watch.session.manipulator.holding is not None:
        case.outcome, case.detail = "crashed", "episode ended with an object in the hand"
        return
    case.outcome = "refused" if not doc["success"] else "handled"
    errors = [ln for m in doc.get("transcript", []) if m["role"] == "user" for ln in m["content"].splitlines()
              if ln.startswith("Error")]
    why = doc.get("error") or (errors[-1] if errors else "")
    case.detail = f"{doc['reason']}: {why[:90]}" + (f"; {doc['cleanup']}" if doc.get("cleanup") else "")
    case.extra = {"reason": doc["reason"], "moved_rad": round(watch.moved, 3), "cleanup": doc.get("cleanup")}


class TimedPolicy:
    """A PolicyBackend that delegates to another and records the longest turn (the measure of a hang)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.longest_s = 0.0

    def start(self, command: str) -> None:
        self.inner.start(command)

    def next_turn(self, messages, images) -> str:
        t0 = time.perf_counter()
        try:
            return self.inner.next_turn(messages, images)
        finally:
            self.longest_s = max(self.longest_s, time.perf_counter() - t0)


# ------------------------------------------------------------------ model output
def models_section() -> list[Case]:
    """Hostile model output from a scripted server on loopback, one fresh cell per case."""
    from spacetools_ros.backends.policy.openai_policy import OpenAIPolicy
    from spacetools_ros.backends.tools.factory import build_toolshed
    from spacetools_ros.backends.tools.toolshed import Episode
    from spacetools_ros.core.tools.protocol import ToolCall
    from spacetools_ros.testing.scripted_chat_server import ScriptedChatServer

    probe = new_session()
    ep = Episode()
    shed = build_toolshed(probe.tool_world())
    shed.execute(ToolCall("robot.capture_image", {}), ep)
    red = shed.execute(ToolCall("roborefer.detect_one", {"obj_name": "red block", "image_index": 0}), ep).data["points"][0]
    extrinsics = ep.images[0].extrinsics
    probe.close()
    cases = []
    for name, script in model_scripts(tuple(red), extrinsics):
        case = Case("model", name)
        with ScriptedChatServer(script) as srv:
            timed: list[TimedPolicy] = []

            def make_policy(url=srv.base_url, model=srv.model):
                timed.append(TimedPolicy(OpenAIPolicy(base_url=url, model=model, timeout_s=POLICY_DEADLINE_S, max_retries=2)))
                return timed[-1]

            run_case(case, VALID, make_policy, 120, 120)
            longest = max((p.longest_s for p in timed), default=0.0)
            if case.outcome in ("refused", "handled") and longest > 2 * POLICY_DEADLINE_S:
                case.outcome, case.detail = "hung", f"one turn took {longest:.1f} s"
            case.extra["longest_turn_s"] = round(longest, 2)
        cases.append(case)
        _line(case)
    return cases


# ------------------------------------------------------------------ commands
def commands_section() -> list[Case]:
    """Every hostile command through the openai policy at a recording server: none may reach it."""
    from spacetools_ros.backends.policy.openai_policy import OpenAIPolicy
    from spacetools_ros.testing.scripted_chat_server import ScriptedChatServer, completion

    cases = []
    for name, text in COMMANDS:
        case = Case("command", name)
        with ScriptedChatServer(lambda req: completion(content="<answer>done</answer>")) as srv:
            run_case(case, text, lambda url=srv.base_url: OpenAIPolicy(base_url=url, model="m", timeout_s=POLICY_DEADLINE_S,
                                                                        max_retries=0), 60, 60)
            if case.outcome in ("refused", "handled") and (srv.requests or case.extra.get("reason") != "invalid_command"):
                case.outcome = "handled" if not srv.requests else "reached_model"
                case.detail = f"{len(srv.requests)} request(s) reached the model; {case.detail}"
        cases.append(case)
        _line(case)
    # the command line: exit 2 and a result document for a refused command
    for name, text in (("cli_system_prefix", COMMANDS[0][1]), ("cli_markup", COMMANDS[9][1])):
        cases.append(cli_case("command", name, ["--scene", str(DEMO), "--command", text], want_exit=2,
                              want_reason="invalid_command"))
        _line(cases[-1])
    return cases


# ------------------------------------------------------------------ scene files (the CLI)
_MEASURE = ("import resource, subprocess, sys; "
            "signal = __import__('signal'); signal.signal(signal.SIGTERM, signal.SIG_DFL); "
            "code = subprocess.call(sys.argv[2:]); "
            "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
            "sys.exit(code if code >= 0 else 128 - code)")


def cli_case(boundary: str, name: str, args: list[str], want_exit: int, want_reason: str, limit_s: float = 60) -> Case:
    """`spacetools run ARGS --json OUT` as a user runs it; exit code, result file, stderr size, memory."""
    case = Case(boundary, name)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        err_path = Path(tmp) / "stderr.txt"
        cli = [str(ROOT / ".venv" / "bin" / "spacetools"), "run", *args, "--json", str(out)]
        if "--command" not in args:
            cli[2:2] = ["--command", VALID]
        # a small parent runs the CLI and reports its peak memory (a child forked from this large
        # process would inherit this process's peak in ru_maxrss)
        cmd = [sys.executable, "-c", _MEASURE, str(Path(tmp) / "rss.txt"), *cli]
        t0 = time.perf_counter()
        with open(err_path, "wb") as err:
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL, cwd=ROOT,
                                 start_new_session=True)
            timer = threading.Timer(limit_s, lambda: os.killpg(p.pid, signal.SIGKILL))
            timer.start()
            _, status, _usage = os.wait4(p.pid, 0)
            timer.cancel()
            p.returncode = os.waitstatus_to_exitcode(status)
        rss = Path(tmp) / "rss.txt"
        peak_mb = round(int(rss.read_text()) / 1024) if rss.exists() else None
        case.wall_s = time.perf_counter() - t0
        err_text = err_path.read_bytes()
        case.extra = {"exit": p.returncode, "stderr_bytes": len(err_text), "max_rss_mb": peak_mb}
        doc = None
        if out.exists():
            try:
                doc = json.loads(out.read_text())
            except ValueError:
                doc = None
        if p.returncode == -signal.SIGKILL:
            case.outcome, case.detail = "hung", f"killed after {limit_s} s"
        elif b"Traceback" in err_text or p.returncode not in (0, 1, 2):
            case.outcome, case.detail = "crashed", err_text.decode(errors="replace").strip().splitlines()[-1][:120]
        elif doc is None:
            case.outcome, case.detail = "lost_result", f"exit {p.returncode}, no result file"
        elif p.returncode != want_exit or doc.get("reason") != want_reason or len(err_text) > 4096:
            case.outcome = "handled"
            case.detail = f"exit {p.returncode}, reason {doc.get('reason')}, stderr {len(err_text)} B"
        else:
            case.detail = (doc.get("error") or "")[:100]
    return case


def scenes_section() -> list[Case]:
    cases = []
    with tempfile.TemporaryDirectory() as folder:
        for name, path in scene_files(folder):
            cases.append(cli_case("scene", name, ["--scene", path], want_exit=2, want_reason="invalid_input"))
            _line(cases[-1])
    return cases


def ros_section() -> list[Case]:
    from hostile_ros import ros_cases

    cases = ros_cases(Case)
    for c in cases:
        _line(c)
    return cases


# ------------------------------------------------------------------ report
def _line(case: Case) -> None:
    mark = {"refused": "ok  ", "handled": "ok* "}.get(case.outcome, "BAD ")
    print(f"{mark}{case.boundary:8s} {case.name:28s} {case.outcome:14s} {case.wall_s:6.1f} s  {case.detail[:90]}",
          file=sys.stderr, flush=True)


def report(cases: list[Case]) -> dict:
    kinds = ("refused", "handled", "crashed", "hung", "moved_outside", "lost_result", "reached_model")
    rows = {}
    for b in sorted({c.boundary for c in cases}):
        sub = [c for c in cases if c.boundary == b]
        rows[b] = {"tried": len(sub), **{k: sum(c.outcome == k for c in sub) for k in kinds}}
    rows["all"] = {"tried": len(cases), **{k: sum(c.outcome == k for c in cases) for k in kinds}}
    print(f"\n{'boundary':10s} {'tried':>5s} {'refused':>8s} {'handled':>8s} {'crashed':>8s} {'hung':>5s} "
          f"{'outside':>8s} {'lost':>5s} {'to model':>8s}")
    for b, r in rows.items():
        print(f"{b:10s} {r['tried']:5d} {r['refused']:8d} {r['handled']:8d} {r['crashed']:8d} {r['hung']:5d} "
              f"{r['moved_outside']:8d} {r['lost_result']:5d} {r['reached_model']:8d}")
    print("refused = ended with a clear error and nothing outside the envelope moved; handled = carried out "
          "inside the envelope (or a refusal by another route); hung = over 2x the deadline")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default="models,commands,scenes,ros")
    p.add_argument("--json", help="write every case and the table here")
    args = p.parse_args()
    parts = args.only.split(",")
    sections = {"models": "models_section", "commands": "commands_section", "scenes": "scenes_section",
                "ros": "ros_section"}
    cases: list[Case] = []
    for part in parts:
        fn = globals().get(sections[part])
        if fn is None:
            continue
        t0 = time.perf_counter()
        cases += fn()
        print(f"[hostile] {part}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    rows = report(cases)
    if args.json:
        Path(args.json).write_text(json.dumps({"table": rows, "cases": [asdict(c) for c in cases]}, indent=2))


if __name__ == "__main__":
    main()
