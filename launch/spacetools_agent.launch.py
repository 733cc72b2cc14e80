"""The agent on a ROS 2 install, acting on a robot through its topics.

    ros2 launch spacetools_ros spacetools_agent.launch.py                     # + the embedded sim node as the robot
    ros2 launch spacetools_ros spacetools_agent.launch.py sim:=false motion:=moveit cell:=/path/cell.yaml
    ros2 launch spacetools_ros spacetools_agent.launch.py tools:=ros   # tools on a toolshed replica
    ros2 launch spacetools_ros spacetools_agent.launch.py namespace:=robot1 use_sim_time:=true

With sim:=false the robot's own drivers must provide joint_states, the RGB-D camera topics, a
joint_trajectory_controller on arm_controller/joint_trajectory and a gripper controller on
gripper_controller/commands, in the launch's namespace (other names: the agent's and the replica's
*_topic parameters in config/agent.yaml and config/tool_server.yaml, or remap them here). Commands
go to the spacetools/execute action or spacetools/command (std_msgs/String). Every node runs in
``namespace`` (default: none), so all of these move together; /clock stays global, and
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
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from spacetools_ros.core.tools.auth import KEY_ENV, new_key
from spacetools_ros.ros.bringup import node_parameters


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
        Node(package="spacetools_ros", executable="spacetools_tool_server", name="spacetools_tool_server",
             output="screen", namespace=namespace, condition=LaunchConfigurationEquals("tools", "ros"),
             parameters=[tool_params,
                         {"world": "ros", "scene": cell, "motion": LaunchConfiguration("motion"),
                          "replica_id": "robot0", "robot_tools": True,
                          "spatial_frame": LaunchConfiguration("spatial_frame")}, sim_time],
             additional_env=session),
        Node(package="spacetools_ros", executable="spacetools_sim", name="spacetools_sim", output="screen",
             namespace=namespace, condition=IfCondition(LaunchConfiguration("sim")),
             parameters=[sim_params, {"scene": cell}, sim_time]),
        Node(package="spacetools_ros", executable="spacetools_agent", name="spacetools_agent", output="screen",
             namespace=namespace,
             parameters=[agent_params,
                         {"world": "ros", "scene": cell, "motion": LaunchConfiguration("motion"),
                          "tools": LaunchConfiguration("tools"), "policy": LaunchConfiguration("policy"),
                          "policy_url": LaunchConfiguration("policy_url"), "model": LaunchConfiguration("model"),
                          "spatial_frame": LaunchConfiguration("spatial_frame")}, sim_time],
             additional_env=session),
    ])
