"""The agent's task suite: seeded scenes x commands (attributes, synonyms, relations, superlatives,
clutter), plus injected execution faults; success is judged on the simulator's final poses."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..core.relations import COLLATERAL_M, Body, relation_holds
from ..core.scene import Scene
from ..core.scene_gen import random_pick_place_scene
from ..core.shapes import support_height_m, support_radius_m

SYN = {"box": ["block", "cube", "box"], "cylinder": ["can", "cylinder", "bottle"], "sphere": ["ball", "sphere"],
       "bowl": ["bowl"], "plate": ["plate", "dish"]}
# the world is judged once at rest: time in the simulator passes only while the arm moves, and an
# object that slipped out of the hand on its last way home was judged in mid-air
JUDGE_SETTLE_S = 1.0
KINDS = ("attribute", "synonym", "superlative", "relational", "clutter")


@dataclass(frozen=True)
class Task:
    """One suite entry."""

    seed: int
    kind: str
    command: str
    pick: str
    relation: str
    anchor: str
    anchor2: str | None = None
    fault: str | None = None


def _ref(o, rng) -> str:
    words = SYN[o.shape]
    return f"{o.color_name} {words[int(rng.integers(len(words)))]}"


def make_task(seed: int, kind: str, fault: str | None = None) -> tuple[Scene, Task]:
    """A scene and a command of the given kind (deterministic in the seed)."""
    rng = np.random.default_rng(seed + 7919)
    n = {"clutter": 4}.get(kind, int(rng.integers(1, 3)))
    scene, pick, cont = random_pick_place_scene(seed, n_distractors=n)
    p, c = scene.object(pick), scene.object(cont)
    verb = ["put", "place", "move"][seed % 3]
    prep = "in" if c.shape == "bowl" else "on"
    if kind in ("attribute", "clutter") and fault != "block":
        return scene, Task(seed, kind, f"{verb} the {p.color_name} {p.shape if p.shape != 'box' else 'box'} {prep} the "
                                       f"{c.color_name} {c.shape}", pick, prep, cont, fault=fault)
    if kind == "synonym" and fault != "block":
        return scene, Task(seed, kind, f"pick up the {_ref(p, rng)} and put it {'into' if prep == 'in' else 'onto'} "
                                       f"the {_ref(c, rng)}", pick, prep, cont, fault=fault)
    if kind == "superlative" and fault != "block":
        others = [o for o in scene.objects if o.name != cont]
        near = min(others, key=lambda o: math.hypot(*o.position))
        return scene, Task(seed, kind, f"{verb} the object closest to the robot {prep} the {c.color_name} {c.shape}",
                           near.name, prep, cont, fault=fault)
    rel = ["left", "right", "front", "behind"][seed % 4] if fault != "block" else ["left", "right"][seed % 2]
    words = {"left": "to the left of", "right": "to the right of", "front": "in front of", "behind": "behind"}[rel]
    return scene, Task(seed, "relational", f"{verb} the {_ref(p, rng)} {words} the {c.color_name} {c.shape}",
                       pick, rel, cont, fault=fault)


def true_body(obj, position) -> Body:
    """A scene object at its true position, for the relation rules."""
    return Body(np.asarray(position, float), obj.footprint_radius_m, support_radius_m(obj), support_height_m(obj))


def judge(scene: Scene, task: Task, poses: dict, held: bool, spatial_frame: str = "camera") -> tuple[bool, str]:
    """Ground-truth success of a finished task from the final poses (the same relation rules as
    the agent's own check, applied to the simulator's truth; side words in ``spatial_frame``)."""
    if held:
        return False, "object still held"
    for name in (task.anchor, task.anchor2):
        if name and float(np.linalg.norm(np.asarray(poses[name][0])[:2] - scene.object(name).position)) > COLLATERAL_M:
            return False, f"the {name} was moved"
    cam = scene.camera
    anchor2 = true_body(scene.object(task.anchor2), poses[task.anchor2][0]) if task.anchor2 else None
    ok, why = relation_holds(task.relation, true_body(scene.object(task.pick), poses[task.pick][0]),
                             true_body(scene.object(task.anchor), poses[task.anchor][0]), cam.intrinsics(),
                             cam.extrinsics(), anchor2, frame=spatial_frame)
    return (True, "") if ok else (False, why)


def collateral(scene: Scene, task: Task, before: dict, after: dict) -> list[str]:
    """Objects other than the picked one and its anchors that moved (true poses)."""
    keep = {task.pick, task.anchor, task.anchor2}
    return [n for n in before if n not in keep
            and float(np.linalg.norm(np.asarray(after[n][0])[:2] - np.asarray(before[n][0])[:2])) > COLLATERAL_M]


def fault_spot(scene: Scene, task: Task) -> np.ndarray:
    """Where a relational placement will land (to block it): beside the anchor, viewer-centric."""
    a = scene.object(task.anchor)
    r = a.footprint_radius_m + 0.06
    side = {"left": -1.0, "right": 1.0}[task.relation]
    return np.array([a.position[0], a.position[1] + side * r])


def run_task(scene: Scene, task: Task, progress=lambda s: None, policy=None, spatial_frame: str = "camera",
             on_episode=None) -> dict:
    """Run one task in a fresh embedded session and judge it (the offline policy unless ``policy``;
    side words in ``spatial_frame`` for the agent and the judge alike). ``on_episode(outcome, episode,
    success)`` sees the episode (its images still open) with the world's verdict."""
    from ..backends.policy.scripted import ScriptedPolicy
    from ..compose.session import EmbeddedSession
    from .faults import FaultInjector
    from ..compose.episode import run_command

    session = EmbeddedSession.create(scene)
    blocker = None
    if task.fault:
        spot = None
        if task.fault == "block":
            blocker = next(o.name for o in scene.objects if o.name not in (task.pick, task.anchor))
            spot = fault_spot(scene, task)
        session.arm.perturbations.append(FaultInjector(task.fault, task.pick, blocker, spot))
    t0 = time.perf_counter()
    before = session.sim.object_poses()
    outcome, episode = run_command(session, task.command, policy or ScriptedPolicy(), progress=progress,
                                   spatial_frame=spatial_frame)
    session.arm.wait(JUDGE_SETTLE_S)  # what slipped out last may still be falling: judge where it lands
    poses = session.sim.object_poses()
    held = session.manipulator.holding is not None
    ok, why = judge(scene, task, poses, held, spatial_frame)
    knocked = [n for n in collateral(scene, task, before, poses) if n != blocker]  # the fault moved that one
    fired = all(p.fired for p in session.arm.perturbations)
    if on_episode is not None:
        on_episode(outcome, episode, ok)
    episode.close()
    session.close()
    return {"seed": task.seed, "kind": task.kind, "fault": task.fault, "command": task.command, "success": ok,
            "agent_success": outcome.success, "verified": outcome.verified, "agrees": outcome.success == ok,
            "collateral": knocked, "why": why or outcome.reason, "attempts": outcome.attempts,
            "tool_calls": len(outcome.tool_calls), "first_move_s": outcome.time_to_first_move_s,
            "total_s": time.perf_counter() - t0, "fault_fired": fired, "timings": outcome.timings,
            "answer": outcome.answer,
            "pick_moved_m": float(np.linalg.norm(np.asarray(poses[task.pick][0])[:2] - np.asarray(before[task.pick][0])[:2]))}


def suite_tasks(n: int = 40, n_faults: int = 15, base_seed: int = 2000) -> list[tuple[Scene, Task]]:
    """The default suite: n tasks over the kinds, then n_faults fault-injected ones."""
    tasks = [make_task(base_seed + i, KINDS[i % len(KINDS)]) for i in range(n)]
    faults = ("nudge", "slip", "block")
    for i in range(n_faults):
        f = faults[i % 3]
        kind = "relational" if f == "block" else KINDS[i % 3]
        tasks.append(make_task(base_seed + 500 + i, kind, fault=f))
    return tasks
