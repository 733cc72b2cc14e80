"""Default topic, service and frame names (remappable through parameters).

Names are relative: a node resolves them in its namespace, so without one they are /camera/...,
/joint_states, /spacetools/..., and under ``__ns:=/robot1`` they all move to /robot1/... together.
/clock, /tf, /tf_static and /diagnostics stay absolute, as ROS conventions require.
"""

from __future__ import annotations

import re

COLOR_IMAGE = "camera/color/image_raw"
COLOR_INFO = "camera/color/camera_info"
DEPTH_IMAGE = "camera/depth/image_raw"
DEPTH_INFO = "camera/depth/camera_info"
POINTS = "camera/depth/points"
JOINT_STATES = "joint_states"
ARM_TRAJECTORY = "arm_controller/joint_trajectory"
GRIPPER_COMMAND = "gripper_controller/commands"
ARM_ACTION = "arm_controller/follow_joint_trajectory"  # joint_trajectory_controller's action
GRIPPER_ACTION = "gripper_controller/gripper_cmd"  # a gripper action controller's action
COMMAND = "spacetools/command"
STATUS = "spacetools/status"
TRANSCRIPT = "spacetools/transcript"
ACTION_RESULT = "spacetools/action_result"
EPISODE_RESULT = "spacetools/episode_result"
SIM_STATUS = "spacetools/sim_status"
MARKERS = "spacetools/markers"  # visualization_msgs/MarkerArray of what the agent found and did
EXECUTE_ACTION = "spacetools/execute"
# the toolshed: each replica's services under toolshed/<replica>/ (relative, so that a namespace
# holds its own toolshed); replica_services() makes the ROS name of a replica id
TOOLSHED = "toolshed"
CALL_TOOL = "call_tool"
LIST_TOOLS = "list_tools"
END_EPISODE = "end_episode"
TOOLSHED_MASK = "toolshed/mask"
TOOLSHED_DEPTH = "toolshed/depth"
TOOLSHED_POINTS = "toolshed/points"
TOOLSHED_DEBUG_IMAGE = "toolshed/debug_image"

# global by convention: one clock, one transform tree and one diagnostics stream per ROS graph
CLOCK = "/clock"
TF = "/tf"
TF_STATIC = "/tf_static"
DIAGNOSTICS = "/diagnostics"

BASE_FRAME = "panda_link0"

MAX_NAME_CHARS = 255
_NAME = re.compile(r"~?/?[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*|~")
_NAMESPACE = re.compile(r"/?([A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*)?/?")


def optical_frame(camera: str) -> str:
    """Optical frame id of a named camera."""
    return f"{camera}_camera_optical_frame"


def check_name(name: str, what: str = "topic") -> str:
    """``name`` when it is a valid ROS 2 topic or service name (relative, absolute or ``~/``-private).

    Raises:
        ValueError: anything else (empty, too long, bad characters, ``//``, a trailing slash).
    """
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_CHARS or not _NAME.fullmatch(name):
        shown = name[:60] if isinstance(name, str) else type(name).__name__
        raise ValueError(f"{what} name {shown!r} is not a valid ROS 2 name (letters, digits, '_' and '/'; "
                         f"at most {MAX_NAME_CHARS} characters)")
    return name


def normalize_namespace(namespace: str) -> str:
    """A namespace as ``/a/b`` ('' for none); accepts ``a/b``, ``/a/b/``.

    Raises:
        ValueError: a namespace with invalid characters or too long.
    """
    if not isinstance(namespace, str) or len(namespace) > MAX_NAME_CHARS or not _NAMESPACE.fullmatch(namespace) \
            or "//" in namespace:
        shown = namespace[:60] if isinstance(namespace, str) else type(namespace).__name__
        raise ValueError(f"namespace {shown!r} is not a valid ROS 2 namespace (letters, digits, '_' and '/')")
    ns = namespace.strip("/")
    return f"/{ns}" if ns else ""


def qualify(name: str, namespace: str = "") -> str:
    """The fully qualified name of a relative ``name`` in ``namespace`` (an absolute one is kept)
    — what a node in that namespace subscribes to, and what a bag records."""
    if name.startswith("/"):
        return name
    return f"{normalize_namespace(namespace)}/{name}"


def replica_services(replica: str) -> str:
    """The relative name under which replica ``replica`` offers its services: ``toolshed/<name>``,
    the id with every character a ROS name cannot hold made '_' (runs of '_' folded, 'r' before a
    leading digit)."""
    token = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", replica)).strip("_") or "replica"
    if token[0].isdigit():
        token = "r" + token
    return f"{TOOLSHED}/{token}"
