"""Default topic and frame names (remappable through parameters)."""

COLOR_IMAGE = "/camera/color/image_raw"
COLOR_INFO = "/camera/color/camera_info"
DEPTH_IMAGE = "/camera/depth/image_raw"
DEPTH_INFO = "/camera/depth/camera_info"
POINTS = "/camera/depth/points"
JOINT_STATES = "/joint_states"
CLOCK = "/clock"
ARM_TRAJECTORY = "/arm_controller/joint_trajectory"
GRIPPER_COMMAND = "/gripper_controller/commands"
ACTION_RESULT = "/spacetools/action_result"
EPISODE_RESULT = "/spacetools/episode_result"
SIM_STATUS = "/spacetools/sim_status"

BASE_FRAME = "panda_link0"


def optical_frame(camera: str) -> str:
    """Optical frame id of a named camera."""
    return f"{camera}_camera_optical_frame"
