"""The agent on a ROS 2 install, acting on a robot through its topics.

    ros2 launch spacetools_ros spacetools_agent.launch.py                     # + the embedded sim node as the robot
    ros2 launch spacetools_ros spacetools_agent.launch.py sim:=false motion:=moveit cell:=/path/cell.yaml
    ros2 launch spacetools_ros spacetools_agent.launch.py tools:=ros   # tools on a toolshed replica
    ros2 launch spacetools_ros spacetools_agent.launch.py namespace:=robot1 use_sim_time:=true
    ros2 launch spacetools_ros spacetools_agent.launch.py rviz:=true     # + RViz: camera, cloud, the agent's markers

Needs (besides this package and spacetools_interfaces): robot_state_publisher with sim:=true and
rsp:=true (the defaults: the simulated arm's frames on /tf; a real robot's bringup runs its own), and
rviz2 for rviz:=true.

With sim:=false the robot's own drivers must provide joint_states, the RGB-D camera topics, a
joint_trajectory_controller on arm_controller/joint_trajectory and a gripper controller on
gripper_controller/commands, in the launch's namespace (other names: the agent's and the replica's
*_topic parameters in config/agent.yaml and config/tool_server.yaml, or remap them here). Commands
go to the spacetools/execute action or spacetools/command (std_msgs/String); the agent draws what
it found and did on spacetools/markers (visualization_msgs/MarkerArray). Every node runs in
``namespace`` (default: none), so all of these move together; /clock, /tf, /tf_static and
/diagnostics stay global, and
``use_sim_time`` is passed to every node. The nodes keep DDS discovery on this host unless
ROS_AUTOMATIC_DISCOVERY_RANGE is set (a robot driven from another machine needs SUBNET).

With tools:=ros the replica started here drives the robot (robot_tools true) and serves robot
tools only to requests signed with the agent's session key: the agent and that replica get
SPACETOOLS_SESSION_KEY through their environment (the launching shell's value, else a fresh random
key); other replicas that should serve this agent's robot calls need the same value.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition, LaunchConfigurationEquals
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from spacetools_ros.core.description import without_links
from spacetools_ros.core.tools.auth import KEY_ENV, new_key
from spacetools_ros.ros import topics
from spacetools_ros.ros.bringup import node_parameters


def _both(a, b):
    """A condition expression: launch arguments ``a`` and ``b`` are both true."""
    return PythonExpression(["'", a, "'.lower() in ('true', '1') and '", b, "'.lower() in ('true', '1')"])


def generate_launch_description():
    share = get_package_share_directory("spacetools_ros")
    cell = LaunchConfiguration("cell")
    namespace = LaunchConfiguration("namespace")
    sim_time = {"use_sim_time": ParameterValue(LaunchConfiguration("use_sim_time"), value_type=bool)}
    session = {KEY_ENV: os.environ.get(KEY_ENV, "").strip() or new_key()}  # environment only, never a parameter
    # a parameter file's sections are keyed by node name, which a namespace would no longer match:
    # their values are passed on as parameters instead
    config = os.path.join(share, "config")
    tool_params = node_parameters(os.path.join(config, "tool_server.yaml"), "spacetools_tool_server")
    sim_params = node_parameters(os.path.join(config, "sim_node.yaml"), "spacetools_sim")
    agent_params = node_parameters(os.path.join(config, "agent.yaml"), "spacetools_agent")
    with open(os.path.join(share, "urdf", "spacetools_cell.urdf")) as f:
        # the sim node publishes the camera's optical frame (publish_tf): one parent per frame
        robot_description = without_links(f.read(), [topics.optical_frame("scene")])
    return LaunchDescription([
        DeclareLaunchArgument("sim", default_value="true", description="start spacetools_sim as the robot"),
        DeclareLaunchArgument("cell", default_value=os.path.join(share, "config", "scenes", "box_in_bowl.yaml"),
                              description="cell file: camera pose in the base frame (and the sim's scene)"),
        DeclareLaunchArgument("motion", default_value="embedded", description="embedded | moveit"),
        DeclareLaunchArgument("policy", default_value="scripted", description="scripted | openai | local"),
        DeclareLaunchArgument("policy_url", default_value=""),
        DeclareLaunchArgument("model", default_value=""),
        DeclareLaunchArgument("spatial_frame", default_value="camera",
                              description="left/right/in front of/behind: camera (its view) | robot (the base's sides)"),
        DeclareLaunchArgument("tools", default_value="local",
                              description="local (in the agent) | ros (a toolshed replica drives the robot)"),
        DeclareLaunchArgument("namespace", default_value="",
                              description="namespace of every node (e.g. robot1): topics, services and the "
                                          "spacetools/execute action move under it; empty = none"),
        DeclareLaunchArgument("use_sim_time", default_value="false",
                              description="every node takes its time from /clock (the sim node publishes it)"),
        DeclareLaunchArgument("rsp", default_value="true",
                              description="with sim:=true, start robot_state_publisher (the arm's frames on /tf)"),
        DeclareLaunchArgument("rviz", default_value="false", description="start rviz2 (with config/spacetools.rviz)"),
        DeclareLaunchArgument("camera_pose_source", default_value="cell",
                              description="the camera pose: cell (the cell file) | tf (looked up on TF)"),
        Node(package="spacetools_ros", executable="spacetools_tool_server", name="spacetools_tool_server",
             output="screen", namespace=namespace, condition=LaunchConfigurationEquals("tools", "ros"),
             parameters=[tool_params,
                         {"world": "ros", "scene": cell, "motion": LaunchConfiguration("motion"),
                          "replica_id": "robot0", "robot_tools": True,
                          "spatial_frame": LaunchConfiguration("spatial_frame"),
                          "camera_pose_source": LaunchConfiguration("camera_pose_source")}, sim_time],
             additional_env=session),
        Node(package="spacetools_ros", executable="spacetools_sim", name="spacetools_sim", output="screen",
             namespace=namespace, condition=IfCondition(LaunchConfiguration("sim")),
             parameters=[sim_params, {"scene": cell}, sim_time]),
        Node(package="robot_state_publisher", executable="robot_state_publisher", output="screen",
             namespace=namespace, parameters=[{"robot_description": robot_description}, sim_time],
             condition=IfCondition(_both(LaunchConfiguration("sim"), LaunchConfiguration("rsp")))),
        Node(package="rviz2", executable="rviz2", name="rviz2", output="screen", namespace=namespace,
             arguments=["-d", os.path.join(share, "config", "spacetools.rviz")], parameters=[sim_time],
             condition=IfCondition(LaunchConfiguration("rviz"))),
        Node(package="spacetools_ros", executable="spacetools_agent", name="spacetools_agent", output="screen",
             namespace=namespace,
             parameters=[agent_params,
                         {"world": "ros", "scene": cell, "motion": LaunchConfiguration("motion"),
                          "tools": LaunchConfiguration("tools"), "policy": LaunchConfiguration("policy"),
                          "policy_url": LaunchConfiguration("policy_url"), "model": LaunchConfiguration("model"),
                          "spatial_frame": LaunchConfiguration("spatial_frame"),
                          "camera_pose_source": LaunchConfiguration("camera_pose_source")}, sim_time],
             additional_env=session),
    ])
