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
