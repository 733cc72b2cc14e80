"""Test-wide settings: headless rendering and DDS discovery restricted to this host."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ["ROS_LOCALHOST_ONLY"] = "1"
os.environ.setdefault("ROS_DOMAIN_ID", str(100 + os.getpid() % 100))

import itertools  # noqa: E402

import pytest  # noqa: E402

_FIRST_DOMAIN = int(os.environ["ROS_DOMAIN_ID"])
_domains = itertools.count()


@pytest.fixture(scope="module", autouse=True)
def private_ros_domain():
    """Each test module talks on a DDS domain of its own (100-199, rotating from the run's first):
    a process one module failed to stop cannot publish into, or subscribe beside, the next one's graph."""
    old = os.environ["ROS_DOMAIN_ID"]
    os.environ["ROS_DOMAIN_ID"] = str(100 + (_FIRST_DOMAIN - 100 + next(_domains)) % 100)
    yield
    os.environ["ROS_DOMAIN_ID"] = old


@pytest.fixture(scope="session")
def task_set(tmp_path_factory):
    """Makes ``spacetools data gen`` task sets: ``task_set(name, n, split="val", seed=0,
    categories=None)`` -> the folder (a new one under the session's temporary folder)."""
    def make(name: str, n: int, split: str = "val", seed: int = 0, categories=None):
        from spacetools_ros.backends.sim.mujoco_sim import ensure_headless_gl
        from spacetools_ros.learning import CATEGORIES
        from spacetools_ros.learning.dataset import generate

        ensure_headless_gl()
        out = tmp_path_factory.mktemp(name) / "tasks"
        generate(n, split, out, seed=seed, categories=tuple(categories or CATEGORIES), progress=lambda line: None)
        return out

    return make
