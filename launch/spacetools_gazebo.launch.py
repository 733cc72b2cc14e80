"""The agent acting on a Panda simulated in Gazebo Sim (gz-sim), through the same topics as a real cell.

    ros2 launch spacetools_ros spacetools_gazebo.launch.py description:=/path/panda_cell.urdf.xacro \\
        cell:=/path/cell.yaml
    ros2 launch spacetools_ros spacetools_gazebo.launch.py description:=... world:=/path/table.sdf rviz:=true
    ros2 launch spacetools_ros spacetools_gazebo.launch.py description:=... namespace:=robot1

Needs a ROS 2 install with ros_gz_sim, ros_gz_bridge, gz_ros2_control, controller_manager,
joint_state_broadcaster, joint_trajectory_controller, forward_command_controller,
robot_state_publisher, xacro (and rviz2 for rviz:=true), plus this package and spacetools_interfaces.

What it starts: Gazebo Sim with ``world``; robot_state_publisher with ``description`` (a URDF or
xacro file, run through xacro); the robot spawned from robot_description; a ros_gz_bridge for
/clock and the RGB-D camera (gz topics ``<gz_camera>/image``, ``<gz_camera>/depth_image``,
``<gz_camera>/camera_info``, ``<gz_camera>/points`` onto camera/color/image_raw,
camera/depth/image_raw, camera/color/camera_info, camera/depth/points); the controllers
joint_state_broadcaster, arm_controller and gripper_controller; then spacetools_agent with
world:=ros, serving the spacetools/execute action and drawing on spacetools/markers.

The description must therefore provide: the Panda's links and joints (panda_link0 ... panda_joint7,
panda_finger_joint1/2, as urdf/spacetools_cell.urdf names them), a ``<ros2_control>`` block with the
gz_ros2_control/GazeboSimSystem hardware and the gz_ros2_control plugin whose controller
parameters define ``arm_controller`` (joint_trajectory_controller/JointTrajectoryController on
panda_joint1..7, position command interface) and ``gripper_controller`` (a
forward_command_controller/ForwardCommandController taking the finger opening, one value in metres:
the agent sends the opening width on gripper_controller/commands), with the plugin's ``<ros>``
namespace equal to ``namespace``; and an ``rgbd_camera`` sensor publishing on ``gz_camera`` whose pose
is the camera of the cell file (``cell``): the agent takes the camera pose from there (or from TF
with camera_pose_source:=tf, if the description's camera frame is named in the images' frame_id).
Every node runs in ``namespace``; /clock, /tf, /tf_static and /diagnostics stay global;
``use_sim_time`` (default true: Gazebo's clock) is passed to every node. DDS discovery stays on
this host unless ROS_AUTOMATIC_DISCOVERY_RANGE is set.
"""

import os

ARM_CONTROLLER = "arm_controller"          # its command topic: arm_controller/joint_trajectory
GRIPPER_CONTROLLER = "gripper_controller"  # its command topic: gripper_controller/commands


def _bridge_arguments(gz_camera: str):
    """ros_gz_bridge parameter_bridge arguments and remappings: /clock and the RGB-D camera onto the
    agent's camera topics (relative: they resolve in the bridge's namespace)."""
    from spacetools_ros.ros import topics

    args = [f"{topics.CLOCK}@rosgraph_msgs/msg/Clock[gz.msgs.Clock"]
    remaps = []
    for gz_name, ros_type, gz_type, ros_name in (
            ("image", "sensor_msgs/msg/Image", "gz.msgs.Image", topics.COLOR_IMAGE),
            ("depth_image", "sensor_msgs/msg/Image", "gz.msgs.Image", topics.DEPTH_IMAGE),
            ("camera_info", "sensor_msgs/msg/CameraInfo", "gz.msgs.CameraInfo", topics.COLOR_INFO),
            ("points", "sensor_msgs/msg/PointCloud2", "gz.msgs.PointCloudPacked", topics.POINTS)):
        args.append(f"{gz_camera}/{gz_name}@{ros_type}[{gz_type}")
        remaps.append((f"{gz_camera}/{gz_name}", ros_name))
    return args, remaps


def _nodes(context):
    from ament_index_python.packages import get_package_share_directory
    from launch.actions import IncludeLaunchDescription
    from launch.launch_description_sources import PythonLaunchDescriptionSource
    from launch.substitutions import Command, LaunchConfiguration
    from launch_ros.actions import Node
    from launch_ros.parameter_descriptions import ParameterValue

    from spacetools_ros.ros.bringup import node_parameters

    description = LaunchConfiguration("description").perform(context)
    if not description:
        raise RuntimeError("description:=<URDF or xacro of the Panda cell with ros2_control, the gz_ros2_control "
                           "plugin and an rgbd_camera sensor> is required (see this launch file's docstring)")
    share = get_package_share_directory("spacetools_ros")
    namespace = LaunchConfiguration("namespace")
    sim_time = {"use_sim_time": ParameterValue(LaunchConfiguration("use_sim_time"), value_type=bool)}
    agent_params = node_parameters(os.path.join(share, "config", "agent.yaml"), "spacetools_agent")
    bridge_args, bridge_remaps = _bridge_arguments(LaunchConfiguration("gz_camera").perform(context))
    gz_sim = os.path.join(get_package_share_directory("ros_gz_sim"), "launch", "gz_sim.launch.py")
    robot_description = ParameterValue(Command(["xacro ", description]), value_type=str)
    rviz = LaunchConfiguration("rviz").perform(context).lower() in ("true", "1")
    nodes = [
        IncludeLaunchDescription(PythonLaunchDescriptionSource(gz_sim),
                                 launch_arguments={"gz_args": ["-r ", LaunchConfiguration("world")]}.items()),
        Node(package="robot_state_publisher", executable="robot_state_publisher", output="screen",
             namespace=namespace, parameters=[{"robot_description": robot_description}, sim_time]),
        Node(package="ros_gz_sim", executable="create", output="screen", namespace=namespace,
             arguments=["-topic", "robot_description", "-name", LaunchConfiguration("entity")], parameters=[sim_time]),
        Node(package="ros_gz_bridge", executable="parameter_bridge", name="spacetools_gz_bridge", output="screen",
             namespace=namespace, arguments=bridge_args, remappings=bridge_remaps, parameters=[sim_time]),
        Node(package="controller_manager", executable="spawner", output="screen", namespace=namespace,
             arguments=["joint_state_broadcaster", ARM_CONTROLLER, GRIPPER_CONTROLLER,
                        "--controller-manager", "controller_manager"], parameters=[sim_time]),
        Node(package="spacetools_ros", executable="spacetools_agent", name="spacetools_agent", output="screen",
             namespace=namespace,
             parameters=[agent_params,
                         {"world": "ros", "scene": LaunchConfiguration("cell"), "motion": LaunchConfiguration("motion"),
                          "policy": LaunchConfiguration("policy"), "policy_url": LaunchConfiguration("policy_url"),
                          "model": LaunchConfiguration("model"),
                          "camera_pose_source": LaunchConfiguration("camera_pose_source"),
                          "ready_timeout_s": 60.0}, sim_time]),
    ]
    if rviz:
        nodes.append(Node(package="rviz2", executable="rviz2", name="rviz2", output="screen", namespace=namespace,
                          arguments=["-d", os.path.join(share, "config", "spacetools.rviz")], parameters=[sim_time]))
    return nodes


def generate_launch_description():
    from ament_index_python.packages import get_package_share_directory
    from launch.actions import DeclareLaunchArgument, OpaqueFunction

    from launch import LaunchDescription

    share = get_package_share_directory("spacetools_ros")
    return LaunchDescription([
        DeclareLaunchArgument("description", default_value="",
                              description="URDF or xacro of the Panda cell for Gazebo (required; see the docstring)"),
        DeclareLaunchArgument("world", default_value="empty.sdf", description="Gazebo world (SDF file or name)"),
        DeclareLaunchArgument("entity", default_value="panda", description="name of the spawned model"),
        DeclareLaunchArgument("gz_camera", default_value="camera",
                              description="the rgbd_camera sensor's gz topic (relative: no leading slash)"),
        DeclareLaunchArgument("cell", default_value=os.path.join(share, "config", "scenes", "box_in_bowl.yaml"),
                              description="cell file: the camera pose in the base frame (objects are perceived)"),
        DeclareLaunchArgument("camera_pose_source", default_value="cell",
                              description="the camera pose: cell (the cell file) | tf (looked up on TF)"),
        DeclareLaunchArgument("motion", default_value="embedded", description="embedded | moveit"),
        DeclareLaunchArgument("policy", default_value="scripted", description="scripted | openai | local"),
        DeclareLaunchArgument("policy_url", default_value=""),
        DeclareLaunchArgument("model", default_value=""),
        DeclareLaunchArgument("rviz", default_value="false", description="start rviz2 (with config/spacetools.rviz)"),
        DeclareLaunchArgument("namespace", default_value="",
                              description="namespace of every node (and of the gz_ros2_control plugin's <ros>)"),
        DeclareLaunchArgument("use_sim_time", default_value="true", description="take time from Gazebo's /clock"),
        OpaqueFunction(function=_nodes),
    ])
