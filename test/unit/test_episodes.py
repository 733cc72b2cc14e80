"""Motion-level episodes on seeded random scenes: at least 9 of 10 succeed."""

import pytest

from spacetools_ros.cli.pick_place import resolve_targets, run_pick_place
from spacetools_ros.cli.session import EmbeddedSession
from spacetools_ros.core.scene_gen import random_pick_place_scene


@pytest.mark.slow
def test_nine_of_ten_random_scenes_succeed():
    outcomes = []
    for seed in range(100, 110):
        scene, pick, container = random_pick_place_scene(seed)
        session = EmbeddedSession.create(scene)
        try:
            doc = run_pick_place(session, pick, resolve_targets(scene, pick, container, None), progress=lambda m: None)
            outcomes.append((seed, doc["success"], doc["reason"]))
        finally:
            session.close()
    successes = sum(ok for _, ok, _ in outcomes)
    assert successes >= 9, outcomes
